"""The shared label schema against the real label files of every source."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

import dance_aggregate.taxonomy as tax_module
from dance_aggregate.builders import registry
from dance_aggregate.errors import TaxonomyError
from dance_aggregate.schema import features
from dance_aggregate.taxonomy import MOTION_FAMILY, Taxonomy, load_taxonomy

LABELS = Path(__file__).parent / "data" / "labels"
UCF = Path(__file__).parent / "data" / "ucf101"
AIST = Path(__file__).parent / "data" / "aist"

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
    # schema_version 2: YouTube-8M dance entities that had no label
    "caporales", "marinera", "pizzica", "para_para",
    # schema_version 3: the AIST Dance DB genres that had no label
    "popping", "locking", "waacking", "middle_hip_hop", "la_style_hip_hop", "house_dance", "street_jazz", "ballet_jazz",
    # schema_version 4: the Kinetics-700 dance classes that had no label
    "shoot_dance", "silent_disco",
]


@pytest.fixture(scope="module")
def tax() -> Taxonomy:
    return registry.taxonomy()


def test_classlabel_order_is_the_published_contract(tax):
    assert tax.names == GOLDEN
    assert features()["label"].names == GOLDEN
    assert features()["labels"].feature.names == GOLDEN
    assert features()["source"].names == ["ucf101", "activitynet", "kinetics600", "letsdance", "youtube8m", "aist",
                                           "kinetics700"]


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


def test_every_label_names_its_parent_and_the_labels_form_a_tree(tax):
    raw = yaml.safe_load((Path(tax_module.__file__).parent / "taxonomy.yaml").read_text(encoding="utf-8"))
    assert all("parent" in d for d in raw["labels"]), "every label must name its parent (null for a root)"
    # Internal nodes are exactly the umbrellas, and every dance label hangs under `dance`.
    assert {label.id for label in tax.labels if tax.children(label.id)} == {label.id for label in tax.labels if label.umbrella}
    assert tax.children("ballroom_dance") == ["tango", "waltz", "foxtrot", "quickstep"]
    assert set(tax.children("latin_dance")) == {"cumbia", "salsa", "samba", "rumba", "cha_cha", "jive", "paso_doble", "caporales", "marinera"}
    for label in tax.labels:
        chain = tax.ancestors(label.id)
        assert len(chain) == len(set(chain)) and label.id not in chain
        # dance <=> under the `dance` root <=> not the motion family
        assert tax.is_dance(label.id) == (tax.root(label.id) == "dance") == (label.family != MOTION_FAMILY), label.id
        if "ballroom_dance" in chain:
            assert label.family == "ballroom", label.id
        if "latin_dance" in chain:
            assert label.family == "latin", label.id
    assert tax.with_ancestors(["cha_cha"]) == ["cha_cha", "latin_dance", "dance"]
    assert tax.with_ancestors(["latin_dance"]) == ["latin_dance", "dance"]
    assert tax.with_ancestors(["swing_dance", "latin_dance"]) == ["swing_dance", "dance", "latin_dance"]
    assert tax.with_ancestors(["backflip"]) == ["backflip"]


def test_a_broken_tree_is_refused(tmp_path):
    head = "families: [{id: a, name: A}]\ncrosswalk: {}\nlabels:\n"
    for labels, match in [
        ("  - {id: x, name: X, family: a}\n", "parent"),
        ("  - {id: x, name: X, family: a, parent: nope}\n", "unknown parent"),
        ("  - {id: x, name: X, family: a, parent: y}\n  - {id: y, name: Y, family: a, parent: x}\n", "cycle"),
    ]:
        bad = tmp_path / "t.yaml"
        bad.write_text(head + labels)
        with pytest.raises(TaxonomyError, match=match):
            load_taxonomy(bad)


def test_lookups_ignore_case_and_spacing(tax):
    for source, text, label in [
        ("kinetics600", "Salsa Dancing", "salsa"),
        ("activitynet", "Tango ", "tango"),
        ("activitynet", " belly   DANCE", "belly_dance"),
        ("ucf101", "salsaspin", "salsa"),
        ("letsdance", "Latin", "latin_dance"),
        ("youtube8m", "square DANCE", "square_dance"),
    ]:
        m = tax.map(source, text)
        assert m is not None and m.label == label, (source, text)
    assert tax.map("kinetics600", "salsa  dancing x") is None
    assert tax.crosswalk("youtube8m").exclusion(" mambo (MUSIC)")


def test_umbrella_labels_are_never_narrowed(tax):
    assert tax.map("letsdance", "latin").label == "latin_dance"
    assert tax.map("youtube8m", "Dance").label == "dance"
    assert tax.map("youtube8m", "Ballroom dance").label == "ballroom_dance"
    assert not any(m.match == "narrower" for cw in tax.crosswalks.values() for m in cw.labels.values())


def test_ucf101_classind(tax):
    classes = [line.split()[1] for line in (UCF / "classInd.txt").read_text().splitlines() if line.strip()]
    assert len(classes) == 101
    dance = [c for c in classes if tax.map("ucf101", c)]
    assert dance == ["IceDancing", "SalsaSpin"]
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
        if cls == "marching":  # not dance by the schema's rule (see WHAT COUNTS AS DANCE)
            assert m is None and tax.map("kinetics600", cls, include_motion=True).family == MOTION_FAMILY
            continue
        assert m and m.family != MOTION_FAMILY, cls
    dance = sorted(c for c in k600 if tax.map("kinetics600", c))
    assert len(dance) == 20
    assert set(dance) - set(dancing) == {"cumbia", "moon walking", "mosh pit dancing", "square dancing"}
    # "swinging legs" is a Kinetics-400 class that Kinetics-600 dropped; the rest are K600 names.
    assert set(tax.crosswalk("kinetics600").labels) - set(k600) == {"swinging legs"}
    assert "swinging legs" in k400


def test_kinetics700_dance_classes(tax):
    """Kinetics-700 (real label_map_k700.txt): Kinetics-600's 20 dance classes under the same
    names and labels, plus shoot dance and silent disco; ski ballet is excluded with its reason."""
    k700 = [x.strip() for x in (LABELS / "label_map_k700.txt").read_text().splitlines() if x.strip()]
    k600 = [x.strip() for x in (LABELS / "label_map_600.txt").read_text().splitlines() if x.strip()]
    assert len(k700) == len(set(k700)) == 700
    dance600 = {c for c in k600 if tax.map("kinetics600", c)}
    dance700 = {c for c in k700 if tax.map("kinetics700", c)}
    assert dance600 <= set(k700) and dance700 - dance600 == {"shoot dance", "silent disco"}
    for cls in dance600:
        assert tax.map("kinetics700", cls).label == tax.map("kinetics600", cls).label, cls
    assert tax.map("kinetics700", "shoot dance").label == "shoot_dance" and tax.map("kinetics700", "silent disco").label == "silent_disco"
    assert all(tax.is_dance(tax.map("kinetics700", c).label) for c in dance700)
    cw = tax.crosswalk("kinetics700")
    assert set(cw.labels) <= set(k700) and set(cw.exclude) <= set(k700)
    assert tax.map("kinetics700", "ski ballet") is None and "skiing" in cw.exclusion("ski ballet")
    # No motion config: the body-motion classes are plain non-dance classes here.
    assert all(tax.map("kinetics700", c, include_motion=True) is None for c in ("marching", "cartwheeling"))


def test_kinetics_motion_family_is_off_by_default(tax):
    for cls in ["backflip (human)", "cartwheeling", "contorting", "swinging legs", "marching"]:
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


def test_youtube8m_entities_defined_as_dance_are_decided(tax):
    """An entity whose definition (the first sentence of its description) mentions dance is
    mapped or deliberately excluded with a reason: the names alone miss Moshing, Caporales,
    Marinera, Pizzica, Para Para."""
    rows = list(csv.DictReader((LABELS / "yt8m_vocabulary_dance_described.csv").open(encoding="utf-8")))
    assert len(rows) == 79 and {"Vertical1", "Vertical2", "Vertical3", "WikiDescription"} <= set(rows[0])
    cw = tax.crosswalk("youtube8m")
    defined = [r for r in rows if re.search(r"danc|choreograph", r["WikiDescription"].split(". ")[0], re.I)]
    assert len(defined) >= 25
    for r in defined:
        assert cw.find(r["Name"]) or cw.exclusion(r["Name"]), f"undecided dance entity: {r['Index']} {r['Name']}"
    for name, label in [("Moshing", "mosh_pit_dance"), ("Caporales", "caporales"), ("Marinera", "marinera"),
                        ("Pizzica", "pizzica"), ("Para Para", "para_para")]:
        assert tax.map("youtube8m", name).label == label
    assert tax.map("youtube8m", "Mambo (music)") is None and "music" in cw.exclusion("Mambo (music)")
    # Every crosswalk index matches this excerpt where the entity is in it.
    for r in rows:
        m = cw.find(r["Name"])
        if m is not None:
            assert m.index == int(r["Index"]), r["Name"]


def test_youtube8m_entities_that_mention_dance_are_decided(tax):
    """An entity whose description mentions dancing or choreography in any sentence (not only
    the first: that missed the rhythm games Pump It Up and StepMania, whose first sentences say
    "music video game" and "rhythm video game") is mapped or excluded with a reason. The
    excerpt holds every vocabulary row whose description contains "danc" or "choreograph"."""
    rows = list(csv.DictReader((LABELS / "yt8m_vocabulary_dance_described.csv").open(encoding="utf-8")))
    cw = tax.crosswalk("youtube8m")
    mentions = [r for r in rows if re.search(r"\bdanc|choreograph", r["WikiDescription"], re.I)]
    assert len(mentions) >= 50
    undecided = [f"{r['Index']} {r['Name']}" for r in mentions if not (cw.find(r["Name"]) or cw.exclusion(r["Name"]))]
    assert not undecided, f"entities whose description mentions dance, neither mapped nor excluded: {undecided}"
    by_name = {r["Name"]: r for r in mentions}
    for game in ("Pump It Up (video game series)", "StepMania", "Dance Dance Revolution"):
        assert by_name[game]["Vertical1"] == "Games"
        assert tax.map("youtube8m", game) is None and cw.exclusion(game).startswith("video game"), game
    # "Contortion" is body motion like Kinetics' `contorting`: never a youtube8m row.
    assert tax.map("youtube8m", "Contortion") is None and "contorting" in cw.exclusion("Contortion")


def test_youtube8m_bollywood_is_decided(tax):
    """Bollywood (6,912 training videos) is the Hindi film industry: its description never
    mentions dance, so only this explicit decision keeps it from going unnoticed."""
    rows = {r["Name"]: r for r in csv.DictReader((LABELS / "yt8m_vocabulary_names.csv").open(encoding="utf-8"))}
    assert (rows["Bollywood"]["Index"], rows["Bollywood"]["TrainVideoCount"]) == ("225", "6912")
    described = {r["Name"] for r in csv.DictReader((LABELS / "yt8m_vocabulary_dance_described.csv").open(encoding="utf-8"))}
    assert "Bollywood" not in described
    assert tax.map("youtube8m", "Bollywood") is None and "film" in tax.crosswalk("youtube8m").exclusion("Bollywood")


def test_youtube8m_decisions_name_real_entities(tax):
    """Every entity the crosswalk maps or excludes is spelled as in the real vocabulary (a
    misspelt key would decide nothing)."""
    names = {r["Name"] for r in csv.DictReader((LABELS / "yt8m_vocabulary_names.csv").open(encoding="utf-8"))}
    cw = tax.crosswalk("youtube8m")
    assert not sorted(set(cw.labels) - names) and not sorted(set(cw.exclude) - names)


# -- one rule for every source -----------------------------------------------------------


def _stem(token: str) -> str:
    for suffix in ("ing", "ers", "er", "es", "s", "e"):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            return token[: -len(suffix)]
    return token


def _tokens(text: str) -> frozenset[str]:
    """Word stems of a label string, CamelCase split: `IceDancing` and `Ice dancing` agree."""
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
    return frozenset(_stem(t) for t in re.findall(r"[^\W_]+", text.casefold()))


def _vocabularies() -> dict[str, list[str]]:
    """Every label string of every source, from the real label files."""
    k_files = ("label_map_600.txt", "label_map.txt")
    return {
        "ucf101": [line.split()[1] for line in (UCF / "classInd.txt").read_text().splitlines() if line.strip()],
        "activitynet": [r["action"] for r in csv.DictReader((LABELS / "action_name.csv").open())],
        "kinetics600": sorted({x.strip() for f in k_files for x in (LABELS / f).read_text().splitlines() if x.strip()}),
        "kinetics700": [x.strip() for x in (LABELS / "label_map_k700.txt").read_text().splitlines() if x.strip()],
        "letsdance": sorted({line.split("\t")[0] for line in (LABELS / "letsdance_all_videos_complete.csv").read_text().splitlines() if line.strip()}),
        "youtube8m": [r["Name"] for r in csv.DictReader((LABELS / "yt8m_vocabulary_names.csv").open(encoding="utf-8"))],
        "aist": sorted(json.loads((AIST / "categ2name.json").read_text(encoding="utf-8")).values()),
    }


def test_aist_genres(tax):
    """The ten AIST genres (real categ2name.json): each its own style label, `source_label` the
    genre's name; break and krump are the labels Kinetics and ActivityNet already use."""
    genres = json.loads((AIST / "categ2name.json").read_text(encoding="utf-8"))
    mapped = {name: tax.map("aist", name) for name in genres.values()}
    assert all(m is not None for m in mapped.values()), mapped
    assert len({m.label for m in mapped.values()}) == len(genres) == 10
    assert mapped["Break"].label == tax.map("kinetics600", "breakdancing").label == "breakdance"
    assert mapped["Krump"].label == tax.map("kinetics600", "krumping").label == "krumping"
    for m in mapped.values():
        assert tax.with_ancestors([m.label]) == [m.label, "dance"] and not tax.label(m.label).umbrella
        assert m.match in ("exact", "alias")
    assert {m.family for m in mapped.values()} == {"street", "theatrical"}
    # The genre-less showcase, cypher and battle videos are dance in general, never narrowed.
    for situation in ("Showcase", "Cypher", "Battle"):
        assert tax.map("aist", situation).label == "dance" and tax.map("aist", situation).match == "broader"
    # The labels of schema_version 2 keep their parents: new labels were appended only.
    assert tax.label("breakdance").parent == tax.label("krumping").parent == "dance"


