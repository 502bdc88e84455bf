"""Counts of a built folder: per config, split and label, rows and distinct videos, plus each
config's accounting.

A video is a ``group`` (the YouTube id; a UCF101 group; a YouTube-8M pseudo id): rows are
not videos where a source cuts one video into several clips (ActivityNet windows), so both
are counted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any

from dance_aggregate.errors import OutputError
from dance_aggregate.output.folder import BuiltFolder
from dance_aggregate.output.reports import PretrainingSection
from dance_aggregate.output.resplit_report import report_from_dict
from dance_aggregate.records import ALL_CONFIG
from dance_aggregate.schema import decode_id_list, features


def folder_stats(folder: Path | BuiltFolder) -> dict[str, Any]:
    """Counts of every config in ``folder`` (a path or its model).

    Raises:
        OutputError: when ``folder`` holds no dance_aggregate build.
    """
    built = BuiltFolder.of(folder)
    configs = built.configs
    if not configs:
        raise OutputError(
            f"{built.path}: no dataset here (expected {built.path}/data/<config>/<split>-*.parquet). "
            f"Build one with: dance-aggregate build --sample --output {built.path}"
        )
    names = features()["label"].names
    out: dict[str, Any] = {"folder": str(built.path), "configs": {}}
    for config in configs:
        splits: dict[str, Any] = {}
        labels_of = built.column(config, "label")
        groups_of = built.column(config, "group")
        for split, shards in built.shards(config).items():
            col = labels_of[split]
            labels = Counter(names[i] for i in col if i is not None)
            videos = label_videos(col, groups_of[split])
            splits[split] = {
                "rows": len(col),
                "videos": len({g for g in groups_of[split] if g}),
                "shards": len(shards),
                "labels": dict(sorted(labels.items())),
                "label_videos": dict(sorted(videos.items())),
            }
        report = built.report(config)
        out["configs"][config] = {"splits": splits, "accounting": asdict(report.accounting) if report else None}
        if report is not None and report.dedup:
            out["configs"][config]["dedup"] = report.dedup
        if report is not None and report.resplit:
            out["configs"][config]["evaluation_split"] = report.resplit
        overlap = pretraining_counts(built, config)
        if overlap:
            out["configs"][config]["pretraining"] = overlap
    return out


def pretraining_counts(folder: Path | BuiltFolder, config: str) -> dict[str, Any] | None:
    """Rows of ``config`` whose YouTube video is in each pretraining set, per split.

    Returns:
        ``{"sets": [names], "splits": {split: {"rows", "checked", "any", "overlap": {name: n}}},
        "moved_to_train": {split: n}}`` (``moved_to_train`` for ``all`` built with
        ``--pretraining-to-train``), or ``None`` when no row of ``config`` was checked.
    """
    built = BuiltFolder.of(folder)
    shards = [s for in_split in built.shards(config).values() for s in in_split]
    if not shards or any("pretraining_overlap" not in s.require_footer().schema.names for s in shards):
        return None  # a folder written before the column existed
    report = built.report(config)
    section = report.pretraining if report is not None else PretrainingSection()
    names = [s["name"] for s in section.sets if "name" in s]
    splits: dict[str, Any] = {}
    for split, values in built.column(config, "pretraining_overlap").items():
        counts: Counter[str] = Counter(n for v in values if v for n in decode_id_list(v) or [])
        names += [n for n in sorted(counts) if n not in names]
        splits[split] = {
            "rows": len(values),
            "checked": sum(1 for v in values if v is not None),
            "any": sum(1 for v in values if v),
            "overlap": dict(counts),
        }
    if not names and not any(s["checked"] for s in splits.values()):
        return None
    out: dict[str, Any] = {"sets": names, "splits": splits}
    if section.to_train:
        out["moved_to_train"] = section.moved_to_train
    return out


def label_videos(labels: list[int | None], groups: list[str | None]) -> dict[str, int]:
    """Label name -> distinct videos (``group`` values) among rows with that label."""
    names = features()["label"].names
    seen: dict[str, set[str]] = {}
    for label, group in zip(labels, groups, strict=True):
        if label is not None and group:
            seen.setdefault(names[label], set()).add(group)
    return {label: len(g) for label, g in seen.items()}


def format_stats(data: dict[str, Any]) -> str:
    """Human-readable form of :func:`folder_stats`."""
    lines = [f"{data['folder']}"]
    for config, c in data["configs"].items():
        total = sum(s["rows"] for s in c["splits"].values())
        lines.append(f"\n{config}: {total} rows")
        for split, s in c["splits"].items():
            lines.append(f"  {split:<11} {s['rows']:>7} rows {s.get('videos', 0):>7} videos in {s['shards']} shard(s)")
            per_video = s.get("label_videos", {})
            for label, n in sorted(s["labels"].items(), key=lambda kv: (-kv[1], kv[0])):
                lines.append(f"      {n:>7} rows {per_video.get(label, 0):>7} videos  {label}")
        acc = c.get("accounting")
        if acc:
            excl = sum(acc["excluded"].values())
            lines.append(f"  accounting: {acc['records_read']} read = {acc['rows_written']} written + {excl} excluded")
            for reason, n in sorted(acc["excluded"].items(), key=lambda kv: (-kv[1], kv[0])):
                lines.append(f"      {n:>7}  {reason}")
        pre = c.get("pretraining")
        if pre:
            for split, p in pre["splits"].items():
                sets = ", ".join(f"{name} {p['overlap'].get(name, 0)}" for name in pre["sets"])
                lines.append(
                    f"  pretraining overlap, {split}: {p['any']} of {p['checked']} checked rows in a set ({sets})"
                )
            if "moved_to_train" in pre:
                moved = ", ".join(f"{k} {v}" for k, v in sorted(pre["moved_to_train"].items())) or "none"
                lines.append(f"  moved to train for pretraining overlap: {moved}")
        ev = c.get("evaluation_split")
        if ev:
            opts = ev.get("options", {})
            kept = ev.get("kept_in_train", {})
            per_split = ", ".join(f"{s} {ev['groups'].get(s, 0)} groups ({ev['rows'].get(s, 0)} rows)" for s in ev.get("groups", {}))
            lines.append(f"  evaluation split (--resplit {opts.get('validation')},{opts.get('test')} --seed {opts.get('seed')}): "
                         f"{per_split}; kept in train for pretraining overlap: {kept.get('groups', 0)} groups "
                         f"({kept.get('rows', 0)} rows)")
            lines += ["    " + line for line in report_from_dict(ev).markdown().splitlines()]
        dd = c.get("dedup")
        if dd and (dd.get("clusters") or config == ALL_CONFIG):
            tiers = ", ".join(f"tier {t}: {n}" for t, n in dd["clusters_by_tier"].items()) or "none"
            lines.append(
                f"  dedup: {dd['clusters']} duplicate cluster(s) ({tiers}) over {dd['clips']} clips; "
                f"{dd['duplicates_removed'] if config == ALL_CONFIG else 0} copies removed; {dd['split_moves']} split move(s)"
            )
    return "\n".join(lines)
