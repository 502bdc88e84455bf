"""Reports of a million rows are written chunk by chunk, and the bytes are those of rendering
them whole: ``excluded.csv`` and the download ledger, with more rows than one chunk, cells
that need escaping or quoting, and local paths that must not be published."""

from __future__ import annotations

import io
from pathlib import Path

from dance_aggregate.fetch.ledger import LEDGER_COLUMNS, LedgerEntry, write_ledger_report
from dance_aggregate.files.csvfiles import csv_text, read_rows
from dance_aggregate.files.names import without_local_paths
from dance_aggregate.output.reports import EXCLUDED_COLUMNS, ConfigReport, report_files
from dance_aggregate.output.reports import accounting_from as acc_from
from dance_aggregate.records import Exclusion


def _exclusions(root: Path, n: int) -> list[Exclusion]:
    out = []
    for i in range(n):
        detail = [f"{root}/videos/v{i}.mp4: unreadable", "=cmd|' /C calc'!A0", "a, \"quoted\"\r\nline", ""][i % 4]
        out.append(Exclusion(f"k/{'-' if i % 7 == 0 else 'v'}{i:08d}", ["missing video", "not a dance class"][i % 2],
                             detail, ["train", None][i % 3 == 0], "salsa" if i % 5 else None, 1 + (i % 11 == 0)))
    return out


def test_excluded_csv_streamed_is_the_whole_rendering(tmp_path: Path, monkeypatch) -> None:
    from dance_aggregate.output import reports

    monkeypatch.setattr(reports, "_CHUNK", 1000)  # many sorted runs to merge, many chunks to write
    root = tmp_path / "data" / "k600"
    exclusions = _exclusions(root, 23_456)
    # Ties (same reason and id, e.g. two duplicate rows of one clip) keep their order.
    exclusions += [Exclusion("k/v00000002", "not a dance class", f"tie {i}") for i in range(3)]
    report = ConfigReport(config="k", accounting=acc_from("k", len(exclusions) + 300, {}, exclusions))
    files = report_files(tmp_path / "out", report, exclusions, [root])
    (path, writer), = [(p, c) for p, c in files.items() if p.name.endswith(".csv")]
    buf = io.BytesIO()
    writer(buf)
    ordered = sorted(exclusions, key=lambda e: (e.reason, e.id))
    rows = ([e.id, e.split or "", e.source_label or "", e.reason, e.detail, e.count] for e in ordered)
    whole = without_local_paths(csv_text(EXCLUDED_COLUMNS, rows), [root, tmp_path / "out"]).encode("utf-8")
    assert buf.getvalue() == whole
    assert str(root) not in buf.getvalue().decode() and b"'=cmd" in whole
    empty = io.BytesIO()
    report_files(tmp_path / "out", report, [], [root])[path](empty)
    assert empty.getvalue() == csv_text(EXCLUDED_COLUMNS, []).encode()


def test_ledger_report_streamed_is_the_whole_rendering(tmp_path: Path) -> None:
    root = tmp_path / "work"
    entries = [
        LedgerEntry(f"{'-' if i % 3 == 0 else 'a'}{i:010d}_000001_000011", f"{'-' if i % 3 == 0 else 'a'}{i:010d}",
                    1.0 if i % 2 else None, 11.0 if i % 2 else None, ["ok", "failed", "missing"][i % 3],
                    detail=[f"{root}/x: boom", "=1+1", ""][i % 3], attempts=i % 4)
        for i in range(21_000)
    ]
    out = tmp_path / "ledger.csv"
    counts = write_ledger_report(out, iter(entries), [root])
    rows = ([getattr(e, c) for c in LEDGER_COLUMNS] for e in entries)
    assert out.read_bytes() == without_local_paths(csv_text(LEDGER_COLUMNS, rows), [root]).encode("utf-8")
    assert counts == {"ok": 7000, "failed": 7000, "missing": 7000}
    assert next(read_rows(out))["youtube_id"] == "-0000000000"


def test_the_ledger_requests_come_sorted_and_distinct(monkeypatch) -> None:
    from dance_aggregate.pipeline import execute
    from dance_aggregate.records import ClipRecord, LocalCut, RemoteCut

    monkeypatch.setattr(execute, "SORT_RUN", 7)
    records = []
    for i in range(200):
        vid = f"{'-' if i % 3 else 'Z'}{(i * 7919) % 97:010d}"
        start = float(i % 5) + (0.25 if i % 2 else 0.0)  # 1.0 and 1.25 share a key
        media = LocalCut("/m.mp4") if i % 11 == 0 else RemoteCut(vid, start, start + 10, fetch_start=start, fetch_end=start + 10)
        records.append(ClipRecord(f"s/{i}", "s", str(i), "train", "salsa", "Salsa", "latin", vid, media=media))
    old = {}
    for r in records:  # what the report listed before: the first request of each key, by key
        if isinstance(r.media, RemoteCut):
            req = execute.request_of(r.media)
            old.setdefault(req.key, req)
    assert list(execute.sorted_requests(records)) == [old[k] for k in sorted(old)]
