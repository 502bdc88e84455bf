"""The built-folder model: one listing, each footer parsed once, small columns read once,
shared by the ``all`` step, the leakage check, the card, the checks and ``stats``."""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from dance_aggregate.dedup.combine import inputs_key, pixel_configs
from dance_aggregate.dedup.leakage import find_leaks
from dance_aggregate.hub.card import render_card
from dance_aggregate.hub.checks import check_shards, run_checks
from dance_aggregate.hub.summaries import dedup_summary, ledger_summary
from dance_aggregate.output.folder import BuiltFolder, ShardReadError
from dance_aggregate.output.shards import write_config
from dance_aggregate.output.stats import folder_stats
from dance_aggregate.pipeline.build import finalize_folder
from dance_aggregate.schema import rows_to_table
from tests.helpers_hub import fake_rows, make_folder


@dataclass
class ParquetReads:
    """Reads of Parquet files by path, whatever module makes them.

    ``footers``: parses of a file's footer (``read_metadata``, ``read_schema``, a
    ``ParquetFile`` opened without an already parsed footer, ``read_table`` of some columns).
    ``columns``: reads of some columns (``read_table`` with ``columns``, or a ``ParquetFile``
    opened with its parsed footer handed in). Whole-row reads (copying rows into ``all``)
    are counted apart in ``whole``.
    """

    footers: Counter[str] = field(default_factory=Counter)
    columns: Counter[str] = field(default_factory=Counter)
    whole: Counter[str] = field(default_factory=Counter)


def _key(source: object) -> str | None:
    return str(Path(source).resolve()) if isinstance(source, (str, Path)) else None


@pytest.fixture
def parquet_reads(monkeypatch: pytest.MonkeyPatch) -> ParquetReads:
    reads = ParquetReads()
    read_metadata, read_schema, read_table = pq.read_metadata, pq.read_schema, pq.read_table
    parquet_file_init = pq.ParquetFile.__init__

    def count(counter: Counter[str], source: object) -> None:
        key = _key(source)
        if key is not None:  # read_metadata / read_schema open a file object: counted above
            counter[key] += 1

    def metadata(where, *a, **k):
        count(reads.footers, where)
        return read_metadata(where, *a, **k)

    def schema(where, *a, **k):
        count(reads.footers, where)
        return read_schema(where, *a, **k)

    def table(source, *a, **k):
        if k.get("columns"):
            count(reads.footers, source)
            count(reads.columns, source)
        else:
            count(reads.whole, source)
        return read_table(source, *a, **k)

    def parquet_file(self, source, *a, **k):
        count(reads.footers if k.get("metadata") is None else reads.columns, source)
        return parquet_file_init(self, source, *a, **k)

    monkeypatch.setattr(pq, "read_metadata", metadata)
    monkeypatch.setattr(pq, "read_schema", schema)
    monkeypatch.setattr(pq, "read_table", table)
    monkeypatch.setattr(pq.ParquetFile, "__init__", parquet_file)
    return reads


@pytest.fixture
def folder(built_ucf: Path, tmp_path: Path) -> Path:
    """A copy of the UCF101 sample build (``ucf101`` and ``all``, reports and card)."""
    dst = tmp_path / "dance_aggregate"
    shutil.copytree(built_ucf, dst, ignore=shutil.ignore_patterns(".work"))
    return dst


def _shard_files(folder: Path) -> list[str]:
    return sorted(str(p.resolve()) for p in folder.glob("data/*/*.parquet"))


def test_finishing_a_build_parses_each_footer_once(folder: Path, parquet_reads: ParquetReads) -> None:
    """``finalize_folder`` rebuilds ``all`` (dedup keys, split rule, leakage check) and writes
    the card (rows, bytes, labels, sources, dedup and ledger summaries): every shard's footer
    is parsed once and its small columns are read once, however many steps look at them."""
    (folder / "reports" / "all.json").unlink()  # no inputs key any more: `all` is rebuilt
    finalize_folder(folder)
    shards = _shard_files(folder)
    assert any("/data/all/" in s for s in shards) and any("/data/ucf101/" in s for s in shards)
    assert (folder / "reports" / "all.json").is_file() and (folder / "README.md").is_file()
    assert {s: parquet_reads.footers[s] for s in shards} == {s: 1 for s in shards}
    assert {s: parquet_reads.columns[s] for s in shards} == {s: 1 for s in shards}
    # the rows copied into `all` are read from the ucf101 shards only
    assert set(parquet_reads.whole) <= {s for s in shards if "/data/ucf101/" in s}


