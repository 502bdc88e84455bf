"""The ``all`` config: every pixel config of the folder, deduplicated, split without leaks.

:func:`build_all` runs at the end of every ``dance-aggregate build`` (from
``build.finalize_folder``), so adding a source to a folder updates ``all``. It reads the
key columns (:data:`~dance_aggregate.dedup.KEY_COLUMNS`, never the media) of every pixel
config present, finds duplicate clusters, keeps the best copy of each with the others' ids
in ``duplicate_ids``, assigns splits by cluster, group and YouTube id, then copies the kept
rows (media bytes as stored: nothing is decoded or re-encoded) into ``data/all/``.

Reports: ``reports/duplicates.csv`` (one line per member of every cluster, the kept copy
and the removed ones, each with its source, label and source label, and whether the
cluster's labels agree), ``reports/all.json`` (the accounting: rows of the pixel configs =
rows of ``all`` + duplicates removed, and the dedup summary with the clusters whose members
disagree on the label) and ``reports/all.excluded.csv`` (each removed copy, its label and the
copy kept). Members disagree when their labels are neither equal nor on one branch of the
label tree (``salsa`` and ``latin_dance`` are ``nested``: an umbrella and a style in it;
``salsa`` and ``tango`` are a ``conflict``).

With ``pretraining_to_train``, rows whose ``pretraining_overlap`` names a set (their YouTube
video is in a model's pretraining data, see :mod:`.pretraining`) go to train with every row
joined to them by the split rule; ``reports/all.json`` counts the rows moved per split.
The leakage check then refuses the folder if a ``group`` or ``youtube_id`` of ``all``
sits in two splits.

Rows are copied shard by shard, so memory stays bounded by a shard whatever the size of
the folder; within ``all`` rows are grouped by source and sorted by id within each.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dance_aggregate import __version__
from dance_aggregate.builders import registry
from dance_aggregate.dedup import KEY_COLUMNS, Analysis, analyse, thresholds
from dance_aggregate.dedup.leakage import check_no_leaks
from dance_aggregate.dedup.resplit import ResplitOptions, resplit_keys
from dance_aggregate.files.atomic import atomic_write_text
from dance_aggregate.files.csvfiles import csv_text
from dance_aggregate.output.assemble import assemble
from dance_aggregate.output.folder import BuiltFolder, Shard
from dance_aggregate.output.layout import duplicates_path
from dance_aggregate.output.reports import REPORT_FORMAT, Accounting, ConfigReport, PretrainingSection
from dance_aggregate.output.shards import MAX_SHARD_BYTES, Decisions, InputFile
from dance_aggregate.records import ALL_CONFIG, Exclusion
from dance_aggregate.schema import arrow_schema, encode_id_list, features, source_names
from dance_aggregate.taxonomy import load_taxonomy

logger = logging.getLogger(__name__)

#: Columns read besides the dedup keys: the evidence kept for each member of a cluster.
EVIDENCE_COLUMNS: tuple[str, ...] = ("label", "source_label", "pretraining_overlap")
#: How the labels of a cluster's members relate (see the module docstring).
SAME, NESTED, CONFLICT = "same", "nested", "conflict"


def pixel_configs(folder: Path | BuiltFolder) -> list[str]:
    """Configs of ``folder`` that go into ``all`` (the source registry says which)."""
    return [name for name in BuiltFolder.of(folder).configs if registry.in_all(name)]


def _read_keys(folder: BuiltFolder, configs: list[str]) -> tuple[pa.Table, list[str], list[Shard]]:
    """Key columns of every shard, each row's split, and the shards in that order."""
    tables, splits, shards = [], [], []
    for config in configs:
        for split, in_split in folder.shards(config).items():
            for shard in in_split:
                t = folder.read_columns(shard, [*KEY_COLUMNS, *EVIDENCE_COLUMNS])
                tables.append(t)
                splits.extend([split] * t.num_rows)
                shards.append(shard)
    if not tables:
        return arrow_schema().empty_table().select([*KEY_COLUMNS, *EVIDENCE_COLUMNS]), [], []
    return pa.concat_tables(tables), splits, shards


