"""Counts of a built folder: per config, split and label, plus each config's accounting."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from dance_aggregate.errors import OutputError
from dance_aggregate.output.reports import read_report
from dance_aggregate.output.shards import configs_in, shard_files
from dance_aggregate.schema import features


def folder_stats(folder: Path) -> dict[str, Any]:
    """Counts of every config in ``folder``.

    Raises:
        OutputError: when ``folder`` holds no dance_aggregate build.
    """
    configs = configs_in(folder)
    if not configs:
        raise OutputError(
            f"{folder}: no dataset here (expected {folder}/data/<config>/<split>-*.parquet). "
            f"Build one with: dance-aggregate build --sample --output {folder}"
        )
    names = features()["label"].names
    out: dict[str, Any] = {"folder": str(folder), "configs": {}}
    for config in configs:
        splits: dict[str, Any] = {}
        for split, paths in shard_files(folder, config).items():
            labels: Counter[str] = Counter()
            rows = 0
            for p in paths:
                col = pq.read_table(folder / p, columns=["label"]).column("label").to_pylist()
                rows += len(col)
                labels.update(names[i] for i in col if i is not None)
            splits[split] = {"rows": rows, "shards": len(paths), "labels": dict(sorted(labels.items()))}
        report = read_report(folder, config) or {}
        out["configs"][config] = {"splits": splits, "accounting": report.get("accounting")}
        if report.get("dedup"):
            out["configs"][config]["dedup"] = report["dedup"]
    return out


def format_stats(data: dict[str, Any]) -> str:
    """Human-readable form of :func:`folder_stats`."""
    lines = [f"{data['folder']}"]
    for config, c in data["configs"].items():
        total = sum(s["rows"] for s in c["splits"].values())
        lines.append(f"\n{config}: {total} rows")
        for split, s in c["splits"].items():
            lines.append(f"  {split:<11} {s['rows']:>7} rows in {s['shards']} shard(s)")
            for label, n in sorted(s["labels"].items(), key=lambda kv: (-kv[1], kv[0])):
                lines.append(f"      {n:>7}  {label}")
        acc = c.get("accounting")
        if acc:
            excl = sum(acc["excluded"].values())
            lines.append(f"  accounting: {acc['records_read']} read = {acc['rows_written']} written + {excl} excluded")
            for reason, n in sorted(acc["excluded"].items(), key=lambda kv: (-kv[1], kv[0])):
                lines.append(f"      {n:>7}  {reason}")
        dd = c.get("dedup")
        if dd and (dd.get("clusters") or config == "all"):
            tiers = ", ".join(f"tier {t}: {n}" for t, n in dd["clusters_by_tier"].items()) or "none"
            lines.append(
                f"  dedup: {dd['clusters']} duplicate cluster(s) ({tiers}) over {dd['clips']} clips; "
                f"{dd['duplicates_removed'] if config == 'all' else 0} copies removed; {dd['split_moves']} split move(s)"
            )
    return "\n".join(lines)
