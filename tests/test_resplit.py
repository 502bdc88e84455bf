"""``--resplit`` (:mod:`dance_aggregate.dedup.resplit`): property tests over random structures of
labels, groups, YouTube ids, dedup clusters, pretraining flags and removed copies, the
stability of the assignment when a source is added, and a run on the sample build's ``all``.

The checks recompute what they need (the joined groups, each group's label) on their own,
not through the module's helpers. Examples are derandomized and bounded, so the file is
deterministic and takes a few seconds.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dance_aggregate.dedup import KEY_COLUMNS, analyse
from dance_aggregate.dedup.combine import pixel_configs
from dance_aggregate.dedup.pretraining import PretrainingSet, overlap_column
from dance_aggregate.dedup.resplit import MIN_GROUPS, ResplitOptions, resplit, resplit_keys
from dance_aggregate.errors import ConfigError
from dance_aggregate.output.folder import BuiltFolder

PROPERTY = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

# -- strategies ---------------------------------------------------------------------------------
#: A row: (label, group, youtube_id, cluster, pretraining, kept). Small pools, so rows join often
#: and labels mix inside groups; labels skewed so some are rare.
row = st.tuples(
    st.sampled_from("aaaabbbccdef"),
    st.integers(0, 25).map(lambda g: f"g{g}"),
    st.one_of(st.none(), st.integers(0, 30).map(lambda y: f"y{y:010d}")),
    st.one_of(st.none(), st.none(), st.integers(0, 6)),
    st.sampled_from([False] * 8 + [True]),
    st.sampled_from([True] * 7 + [False]),
)
fractions = st.tuples(st.integers(0, 9), st.integers(0, 9)).map(lambda p: (p[0] / 20, p[1] / 20))
options = st.builds(lambda f, seed: ResplitOptions(f[0], f[1], seed), fractions, st.integers(0, 3))


def run(rows: list[tuple], opts: ResplitOptions) -> tuple[list[str], Any]:
    ids = [f"src/{k}" for k in range(len(rows))]
    return resplit(
        ids,
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        opts,
        clusters=[r[3] for r in rows],
        pretraining=[r[4] for r in rows],
        kept=[r[5] for r in rows],
    )


# -- an independent model of the rule -----------------------------------------------------------
def components(rows: list[tuple]) -> list[list[int]]:
    """Rows joined through any shared group, YouTube id or cluster (breadth-first search)."""
    by_value: dict[tuple[int, Any], list[int]] = defaultdict(list)
    for k, r in enumerate(rows):
        for col in (1, 2, 3):
            if r[col] is not None:
                by_value[(col, r[col])].append(k)
    seen: set[int] = set()
    out = []
    for start in range(len(rows)):
        if start in seen:
            continue
        todo, comp = [start], []
        seen.add(start)
        while todo:
            k = todo.pop()
            comp.append(k)
            for col in (1, 2, 3):
                if rows[k][col] is not None:
                    for o in by_value[(col, rows[k][col])]:
                        if o not in seen:
                            seen.add(o)
                            todo.append(o)
        out.append(sorted(comp))
    return out


def group_labels(rows: list[tuple], comps: list[list[int]]) -> list[str | None]:
    """Majority label of the kept rows, ties to the label in the fewest groups, then by name."""
    counts = [Counter(rows[k][0] for k in c if rows[k][5]) for c in comps]
    spread = Counter(x for c in counts for x in c)
    return [sorted(c, key=lambda x: (-c[x], spread[x], x))[0] if c else None for c in counts]


def half_up(x: float) -> int:
    return math.floor(x + 0.5)


# -- properties ---------------------------------------------------------------------------------
@PROPERTY
@given(st.lists(row, max_size=70), options)
def test_no_group_youtube_id_or_cluster_in_two_splits(rows: list[tuple], opts: ResplitOptions) -> None:
    splits, _ = run(rows, opts)
    assert set(splits) <= {"train", "validation", "test"}
    for col in (1, 2, 3):
        seen: dict[Any, set[str]] = defaultdict(set)
        for r, s in zip(rows, splits, strict=True):
            if r[col] is not None:
                seen[r[col]].add(s)
        assert all(len(v) == 1 for v in seen.values()), (col, {k: v for k, v in seen.items() if len(v) > 1})


@PROPERTY
@given(st.lists(row, max_size=70), options)
def test_pretraining_groups_stay_in_train(rows: list[tuple], opts: ResplitOptions) -> None:
    splits, report = run(rows, opts)
    for comp in components(rows):
        if any(rows[k][4] for k in comp):  # removed copies pull too, like the split rule
            assert {splits[k] for k in comp} == {"train"}
    pinned_rows = sum(1 for c in components(rows) if any(rows[k][4] for k in c) for k in c if rows[k][5])
    assert report.to_dict()["kept_in_train"]["rows"] == pinned_rows


@PROPERTY
@given(st.lists(row, max_size=70), options)
def test_quotas_per_label(rows: list[tuple], opts: ResplitOptions) -> None:
    """Stated tolerance: when a label's eligible groups allow the asked counts, its group
    fraction in validation and in test is within 1/(2n) of the asked one (rounding), or within
    1/n where a label of at least 3 groups gets one group its share would round to 0. When
    they do not allow it, every eligible group goes to evaluation except the one train keeps
    (when no pretraining group stays there), never more than asked."""
    splits, report = run(rows, opts)
    comps = components(rows)
    labels = group_labels(rows, comps)
    per: dict[str, list[tuple[str, bool]]] = defaultdict(list)
    for comp, label in zip(comps, labels, strict=True):
        if label is not None:
            per[label].append((splits[comp[0]], any(rows[k][4] for k in comp)))
    entries = {e.label: e for e in report.labels}
    for label, groups in per.items():
        n = len(groups)
        pinned = sum(p for _, p in groups)
        got = Counter(s for s, _ in groups)
        assert entries[label].groups == {s: got[s] for s in ("train", "validation", "test")}
        assert got["train"] >= 1, f"{label}: no group left in train"
        room = n - pinned if pinned else max(n - pinned - 1, 0)
        asked = {}
        for split, f in (("validation", opts.validation), ("test", opts.test)):
            asked[split] = max(half_up(f * n), 1 if n >= MIN_GROUPS and f > 0 else 0)
        if asked["validation"] + asked["test"] <= room:
            for split, f in (("validation", opts.validation), ("test", opts.test)):
                tolerance = 1 / (2 * n) if f * n >= 0.5 or f == 0 else 1 / n
                assert abs(got[split] / n - f) <= tolerance + 1e-12, (label, split, got, n, f)
        else:
            assert got["validation"] + got["test"] == room
            assert got["validation"] <= asked["validation"] and got["test"] <= asked["test"]
            assert entries[label].note, f"{label}: fewer groups than asked, but no note says why"
        if n >= MIN_GROUPS and room >= 2 and opts.validation > 0 and opts.test > 0:
            assert got["validation"] >= 1 and got["test"] >= 1, (label, n, room, got)


@PROPERTY
@given(st.lists(row, max_size=70), options)
def test_report_adds_up(rows: list[tuple], opts: ResplitOptions) -> None:
    splits, report = run(rows, opts)
    rows_by: Counter[tuple[str, str]] = Counter((r[0], s) for r, s in zip(rows, splits, strict=True) if r[5])
    for e in report.labels:
        assert e.rows == {s: rows_by[(e.label, s)] for s in ("train", "validation", "test")}
    comps = components(rows)
    assert sum(report.groups().values()) == sum(1 for c in comps if any(rows[k][5] for k in c))
    assert report.unkept_groups == sum(1 for c in comps if not any(rows[k][5] for k in c))
    json.dumps(report.to_dict())  # JSON-able
    assert report.markdown().count("\n") == len(report.labels) + 2


@PROPERTY
@given(st.lists(row, max_size=70), options, st.randoms(use_true_random=False))
def test_deterministic_and_independent_of_row_order(rows: list[tuple], opts: ResplitOptions, rnd: random.Random) -> None:
    splits, report = run(rows, opts)
    again, report_again = run(rows, opts)
    assert again == splits and report_again.to_dict() == report.to_dict()
    order = list(range(len(rows)))
    rnd.shuffle(order)
    ids = [f"src/{k}" for k in order]
    shuffled, report_shuffled = resplit(
        ids,
        [rows[k][0] for k in order],
        [rows[k][1] for k in order],
        [rows[k][2] for k in order],
        opts,
        clusters=[rows[k][3] for k in order],
        pretraining=[rows[k][4] for k in order],
        kept=[rows[k][5] for k in order],
    )
    assert dict(zip(ids, shuffled, strict=True)) == {f"src/{k}": s for k, s in enumerate(splits)}
    assert report_shuffled.to_dict() == report.to_dict()


# -- stability ----------------------------------------------------------------------------------
def flat(groups: list[tuple[str, str, int, bool]]) -> tuple[list[str], ...]:
    """Rows of single-label groups: (group, label, rows, pretraining) -> resplit columns."""
    ids, labels, gs, pts = [], [], [], []
    for g, label, n, pt in groups:
        for w in range(n):
            ids.append(f"{g}/{w}")
            labels.append(label)
            gs.append(g)
            pts.append(pt)
    return ids, labels, gs, pts


def split_of_groups(groups: list[tuple[str, str, int, bool]], opts: ResplitOptions) -> dict[str, str]:
    ids, labels, gs, pts = flat(groups)
    splits, _ = resplit(ids, labels, gs, gs, opts, pretraining=pts)
    return dict(zip(gs, splits, strict=True))


single_label_group = st.tuples(st.sampled_from("aaabbc"), st.integers(1, 4), st.sampled_from([False] * 5 + [True]))


@PROPERTY
@given(st.lists(single_label_group, max_size=60), single_label_group, options)
def test_one_added_group_moves_at_most_two_others(
    old: list[tuple[str, int, bool]], new: tuple[str, int, bool], opts: ResplitOptions
) -> None:
    """A new video of a label shifts each of the label's two boundaries by at most one group."""
    groups = [(f"g{k}", *g) for k, g in enumerate(old)]
    before = split_of_groups(groups, opts)
    after = split_of_groups([*groups, ("new", *new)], opts)
    moved = [g for g in before if before[g] != after[g]]
    assert len(moved) <= 2, moved
    assert all(groups[int(g[1:])][1] == new[0] for g in moved), "a group of another label moved"