def test_a_canonical_label_is_dance_in_every_source_or_in_none(tax):
    for source, cw in tax.crosswalks.items():
        for text, m in cw.labels.items():
            assert (tax.map(source, text) is not None) == tax.is_dance(m.label), (source, text, m.label)
            assert tax.map(source, text, include_motion=True).label == m.label
    # The marching of every source is the same non-dance label.
    for source, text in [("kinetics600", "marching"), ("ucf101", "BandMarching"), ("ucf101", "MilitaryParade"),
                         ("youtube8m", "Marching band"), ("youtube8m", "Military parade")]:
        assert tax.map(source, text) is None and tax.map(source, text, include_motion=True).label == "marching"
    assert tax.map("ucf101", "IceDancing").label == tax.map("youtube8m", "Ice dancing").label == "ice_dance"


def test_source_labels_naming_the_same_thing_agree_across_sources(tax):
    """Two sources' labels with the same words (IceDancing / Ice dancing, BandMarching /
    Marching band) get the same dance status, and the same label when dance, unless the
    crosswalk excludes one with a reason."""
    by_words: dict[frozenset[str], list[tuple[str, str]]] = {}
    for source, names in _vocabularies().items():
        for text in names:
            by_words.setdefault(_tokens(text), []).append((source, text))
    compared = 0
    for words, members in by_words.items():
        kept = [(s, t) for s, t in members if not tax.crosswalk(s).exclusion(t)]
        if len({s for s, _ in kept}) < 2:
            continue
        compared += 1
        outcomes = {(m.label if (m := tax.map(s, t)) else None) for s, t in kept}
        assert len(outcomes) == 1, f"{sorted(words)}: {kept} map to {outcomes}"
    assert compared >= 30