def test_every_consumer_shares_one_read_of_the_folder(folder: Path, parquet_reads: ParquetReads) -> None:
    built = BuiltFolder.open(folder)
    shards = list(built.all_shards())

    def consume() -> None:
        render_card(built)
        assert all(r.ok for r in run_checks(built))
        folder_stats(built)
        assert find_leaks(built, "all") == []
        dedup_summary(built)
        ledger_summary(built)
        inputs_key(built, pixel_configs(built))

    consume()
    seen = (built.reads.footers, built.reads.column_reads, dict(parquet_reads.footers), dict(parquet_reads.columns))
    consume()
    consume()
    assert (built.reads.footers, built.reads.column_reads, dict(parquet_reads.footers), dict(parquet_reads.columns)) == seen
    assert built.reads.footers == len(shards) and set(parquet_reads.footers.values()) == {1}
    # the light columns (card, leakage, stats), then the media cell paths (the shards check)
    assert built.reads.column_reads <= 2 * len(shards)
    assert not parquet_reads.whole


def test_configs_shards_and_reports(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path / "d",
        {
            "ucf101": {"train": fake_rows("ucf101", "train", 4), "test": fake_rows("ucf101", "test", 2)},
            "kinetics600": {"validation": fake_rows("kinetics600", "validation", 3, "tango")},
        },
        excluded=1,
    )
    staging = folder / "data" / ".ucf101.abcd1234.staging"
    staging.mkdir()
    shutil.copy(folder / "data/ucf101/train-00000-of-00001.parquet", staging / "train-00000-of-00001.parquet")
    (folder / "data" / "empty").mkdir()
    built = BuiltFolder.open(folder)
    assert built.configs == ["kinetics600", "ucf101"]  # no staging folder, no folder without shards
    assert built.shard_paths("ucf101") == {
        "train": ["data/ucf101/train-00000-of-00001.parquet"],
        "test": ["data/ucf101/test-00000-of-00001.parquet"],
    }
    assert built.reads.footers == 0  # listing reads no footer
    assert built.rows("ucf101") == {"train": 4, "test": 2} and built.total_rows("kinetics600") == 3
    assert built.column("kinetics600", "id") == {"validation": [f"kinetics600/validation{i:04d}" for i in range(3)]}
    assert built.accounting("ucf101").excluded == {"not a dance class": 1}
    assert built.report("nosuch") is None and built.accounting("nosuch") is None
    assert built.excluded_csv("ucf101").is_file() and built.ledger_csv("ucf101") is None
    assert BuiltFolder.of(built) is built


def test_refresh_reads_only_the_shards_that_changed(tmp_path: Path) -> None:
    folder = make_folder(
        tmp_path / "d",
        {"ucf101": {"train": fake_rows("ucf101", "train", 4)}, "kinetics600": {"train": fake_rows("kinetics600", "train", 2)}},
    )
    built = BuiltFolder.open(folder)
    assert len(built.column("ucf101", "label")["train"]) == 4
    built.column("kinetics600", "label")
    footers, column_reads = built.reads.footers, built.reads.column_reads
    write_config(folder, "kinetics600", {"validation": rows_to_table(fake_rows("kinetics600", "validation", 3))})
    assert built.refresh() is built
    assert built.rows("kinetics600") == {"validation": 3}
    assert len(built.column("kinetics600", "label")["validation"]) == 3
    built.column("ucf101", "label")
    assert (built.reads.footers, built.reads.column_reads) == (footers + 1, column_reads + 1)


def test_an_unreadable_shard_is_reported_with_the_fix(tmp_path: Path) -> None:
    folder = make_folder(tmp_path / "d", {"ucf101": {"train": fake_rows("ucf101", "train", 2)}})
    (folder / "data/ucf101/train-00000-of-00001.parquet").write_bytes(b"not parquet at all")
    built = BuiltFolder.open(folder)
    with pytest.raises(ShardReadError, match=r"data/ucf101/train-00000-of-00001.parquet: cannot read .*dance-aggregate build"):
        built.rows("ucf101")
    result = check_shards(built)
    assert not result.ok and "cannot be read" in result.detail