def random_source(rng: random.Random, prefix: str, n_groups: int, labels: list[str], joins: list[tuple[str, str]]) -> list[tuple]:
    """A source's rows as ``(id, label, group, pretraining)``: Zipf-like label sizes, 1 or 3 rows
    a group (Kinetics clips, ActivityNet windows), one group in five in a pretraining set, and
    with ``joins`` a tenth of its groups are new clips of existing videos."""
    weights = [1 / (i + 1) for i in range(len(labels))]
    out = []
    for g in range(n_groups):
        if joins and rng.random() < 0.1:
            group, label = rng.choice(joins)
        else:
            group, label = f"{prefix}{g}", rng.choices(labels, weights)[0]
        pt = rng.random() < 0.2
        out.extend((f"{prefix}{g}/{w}", label, group, pt) for w in range(rng.choice([1, 1, 1, 3])))
    return out


def changed_groups(old: list[tuple], added: list[tuple], opts: ResplitOptions, opts_after: ResplitOptions | None = None) -> float:
    """Share of the groups of ``old`` whose split differs once ``added`` is there."""

    def splits(rows: list[tuple], o: ResplitOptions) -> dict[str, str]:
        ids, labels, groups, pts = (list(c) for c in zip(*rows, strict=True))
        s, _ = resplit(ids, labels, groups, groups, o, pretraining=pts)
        return dict(zip(groups, s, strict=True))

    before = splits(old, opts)
    after = splits(old + added, opts_after or opts)
    return sum(before[g] != after[g] for g in before) / len(before)


