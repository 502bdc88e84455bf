"""The built-folder model: one listing, each footer parsed once, small columns read once,
shared by the ``all`` step, the leakage check, the card, the checks and ``stats``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dance_aggregate.output.folder import BuiltFolder, ShardReadError
from dance_aggregate.output.shards import write_config
from dance_aggregate.schema import rows_to_table
from tests.helpers_hub import fake_rows, make_folder


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
