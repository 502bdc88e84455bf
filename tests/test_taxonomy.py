"""The shared label schema against the real label files of every source."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from dance_aggregate.errors import TaxonomyError
from dance_aggregate.schema import features
from dance_aggregate.taxonomy import MOTION_FAMILY, Taxonomy, load_taxonomy

LABELS = Path(__file__).parent / "data" / "labels"
UCF = Path(__file__).parent / "data" / "ucf101"

# The published ClassLabel order. Changing it breaks every model trained on the dataset:
# new labels are appended, nothing is reordered or renamed.
GOLDEN = [
    "dance", "ballroom_dance", "latin_dance", "ballet", "tap_dance", "irish_dance", "flamenco",
    "belly_dance", "square_dance", "country_line_dance", "cumbia", "salsa", "samba", "rumba",
    "cha_cha", "jive", "paso_doble", "tango", "waltz", "foxtrot", "quickstep", "swing_dance",
    "charleston", "macarena", "gangnam_style", "mosh_pit_dance", "breakdance", "krumping",
    "robot_dance", "jumpstyle", "moonwalk", "zumba", "cheerleading", "ice_dance", "marching",
    "backflip", "cartwheel", "somersault", "gymnastics_tumbling", "contorting", "bending_back",
    "swinging_legs", "capoeira", "jumping_jacks", "hula_hooping",
]


@pytest.fixture(scope="module")
def tax() -> Taxonomy:
    return load_taxonomy()


def test_classlabel_order_is_the_published_contract(tax):
    assert tax.names == GOLDEN
    assert features()["label"].names == GOLDEN
    assert features()["labels"].feature.names == GOLDEN
    assert features()["source"].names == ["ucf101", "activitynet", "kinetics600", "letsdance", "youtube8m"]


def test_ids_are_snake_case_and_families_known(tax):
    for label in tax.labels:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", label.id), label.id
        assert label.family in tax.families
    umbrellas = {label.id for label in tax.labels if label.umbrella}
    assert umbrellas == {"dance", "ballroom_dance", "latin_dance"}


def test_no_two_source_labels_collide_by_accident(tax):
    """Per source, a canonical label gets at most one exact/alias mapping; others are 'broader'."""
    for source, cw in tax.crosswalks.items():
        primary = Counter(m.label for m in cw.labels.values() if m.match in ("exact", "alias"))
        dupes = {k: v for k, v in primary.items() if v > 1}
        assert not dupes, f"{source}: several exact/alias source labels land on {dupes}"
        keys = Counter(k.casefold().strip() for k in cw.labels)
        assert all(v == 1 for v in keys.values()), f"{source}: labels differ only by case: {keys}"
        assert not set(cw.labels) & set(cw.exclude), f"{source}: a label is both mapped and excluded"


def test_umbrella_labels_are_never_narrowed(tax):
    assert tax.map("letsdance", "latin").label == "latin_dance"
    assert tax.map("youtube8m", "Dance").label == "dance"
    assert tax.map("youtube8m", "Ballroom dance").label == "ballroom_dance"
    assert not any(m.match == "narrower" for cw in tax.crosswalks.values() for m in cw.labels.values())


def test_ucf101_classind(tax):
    classes = [line.split()[1] for line in (UCF / "classInd.txt").read_text().splitlines() if line.strip()]
    assert len(classes) == 101
    dance = [c for c in classes if tax.map("ucf101", c)]
    assert dance == ["SalsaSpin"]
    assert set(tax.crosswalk("ucf101").labels) <= set(classes)


def _anet_dance_leaves(nodes: list[dict]) -> set[str]:
    children: dict[int, list[dict]] = {}
    for n in nodes:
        children.setdefault(n["parentId"], []).append(n)
    roots = [n for n in nodes if n["nodeName"] == "Dancing"]
    assert roots, "no 'Dancing' node"
    out, stack = set(), list(roots)
    while stack:
        n = stack.pop()
        kids = children.get(n["nodeId"], [])
        if not kids:
            out.add(n["nodeName"])
        stack.extend(kids)
    return out


@pytest.mark.parametrize("name", ["simple_activitynet_hierarchy.json", "activity_net_taxonomy.json"])
def test_activitynet_taxonomy_tree(tax, name):
    raw = json.loads((LABELS / name).read_text())
    tree = raw["taxonomy"] if "taxonomy" in raw else raw
    nodes = list(tree.values()) if isinstance(tree, dict) else tree
    leaves = _anet_dance_leaves(nodes)
    assert {"Tango", "Cheerleading", "Breakdancing", "Belly dance"} <= leaves
    cw = tax.crosswalk("activitynet")
    assert cw.taxonomy_roots == ("Dancing",)
    for leaf in leaves:
        assert tax.map("activitynet", leaf), f"ActivityNet leaf under Dancing not mapped: {leaf}"


def test_activitynet_classes(tax):
    names = [r["action"] for r in csv.DictReader((LABELS / "action_name.csv").open())]
    assert len(names) == 200
    mapped = {n for n in names if tax.map("activitynet", n)}
    assert mapped == {"Ballet", "Belly dance", "Breakdancing", "Cheerleading", "Cumbia", "Tango", "Zumba"}
    assert set(tax.crosswalk("activitynet").labels) <= set(names)
    assert set(tax.crosswalk("activitynet").exclude) <= set(names)


def test_kinetics_dance_classes(tax):
    k600 = [x.strip() for x in (LABELS / "label_map_600.txt").read_text().splitlines() if x.strip()]
    k400 = [x.strip() for x in (LABELS / "label_map.txt").read_text().splitlines() if x.strip()]
    assert len(k600) == 600 and len(k400) == 400
    dancing = json.loads((LABELS / "categories.json").read_text())["dancing"]
    assert len(dancing) == 17
    for cls in dancing:
        assert cls in k400 and cls in k600
        m = tax.map("kinetics600", cls)
        assert m and m.family != MOTION_FAMILY, cls
    dance = sorted(c for c in k600 if tax.map("kinetics600", c))
    assert len(dance) == 21
    assert set(dance) - set(dancing) == {"cumbia", "moon walking", "mosh pit dancing", "square dancing"}
    # "swinging legs" is a Kinetics-400 class that Kinetics-600 dropped; the rest are K600 names.
    assert set(tax.crosswalk("kinetics600").labels) - set(k600) == {"swinging legs"}
    assert "swinging legs" in k400


def test_kinetics_motion_family_is_off_by_default(tax):
    for cls in ["backflip (human)", "cartwheeling", "contorting", "swinging legs"]:
        assert tax.map("kinetics600", cls) is None
        m = tax.map("kinetics600", cls, include_motion=True)
        assert m is not None and m.family == MOTION_FAMILY
    assert tax.map("kinetics600", "abseiling", include_motion=True) is None


def test_letsdance_classes(tax):
    classes = {line.split("\t")[0] for line in (LABELS / "letsdance_all_videos_complete.csv").read_text().splitlines() if line.strip()}
    assert len(classes) == 16
    for cls in classes:
        assert tax.map("letsdance", cls), cls
    assert set(tax.crosswalk("letsdance").labels) == classes


def test_youtube8m_vocabulary(tax):
    rows = list(csv.DictReader((LABELS / "yt8m_vocabulary_names.csv").open(encoding="utf-8")))
    assert len(rows) == 3862
    by_name = {r["Name"]: int(r["Index"]) for r in rows}
    cw = tax.crosswalk("youtube8m")
    for name, m in cw.labels.items():
        assert by_name.get(name) == m.index, f"{name}: index {m.index} but vocabulary says {by_name.get(name)}"
    # Nothing that looks like dance is silently dropped: each is mapped or explicitly excluded.
    looks = re.compile(r"danc|ballet|ballroom|flamenco|tango|salsa|samba|waltz|zumba|cheerlead|swing|square|paso", re.I)
    for r in rows:
        if looks.search(r["Name"]):
            assert r["Name"] in cw.labels or r["Name"] in cw.exclude, f"unclassified entity: {r['Name']}"


def test_unknown_label_error_is_helpful(tax):
    with pytest.raises(TaxonomyError, match="dance-aggregate taxonomy"):
        tax.label("not_a_label")
    with pytest.raises(TaxonomyError, match="known"):
        tax.map("nosuchsource", "x")


def test_broken_schema_file_is_refused(tmp_path):
    bad = tmp_path / "t.yaml"
    bad.write_text("families: [{id: a, name: A}]\nlabels: [{id: x, name: X, family: b}]\ncrosswalk: {}\n")
    with pytest.raises(TaxonomyError, match="unknown family"):
        load_taxonomy(bad)