def test_adding_a_source_moves_few_groups() -> None:
    """A source a fifth the size of the rest (a tenth of it new clips of videos already there)
    moves at most 3 % of the existing groups (measured: 1.5-2.1 % over six draws, see
    docs/balance.md); a
    draw with another seed would move about a third."""
    opts = ResplitOptions(0.1, 0.1, 0)
    labels = [f"l{i}" for i in range(20)]
    for trial in range(2):
        rng = random.Random(trial)
        old = random_source(rng, "a", 1500, labels, [])
        added = random_source(rng, "b", 300, labels, sorted({(r[2], r[1]) for r in old}))
        assert changed_groups(old, added, opts) <= 0.03
        assert changed_groups(old, added, opts, ResplitOptions(0.1, 0.1, 1)) >= 0.2  # the measure can see moves


def test_a_source_of_new_labels_moves_nothing() -> None:
    rng = random.Random(7)
    old = random_source(rng, "a", 400, ["l1", "l2", "l3"], [])
    added = random_source(rng, "b", 200, ["n1", "n2"], [])
    assert changed_groups(old, added, ResplitOptions(0.15, 0.1, 3)) == 0


def test_validation_fraction_never_changes_test() -> None:
    rng = random.Random(3)
    rows = random_source(rng, "a", 500, [f"l{i}" for i in range(8)], [])
    ids, labels, groups, pts = (list(c) for c in zip(*rows, strict=True))
    a, _ = resplit(ids, labels, groups, groups, ResplitOptions(0.1, 0.1), pretraining=pts)
    b, _ = resplit(ids, labels, groups, groups, ResplitOptions(0.25, 0.1), pretraining=pts)
    assert [s == "test" for s in a] == [s == "test" for s in b]
    assert sum(s == "validation" for s in b) > sum(s == "validation" for s in a)


