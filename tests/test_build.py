"""Build -> folder -> load_dataset (normal and streaming) -> decode; reruns and crashes."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datasets import Audio, Video, load_dataset

from dance_aggregate.builders.ucf101 import UCF101Builder
from dance_aggregate.media.decode import read_audio, sample_frames
from dance_aggregate.media.synth import write_ucf_avi
from dance_aggregate.output.reports import read_report
from dance_aggregate.output.shards import write_config
from dance_aggregate.pipeline.build import finalize_folder
from dance_aggregate.pipeline.config import RunSettings, build_config
from dance_aggregate.schema import arrow_schema, features, rows_to_table
from tests.helpers_sample import expected_ucf101


def test_folder_layout(built_ucf: Path, ucf_sample: Path):
    assert (built_ucf / "README.md").is_file()
    shards = sorted(p.relative_to(built_ucf).as_posix() for p in (built_ucf / "data").rglob("*.parquet"))
    assert shards == [
        "data/all/test-00000-of-00001.parquet",  # the deduplicated `all` config, rebuilt by every build
        "data/all/train-00000-of-00001.parquet",
        "data/ucf101/test-00000-of-00001.parquet",
        "data/ucf101/train-00000-of-00001.parquet",
    ]
    shards = shards[2:]
    acc = read_report(built_ucf, "ucf101").accounting
    expected = expected_ucf101(ucf_sample)
    assert acc.adds_up and acc.records_read == expected.records_read and acc.rows_written == expected.rows_written
    assert acc.excluded == expected.excluded
    md = pq.ParquetFile(built_ucf / shards[1]).metadata
    assert md.row_group(0).column(0).has_offset_index  # page index written for the viewer
    readme = (built_ucf / "README.md").read_text()
    assert "config_name: ucf101" in readme and "data/ucf101/train-*.parquet" in readme


def test_load_dataset_normal_by_path(built_ucf: Path, ucf_sample: Path):
    ds = load_dataset(str(built_ucf), "ucf101")
    assert {split: d.num_rows for split, d in ds.items()} == expected_ucf101(ucf_sample).rows
    assert isinstance(ds["train"].features["video"], Video)
    assert isinstance(ds["train"].features["audio"], Audio)
    assert ds["train"].features == features()


def test_load_by_bare_name_streaming_and_decode(built_ucf: Path, ucf_sample: Path, monkeypatch):
    monkeypatch.chdir(built_ucf.parent)
    stream = load_dataset("dance_aggregate", "ucf101", split="train", streaming=True)
    assert isinstance(stream.features["video"], Video)
    rows = list(stream.decode(False))
    assert len(rows) == expected_ucf101(ucf_sample).rows["train"]
    test_rows = list(load_dataset("dance_aggregate", "ucf101", split="test", streaming=True).decode(False))
    by_id = {r["id"]: r for r in rows + test_rows}
    silent = by_id["ucf101/SalsaSpin/v_SalsaSpin_g02_c01"]
    assert silent["has_audio"] is False and silent["audio"] is None
    row = by_id["ucf101/SalsaSpin/v_SalsaSpin_g09_c01"]
    assert row["has_audio"] and row["group"] == "SalsaSpin_g09" and row["label"] == features()["label"].str2int("salsa")
    assert row["video"]["path"] == "ucf101-SalsaSpin-v_SalsaSpin_g09_c01.mp4"
    frames = sample_frames(row["video"], 4)
    assert frames.shape == (4, 240, 320, 3)
    audio, sr = read_audio(row["audio"], sample_rate=16000, mono=True)
    assert sr == 16000 and audio.ndim == 1 and abs(len(audio) / sr - row["duration"]) < 0.05
    ds = load_dataset("dance_aggregate", "ucf101", split="test")
    ds = ds.cast_column("video", Video(decode=False)).cast_column("audio", Audio(decode=False))
    assert ds[0]["video"]["bytes"][4:8] == b"ftyp"


def test_rebuild_is_idempotent_and_reuses_parts(built_ucf: Path, ucf_sample: Path, tmp_path, caplog):
    out = tmp_path / "dance_aggregate"
    shutil.copytree(built_ucf, out)
    before = {p.name: p.read_bytes() for p in (out / "data" / "ucf101").glob("*.parquet")}
    caplog.set_level("INFO", logger="dance_aggregate")
    res = build_config(UCF101Builder(ucf_sample), RunSettings(output=out, progress=False))
    finalize_folder(out)
    expected = expected_ucf101(ucf_sample)
    assert f"{expected.rows_written} clips already encoded by an earlier run" in caplog.text
    after = {p.name: p.read_bytes() for p in (out / "data" / "ucf101").glob("*.parquet")}
    assert before == after
    assert res.accounting.rows_written == expected.rows_written


def test_building_one_config_keeps_the_others(built_ucf: Path, ucf_sample: Path, tmp_path):
    out = tmp_path / "dance_aggregate"
    shutil.copytree(built_ucf, out)
    other = rows_to_table([{"id": "kinetics600/x", "source": "kinetics600", "label": "zumba", "group": "x"}])
    write_config(out, "kinetics600", {"train": other})
    build_config(UCF101Builder(ucf_sample), RunSettings(output=out, progress=False))
    finalize_folder(out)
    assert (out / "data" / "kinetics600" / "train-00000-of-00001.parquet").is_file()
    readme = (out / "README.md").read_text()
    assert "config_name: kinetics600" in readme and "config_name: ucf101" in readme
    assert load_dataset(str(out), "kinetics600", split="train").num_rows == 1


def test_one_broken_clip_never_kills_the_build(ucf_sample: Path, tmp_path):
    src = tmp_path / "ucf"
    shutil.copytree(ucf_sample, src)
    (src / "UCF-101" / "SalsaSpin" / "v_SalsaSpin_g09_c02.avi").write_bytes(b"RIFF not really an avi" * 50)
    out = tmp_path / "dance_aggregate"
    res = build_config(UCF101Builder(src), RunSettings(output=out, progress=False))
    assert res.accounting.rows_written == expected_ucf101(src).rows_written - 1
    assert res.accounting.adds_up
    bad = [r for r in res.accounting.excluded if r not in ("not a dance class",)]
    assert len(bad) == 1
    csv_text = (out / "reports" / "ucf101.excluded.csv").read_text()
    assert "ucf101/SalsaSpin/v_SalsaSpin_g09_c02" in csv_text and "v_SalsaSpin_g09_c02.avi" in csv_text


def _make_tree(root: Path, n: int) -> None:
    lists = root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    train = []
    for i in range(n):
        name = f"v_SalsaSpin_g{8 + i:02d}_c01.avi"
        write_ucf_avi(root / "UCF-101" / "SalsaSpin" / name, seed=500 + i, seconds=4.0)
        train.append(f"SalsaSpin/{name} 77\r\n")
    (lists / "trainlist01.txt").write_text("".join(train), newline="")
    (lists / "testlist01.txt").write_text("")


#: Runs the CLI (``python -m dance_aggregate``) with one change: the build stops for good
#: just before writing its ``STOP_AT``-th part manifest (that part already written), after
#: writing one byte to the pipe ``STOP_FD``, so the test kills it at a known point.
_STOP_BEFORE_MANIFEST = """
import os, runpy, sys, threading
from dance_aggregate.output import parts