def inputs_key(folder: Path | BuiltFolder, configs: list[str], pretraining_to_train: bool = False,
               resplit: ResplitOptions | None = None) -> str:
    """A key of the input shards (names, sizes, modification times), the thresholds, the
    options and the version: when it has not changed, ``all`` need not be rebuilt."""
    built = BuiltFolder.of(folder)
    h = hashlib.sha1()
    h.update(json.dumps([__version__, REPORT_FORMAT, thresholds(), pretraining_to_train,
                         resplit.to_dict() if resplit else None], sort_keys=True).encode())
    for config in configs:
        for shards in built.shards(config).values():
            for s in shards:
                h.update(f"{s.path}\0{s.file_bytes}\0{s.mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def build_all(
    folder: Path | BuiltFolder,
    *,
    progress: bool = False,
    check: bool = True,
    max_shard_bytes: int = MAX_SHARD_BYTES,
    shards: int | None = None,
    pretraining_to_train: bool = False,
    resplit: ResplitOptions | None = None,
) -> Accounting | None:
    """Rebuild ``data/all`` from the pixel configs of ``folder`` and write its reports.

    Given a :class:`BuiltFolder`, it reads the folder through it and, when it rewrites
    ``all``, refreshes it, so the caller's model shows the new ``all`` and its reports
    (only the new shards are read).

    Args:
        folder: The output folder, or its model.
        progress: Show a progress bar while copying rows.
        check: Run the leakage check on the result.
        max_shard_bytes: Largest output shard (Arrow bytes).
        pretraining_to_train: Move rows whose YouTube video is in a pretraining set (their
            ``pretraining_overlap`` is not empty) out of validation and test into train.
        shards: Shards per split (``--shards``; ``None``: sized automatically). ``all`` is
            rebuilt when this differs from the build that wrote it.
        resplit: Re-split ``all`` into a stratified, group-safe, pretraining-clean
            evaluation split (``--resplit VAL,TEST --seed N``, :mod:`.resplit`); each row's
            ``official_split`` keeps its source's split.

    Returns:
        The accounting of ``all``, or ``None`` when the folder has no pixel config.

    Raises:
        OutputError: when the accounting does not add up or ``all`` leaks across splits.
    """
    t0 = time.monotonic()
    built = BuiltFolder.of(folder)
    configs = pixel_configs(built)
    if not configs:
        return None
    key = inputs_key(built, configs, pretraining_to_train, resplit)
    previous = built.report(ALL_CONFIG)
    if (previous is not None and previous.inputs_key == key and previous.shards == shards
            and ALL_CONFIG in built.configs):
        # Nothing changed since the last build: keep `all` as it is (still leak-checked).
        logger.info("all: inputs unchanged since the last build; kept as is")
        if check:
            check_no_leaks(built, ALL_CONFIG)
        return previous.accounting
    keys, splits, inputs_shards = _read_keys(built, configs)
    logger.info("all: deduplicating %d clips of %s", keys.num_rows, ", ".join(configs))
    overlap = keys.column("pretraining_overlap").to_pylist()
    train_only = [bool(v) for v in overlap] if pretraining_to_train else None
    result = analyse(keys, splits, registry.dedup_priority(), train_only)
    ids = result.ids
    clusters = result.cluster_of()
    keep = [k not in clusters or clusters[k].keep == k for k in range(len(ids))]
    dup_ids = [sorted(ids[o] for o in clusters[k].members if o != k) if k in clusters else [] for k in range(len(ids))]
    # Kept rows go to their split under the rule (or the resplit); the other copies of a
    # cluster are dropped.
    final, resplit_report = (resplit_keys(keys, result, keep, resplit) if resplit else (result.new_splits, None))
    decisions = Decisions([s if k else None for s, k in zip(final, keep, strict=True)], ids,
                          {"duplicate_ids": [encode_id_list(d) for d in dup_ids]})
    exclusions = _exclusions(result, keys)
    rows_by_split = decisions.rows_by_split()
    acc = Accounting(
        config=ALL_CONFIG,
        records_read=len(result.ids),
        rows_written=sum(rows_by_split.values()),
        rows_by_split=rows_by_split,
        excluded={"duplicate": len(exclusions)} if exclusions else {},
    )
    acc.check()
    report = ConfigReport(
        config=ALL_CONFIG,
        accounting=acc,
        inputs={c: sum(s.rows for s in inputs_shards if s.config == c) for c in configs},
        inputs_key=key,
        shards=shards,
        dedup={**result.summary(), **agreement_summary(result, keys)},
        thresholds=thresholds(),
        split_moves=[m.to_dict() for m in result.moves],
        pretraining=pretraining_summary(built, configs, result, overlap, keep, pretraining_to_train),
        resplit=resplit_report.to_dict() if resplit_report else None,
        sample=any(r is not None and r.sample for r in (built.report(c) for c in configs)),
        dance_aggregate_version=__version__,
        elapsed_seconds=round(time.monotonic() - t0, 2),
    )
    assemble(
        built.path, report, exclusions,
        [InputFile(str(built.path / s.path), s.rows, s.file_bytes) for s in inputs_shards],
        lambda p: pq.read_table(p, schema=arrow_schema()), decisions,
        extra_files={duplicates_path(built.path): duplicates_csv(result, keys).encode("utf-8")},
        progress=progress, shards=shards, max_shard_bytes=max_shard_bytes,
    )
    built.refresh()  # data/all and its reports were rewritten
    if check:
        check_no_leaks(built, ALL_CONFIG)
    logger.info("%s", acc.summary().splitlines()[0])
    return acc