# -- small cases and input checks ---------------------------------------------------------------
def test_small_labels_and_multi_label_groups() -> None:
    # label "x": 3 groups -> one each; "y": 2 groups -> both train, with a note;
    # group "m" holds 2 rows of z and 1 of x: it is z's, the x row counted under x elsewhere.
    ids = ["x1", "x2", "x3", "y1", "y2", "m1", "m2", "m3"]
    labels = ["x", "x", "x", "y", "y", "z", "z", "x"]
    groups = ["g1", "g2", "g3", "g4", "g5", "m", "m", "m"]
    splits, report = resplit(ids, labels, groups, [None] * 8, ResplitOptions(0.1, 0.1))
    got = {e.label: e for e in report.labels}
    assert Counter(splits[:3]) == {"train": 1, "validation": 1, "test": 1}
    assert splits[3:5] == ["train", "train"] and "fewer than 3" in got["y"].note
    assert got["z"].groups["train"] == 1 and got["z"].mixed_groups == 1
    assert got["x"].rows_in_other_groups == 1 and got["x"].total_rows == 4 and got["x"].total_groups == 3


def test_pretraining_leaves_too_few_groups() -> None:
    ids = [f"r{k}" for k in range(10)]
    pts = [True] * 9 + [False]
    splits, report = resplit(ids, ["a"] * 10, ids, ids, ResplitOptions(0.1, 0.1), pretraining=pts)
    (entry,) = report.labels
    assert entry.asked == {"validation": 1, "test": 1} and entry.groups == {"train": 9, "validation": 0, "test": 1}
    assert splits[9] == "test" and "9 of 10 groups overlap pretraining" in entry.note


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0.1", "two fractions"),
        ("a,b", "two fractions"),
        ("0.5,0.5", "below 1"),
        ("-0.1,0.1", "in [0, 1)"),
        ("nan,0.1", "in [0, 1)"),
    ],
)
def test_options_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        ResplitOptions.parse(text)
    assert "--resplit" in str(info.value)


def test_options_parse() -> None:
    assert ResplitOptions.parse(" 0.1 , 0.2", seed=4) == ResplitOptions(0.1, 0.2, 4)


def test_bad_columns_refused() -> None:
    with pytest.raises(ValueError, match="groups has 1 values for 2 ids"):
        resplit(["a", "b"], ["x", "x"], ["g"], [None, None], ResplitOptions(0.1, 0.1))
    with pytest.raises(ValueError, match="unique"):
        resplit(["a", "a"], ["x", "x"], ["g", "h"], [None, None], ResplitOptions(0.1, 0.1))