stop_at, fd = int(os.environ["STOP_AT"]), int(os.environ["STOP_FD"])
write_manifest, seen = parts.write_manifest, []

def stopping_write_manifest(part, manifest):
    seen.append(part)
    if len(seen) == stop_at:
        os.write(fd, b"stopped")
        threading.Event().wait()  # until SIGKILL
    write_manifest(part, manifest)

parts.write_manifest = stopping_write_manifest
sys.argv = ["dance-aggregate", *sys.argv[1:]]
runpy.run_module("dance_aggregate", run_name="__main__", alter_sys=True)
"""


@pytest.mark.slow
def test_killed_build_resumes_without_redoing_or_partial_shards(tmp_path):
    n, stop_at = 6, 4
    src = tmp_path / "ucf"
    _make_tree(src, n)
    out = tmp_path / "dance_aggregate"
    args = ["build", "ucf101", "--data-dir", f"ucf101={src}", "--output", str(out), "--part-size", "1", "--quiet"]
    read_end, write_end = os.pipe()
    env = {**os.environ, "STOP_AT": str(stop_at), "STOP_FD": str(write_end)}
    proc = subprocess.Popen([sys.executable, "-c", _STOP_BEFORE_MANIFEST, *args], env=env, pass_fds=(write_end,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write_end)  # the pipe now ends when the build does: a build that never stops ends the read
    try:
        ready, _, _ = select.select([read_end], [], [], 240)  # a bound for a broken build, not a timing
        stopped = os.read(read_end, 16) if ready else b""
    finally:
        os.close(read_end)
        proc.kill()
        _, err = proc.communicate()
    assert stopped == b"stopped", f"the build never reached manifest {stop_at}: {err.decode()[-2000:]}"
    assert proc.returncode == -signal.SIGKILL
    parts = out / ".work" / "parts" / "ucf101"
    done = {p: p.stat().st_mtime_ns for p in parts.glob("*.json")}
    written = {p: p.stat().st_mtime_ns for p in parts.glob("*.parquet")}
    assert len(done) == stop_at - 1 and len(written) == stop_at
    [orphan] = [p for p in written if p.with_suffix(".json") not in done]  # killed between part and manifest
    # nothing half-written where a reader looks
    assert not list(out.glob("data/**/*.parquet"))
    assert not (out / "README.md").exists()
    res = subprocess.run([sys.executable, "-m", "dance_aggregate", *args], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    for p, mtime in done.items():
        assert p.stat().st_mtime_ns == mtime, f"{p.name} was redone"
    assert orphan.with_suffix(".json").is_file() and orphan.stat().st_mtime_ns != written[orphan], "the part without a manifest was not redone"
    acc = read_report(out, "ucf101").accounting
    assert acc.rows_written == n and acc.adds_up
    ids = pq.read_table(out / "data" / "ucf101" / "train-00000-of-00001.parquet", columns=["id"]).column("id").to_pylist()
    assert len(ids) == len(set(ids)) == n
    assert not [p for p in out.rglob("*.tmp")]


def test_parquet_schema_is_the_shared_schema(built_ucf: Path):
    for p in (built_ucf / "data").rglob("*.parquet"):
        schema = pq.read_schema(p)
        assert schema.remove_metadata().equals(arrow_schema().remove_metadata())
        meta = json.loads(schema.metadata[b"huggingface"])
        assert meta["info"]["features"]["video"]["_type"] == "Video"


def test_datasets_builder_api(ucf_sample: Path, tmp_path):
    """The same source builder behind the `datasets` builder API (torch-free Arrow tables)."""
    from dance_aggregate.pipeline.hf_builder import DanceAggregate

    b = DanceAggregate(config_name="ucf101", data_dir=str(ucf_sample), cache_dir=str(tmp_path / "c"), dataset_name="dance_aggregate")
    b.download_and_prepare()
    ds = b.as_dataset()
    assert {split: d.num_rows for split, d in ds.items()} == expected_ucf101(ucf_sample).rows
    assert ds["train"].features == features()
    with pytest.raises(ValueError, match="not found"):
        DanceAggregate(config_name="nosuch", data_dir=str(ucf_sample), cache_dir=str(tmp_path / "c"))


def test_atomic_writes_get_ordinary_permissions(tmp_path):
    from dance_aggregate.files.atomic import atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "card.md", "x")
    finally:
        os.umask(old)
    assert (tmp_path / "card.md").stat().st_mode & 0o777 == 0o644


def test_shards_assembled_from_parts_in_bounded_memory(tmp_path):
    """Rows move between splits, keep id order and overrides, with at most 2 parts cached."""
    from dance_aggregate.output.folder import read_config
    from dance_aggregate.output.shards import Decisions, InputFile, write_shards

    parts, tables = [], []
    for p in range(4):
        rows = [{"id": f"ucf101/c{p}{r}", "source": "ucf101", "label": "salsa", "group": f"g{p}"} for r in (2, 0, 1)]
        path = tmp_path / f"part{p}.parquet"
        table = rows_to_table(rows)
        pq.write_table(table, path)
        parts.append(str(path))
        tables.append(table)
    reads: list[str] = []

    def read(p: str):
        reads.append(p)
        return pq.read_table(p, schema=arrow_schema())

    ids = [r for t in tables for r in t.column("id").to_pylist()]
    splits = ["train" if i % 3 else "test" for i in range(len(ids))]
    dup = [f"x{i}" for i in range(len(ids))]
    out = tmp_path / "dance_aggregate"
    shards = write_shards(out, "ucf101", [InputFile(p, 3, 1000) for p in parts], read, Decisions(splits, ids, {"duplicate_ids": dup}))
    back = read_config(out, "ucf101")
    for split in ("train", "test"):
        got = back[split].column("id").to_pylist()
        assert got == sorted(i for i, s in zip(ids, splits, strict=True) if s == split)
        want_dup = {i: d for i, d in zip(ids, dup, strict=True)}
        assert back[split].column("duplicate_ids").to_pylist() == [want_dup[i] for i in got]
    assert set(shards) == {"train", "test"}
    assert len(reads) <= 2 * 4  # each part read at most once per split (cache of 2)
