"""Dedup and AIST: the camera views of one take are one group, never duplicates of each other
(however alike their frames), while a real copy (the same frames in another performance or
another source) is still found."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from dance_aggregate.dedup import KEY_COLUMNS, analyse
from dance_aggregate.output.folder import BuiltFolder
from dance_aggregate.schema import source_names

#: Two views of one break performance that the sample makes from the same frames.
VIEWS = ("aist/gBR_sBM_c01_d04_mBR0_ch02", "aist/gBR_sBM_c02_d04_mBR0_ch02")


def rows_of(folder: BuiltFolder, config: str, columns: list[str]) -> pa.Table:
    return pa.concat_tables([folder.read_columns(s, columns) for shards in folder.shards(config).values() for s in shards])


def test_views_of_one_take_stay_two_rows_of_one_group(sample_build: Path) -> None:
    folder = BuiltFolder.of(sample_build)
    aist = {r["id"]: r for r in rows_of(folder, "aist", [*KEY_COLUMNS, "duplicate_ids"]).to_pylist()}
    a, b = (aist[v] for v in VIEWS)
    assert a["frame_hashes"] == b["frame_hashes"] != "", "the sample's two views share their frames"
    assert a["group"] == b["group"] and a["duplicate_ids"] == b["duplicate_ids"] == ""
    in_all = {r["id"]: r for r in rows_of(folder, "all", ["id", "duplicate_ids"]).to_pylist()}
    assert all(v in in_all and in_all[v]["duplicate_ids"] == "" for v in VIEWS)


def test_the_same_frames_elsewhere_are_still_a_copy(sample_build: Path) -> None:
    """The guard is about views of one take only: the same two rows, as two performances or
    with one of them a Kinetics clip, are paired."""
    folder = BuiltFolder.of(sample_build)
    keys = rows_of(folder, "aist", list(KEY_COLUMNS))
    keys = keys.filter(pc.is_in(keys.column("id"), pa.array(VIEWS)))
    assert keys.num_rows == 2
    assert analyse(keys, ["train", "train"]).pairs == []

    def changed(column: str, second: object) -> pa.Table:
        values = keys.column(column).to_pylist()
        values[1] = second
        return keys.set_column(keys.schema.get_field_index(column), column, pa.array(values, keys.schema.field(column).type))

    other_take = changed("group", "gBR_sBM_cAll_d04_mBR0_ch09")
    assert len(analyse(other_take, ["train", "train"]).pairs) == 1
    kinetics = source_names().index("kinetics600")
    youtube = changed("source", kinetics)
    assert len(analyse(youtube, ["train", "train"]).pairs) == 1