# -- end to end on the sample build -------------------------------------------------------------
def test_resplit_of_the_sample_all_config(sample_build: Path) -> None:
    """What ``build_all`` holds for the sample (every pixel config's key columns, removed copies
    included, and the dedup analysis), with the sample's Kinetics videos as a pretraining set:
    every row of ``all`` gets a split, nothing leaks, pretraining rows stay in train."""
    folder = BuiltFolder.of(sample_build)
    tables = [
        folder.read_columns(s, [*KEY_COLUMNS, "label", "duplicate_ids"])
        for config in pixel_configs(folder)
        for shards in folder.shards(config).values()
        for s in shards
    ]
    import pyarrow as pa

    keys = pa.concat_tables(tables)
    kinetics = {
        y
        for y, src in zip(keys.column("youtube_id").to_pylist(), keys.column("id").to_pylist(), strict=True)
        if src.startswith("kinetics600/")
    }
    overlap = overlap_column(
        keys.column("youtube_id").to_pylist(), [PretrainingSet("k_sample", "ids.txt", frozenset(sorted(kinetics)[:1]))]
    )
    keys = keys.append_column("pretraining_overlap", pa.array(overlap, pa.list_(pa.string())))
    analysis = analyse(keys.select(list(KEY_COLUMNS)), ["train"] * keys.num_rows)
    of = analysis.cluster_of()
    keep = [k not in of or of[k].keep == k for k in range(keys.num_rows)]
    splits, report = resplit_keys(keys, analysis, keep, ResplitOptions(0.1, 0.1))

    all_ids = {
        r for s in folder.shards("all").values() for sh in s for r in folder.read_columns(sh, ["id"]).column("id").to_pylist()
    }
    ids = keys.column("id").to_pylist()
    assert {i for i, k in zip(ids, keep, strict=True) if k} == all_ids
    assert sum(report.rows().values()) == len(all_ids)
    for col in ("group", "youtube_id"):
        seen: dict[str, set[str]] = defaultdict(set)
        for v, s in zip(keys.column(col).to_pylist(), splits, strict=True):
            if v:
                seen[v].add(s)
        assert all(len(v) == 1 for v in seen.values()), col
    assert all(s == "train" for s, o in zip(splits, overlap, strict=True) if o)
    assert any(o for o in overlap)
    held_out = Counter(s for s, k in zip(splits, keep, strict=True) if k)
    assert held_out["validation"] >= 1 and held_out["test"] >= 1, held_out
    for e in report.labels:
        room = e.eligible_groups if e.pretraining_groups else e.eligible_groups - 1
        if e.total_groups >= MIN_GROUPS and room >= 2:
            assert e.groups["validation"] >= 1 and e.groups["test"] >= 1, e.to_dict()


@pytest.mark.slow
def test_build_with_resplit_end_to_end(sample_cache: Path, tmp_path: Path) -> None:
    """``dance-aggregate build --sample --resplit VAL,TEST --seed N`` through the CLI: ``all`` is
    re-split by whole groups, a pretraining row stays in train, every row keeps its official
    split, the source configs keep theirs, and the report, ``stats`` and the card show it."""
    import json

    import pyarrow.parquet as pq
    from click.testing import CliRunner

    from dance_aggregate.cli import cli

    ids = tmp_path / "seen.txt"
    ids.write_text("Jf7Gf0x3GmU\n")  # the sample's Kinetics-600 validation video
    out = tmp_path / "dance_aggregate"
    args = ["build", "--sample", "--cache-dir", str(sample_cache), "-O", str(out), "-q", "--resplit", "0.3,0.3",
            "--seed", "3", "--pretraining-ids", f"seen={ids}"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    rows = [r for p in sorted((out / "data" / "all").glob("*.parquet"))
            for r in pq.read_table(p, columns=["id", "group", "official_split", "pretraining_overlap"]).to_pylist()
            for r in [dict(r, split=p.name.split("-")[0])]]
    assert rows and all(r["official_split"] in ("train", "validation", "test") for r in rows)
    assert any(r["split"] != r["official_split"] for r in rows), "the resplit moved nothing"
    by_group: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        by_group[r["group"]].add(r["split"])
    assert all(len(s) == 1 for s in by_group.values())
    seen = [r for r in rows if r["pretraining_overlap"]]
    assert seen and all(r["split"] == "train" for r in seen)
    assert Counter(r["split"] for r in rows)["test"] >= 1
    # The source configs keep their sources' splits.
    for config in ("ucf101", "kinetics600", "aist"):
        for p in (out / "data" / config).glob("*.parquet"):
            got = pq.read_table(p, columns=["official_split"]).column("official_split").to_pylist()
            assert set(got) == {p.name.split("-")[0]}, (config, p.name)
    report = json.loads((out / "reports" / "all.json").read_text())
    assert report["resplit"]["options"] == {"validation": 0.3, "test": 0.3, "seed": 3}
    assert sum(report["resplit"]["rows"].values()) == len(rows)
    stats = CliRunner().invoke(cli, ["stats", str(out)]).output
    assert "evaluation split (--resplit 0.3,0.3 --seed 3)" in stats and "| label | groups |" in stats
    card = (out / "README.md").read_text()
    assert "## Evaluation split" in card and "`--resplit 0.3,0.3 --seed 3`" in card