def test_every_source_label_that_names_a_dance_is_mapped_or_excluded(tax):
    """A source label whose words contain a dance label's name (`IceDancing` contains
    `Ice dance`, `Flamenco guitar` contains `Flamenco`) maps into that label's subtree, or
    the crosswalk excludes it with a reason."""
    keys = {label.id: _tokens(label.name) for label in tax.labels if tax.is_dance(label.id)}
    checked = 0
    for source, names in _vocabularies().items():
        cw = tax.crosswalk(source)
        for text in names:
            words = _tokens(text)
            hits = [lid for lid, k in keys.items() if k <= words]
            if not hits:
                continue
            checked += 1
            best = max(len(keys[h]) for h in hits)
            top = {h for h in hits if len(keys[h]) == best}
            m = cw.find(text)
            inside = m is not None and bool(top & {m.label, *tax.ancestors(m.label)})
            assert inside or cw.exclusion(text), f"{source}: {text!r} names {sorted(top)} but is {m.label if m else 'unmapped'}"
    assert checked >= 60


def test_unknown_label_error_is_helpful(tax):
    with pytest.raises(TaxonomyError, match="dance-aggregate taxonomy"):
        tax.label("not_a_label")
    with pytest.raises(TaxonomyError, match="known"):
        tax.map("nosuchsource", "x")


def test_broken_schema_file_is_refused(tmp_path):
    bad = tmp_path / "t.yaml"
    bad.write_text("families: [{id: a, name: A}]\nlabels: [{id: x, name: X, family: b, parent: null}]\ncrosswalk: {}\n")
    with pytest.raises(TaxonomyError, match="unknown family"):
        load_taxonomy(bad)