def pretraining_summary(
    built: BuiltFolder,
    configs: list[str],
    result: Analysis,
    overlap: list[list[str] | None],
    keep: list[bool],
    to_train: bool,
) -> PretrainingSection:
    """The ``pretraining`` section of ``reports/all.json``: the sets the input configs were
    checked against, the kept rows overlapping each (by final split), and, with
    ``to_train``, the kept rows moved from validation and test into train."""
    sets: dict[str, dict[str, Any]] = {}
    for config in configs:
        report = built.report(config)
        for s in report.pretraining.sets if report is not None else []:
            sets.setdefault(s["name"], s)
    rows: dict[str, Counter[str]] = {name: Counter() for name in sets}
    for names, split, kept in zip(overlap, result.new_splits, keep, strict=True):
        for name in (names or []) if kept else []:
            rows.setdefault(name, Counter())[split] += 1
    kept_ids = {i for i, k in zip(result.ids, keep, strict=True) if k}
    moved = Counter(m.old for m in result.moves if m.because.endswith("(pretraining overlap)") and m.id in kept_ids)
    if to_train and not any(v is not None for v in overlap):
        logger.warning(
            "all: --pretraining-to-train asked, but no row of %s was checked against a pretraining set; "
            "build those configs with --pretraining-ids NAME=FILE",
            ", ".join(configs),
        )
    return PretrainingSection(
        sets=list(sets.values()),
        rows_checked=sum(1 for v, k in zip(overlap, keep, strict=True) if k and v is not None),
        rows_overlapping={name: dict(c) for name, c in rows.items()},
        to_train=to_train,
        moved_to_train=dict(moved),
    )


def _label_names(keys: pa.Table) -> list[str | None]:
    names = features()["label"].names
    return [names[v] if isinstance(v, int) else v for v in keys.column("label").to_pylist()]


def label_agreement(labels: list[str | None]) -> str:
    """``same``, ``nested`` (every two labels on one branch of the label tree: an umbrella
    and a style in it) or ``conflict`` for the labels of one cluster's members."""
    distinct = {x for x in labels if x}
    if len(distinct) <= 1:
        return SAME
    tax = load_taxonomy()
    chains = {x: {x, *tax.ancestors(x)} for x in distinct}
    nested = all(a in chains[b] or b in chains[a] for a in distinct for b in distinct)
    return NESTED if nested else CONFLICT


def agreement_summary(result: Analysis, keys: pa.Table) -> dict[str, int]:
    """Clusters whose members' labels are nested or in conflict (for ``reports/all.json``)."""
    labels = _label_names(keys)
    kinds = Counter(label_agreement([labels[m] for m in c.members]) for c in result.clusters)
    return {"clusters_label_nested": kinds[NESTED], "clusters_label_conflict": kinds[CONFLICT]}


def _exclusions(result: Analysis, keys: pa.Table) -> list[Exclusion]:
    labels = _label_names(keys)
    source_labels = keys.column("source_label").to_pylist()
    out = []
    for c in result.clusters:
        for m in c.members:
            if m != c.keep:
                out.append(
                    Exclusion(
                        result.ids[m],
                        "duplicate",
                        f"duplicate of {result.ids[c.keep]} (tier {c.tier}, score {c.score:.3f}); "
                        f"label {labels[m]}, kept copy's label {labels[c.keep]}",
                        result.splits[m],
                        source_labels[m],
                    )
                )
    return out


def duplicates_csv(result: Analysis, keys: pa.Table) -> str:
    """The text of ``reports/duplicates.csv``: one line per member of every cluster (kept first), with the
    cluster id, whether it is the kept copy, its source, label and source label, the
    cluster's tier, score and split, and whether the members' labels agree (cells escaped
    against spreadsheet formulas: source labels come from other people's files)."""
    rows = []
    src = keys.column("source").to_pylist()
    labels = _label_names(keys)
    source_labels = keys.column("source_label").to_pylist()
    for n, c in enumerate(sorted(result.clusters, key=lambda c: result.ids[c.keep]), start=1):
        agreement = label_agreement([labels[m] for m in c.members])
        for m in sorted(c.members, key=lambda m: (m != c.keep, result.ids[m])):
            rows.append(
                [
                    f"c{n:06d}",
                    result.ids[m],
                    "yes" if m == c.keep else "no",
                    source_names()[src[m]] if isinstance(src[m], int) else str(src[m]),
                    labels[m] or "",
                    source_labels[m] or "",
                    result.splits[m],
                    c.tier,
                    f"{c.score:.4f}",
                    result.new_splits[c.keep],
                    agreement,
                ]
            )
    header = ["cluster", "id", "kept", "source", "label", "source_label", "split_before", "tier", "score", "split", "labels"]
    return csv_text(header, rows)


def write_duplicates_csv(folder: Path, result: Analysis, keys: pa.Table) -> Path:
    """Write ``reports/duplicates.csv`` (:func:`duplicates_csv`) atomically."""
    path = duplicates_path(folder)
    atomic_write_text(path, duplicates_csv(result, keys), "report")
    return path
