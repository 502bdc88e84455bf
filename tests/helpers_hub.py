"""Small dataset folders for the card and check tests, written without encoding media.

Rows follow the shared schema; ``video``/``audio`` cells hold a few placeholder bytes with
the real naming (``<source>-<id>.mp4`` / ``.flac``), which is all the card and the checks
look at. Shards, reports and the card are written by the project's own writer, report and
card modules, exactly as a build does.
"""

from __future__ import annotations

from pathlib import Path

from dance_aggregate.hub.card import write_card
from dance_aggregate.output.reports import ConfigReport, accounting_from, write_reports
from dance_aggregate.output.shards import write_config
from dance_aggregate.schema import rows_to_table


def fake_rows(source: str, split: str, n: int, label: str = "salsa", start: int = 0) -> list[dict]:
    """``n`` rows of ``source`` in ``split`` (each its own group / YouTube id)."""
    rows = []
    for i in range(start, start + n):
        sid = f"{split}{i:04d}"
        rows.append(
            {
                "id": f"{source}/{sid}",
                "source": source,
                "source_id": sid,
                "youtube_id": None if source == "ucf101" else f"yt{split}{i:05d}",
                "label": label,
                "labels": [label],
                "source_label": label,
                "family": "latin",
                "group": f"{source}-{split}-{i}",
                "video": {"bytes": b"\x00\x00\x00\x18ftypisom" + bytes([i % 256]), "path": f"{source}-{sid}.mp4"},
                "audio": {"bytes": b"fLaC" + bytes([i % 256]), "path": f"{source}-{sid}.flac"},
                "has_audio": True,
                "duration": 2.0,
                "fps": 25.0,
                "width": 64,
                "height": 48,
                "num_frames": 50,
            }
        )
    return rows


def make_folder(folder: Path, configs: dict[str, dict[str, list[dict]]], excluded: int = 0) -> Path:
    """Write ``configs`` (config -> split -> rows) with reports and the card, like a build."""
    for config, splits in configs.items():
        write_config(folder, config, {s: rows_to_table(r) for s, r in splits.items()})
        rows_by_split = {s: len(r) for s, r in splits.items() if r}
        acc = accounting_from(config, sum(rows_by_split.values()) + excluded, rows_by_split, [])
        acc.excluded = {"not a dance class": excluded} if excluded else {}
        write_reports(folder, ConfigReport(config, acc), [])
    write_card(folder)
    return folder
