"""Linked folders are read where a user would expect it (a mirror's ``val/`` on another disk,
YouTube-8M shards under a linked folder), and a link back up the tree is read once."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from dance_aggregate.builders.kinetics600 import Kinetics600Builder
from dance_aggregate.builders.youtube8m import YouTube8MBuilder
from dance_aggregate.builders.youtube8m.sample import make_sample as make_youtube8m
from dance_aggregate.files.walk import walk_files
from dance_aggregate.records import LocalCut


def test_walk_follows_linked_folders_and_reads_a_loop_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "deep").mkdir(parents=True)
    (elsewhere / "deep" / "b.mp4").write_bytes(b"x")
    root = tmp_path / "root"
    root.mkdir()
    (root / "a.mp4").write_bytes(b"x")
    (root / "linked").symlink_to(elsewhere, target_is_directory=True)
    (root / "loop").symlink_to(root, target_is_directory=True)  # back up the tree
    (elsewhere / "back").symlink_to(elsewhere, target_is_directory=True)
    with caplog.at_level(logging.WARNING):
        got = [p.relative_to(root).as_posix() for p in walk_files(root, (".mp4",))]
    assert got == ["a.mp4", "linked/deep/b.mp4"]
    assert any("read once" in r.getMessage() for r in caplog.records)


def test_a_mirror_folder_that_is_a_link_is_read(tmp_path: Path) -> None:
    data = tmp_path / "k600"
    data.mkdir()
    (data / "validate.csv").write_text("label,youtube_id,time_start,time_end,split\nsalsa dancing,aaaaaaaaaaa,0,10,val\n")
    disk = tmp_path / "other-disk" / "val"
    disk.mkdir(parents=True)
    (disk / "aaaaaaaaaaa_000000_000010.mp4").write_bytes(b"not decoded when planning")
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "val").symlink_to(disk, target_is_directory=True)
    (record,) = Kinetics600Builder(data, video_dir=mirror).plan().records
    assert isinstance(record.media, LocalCut) and record.media.path.endswith("aaaaaaaaaaa_000000_000010.mp4")


def test_youtube8m_shards_under_a_linked_folder_are_read(tmp_path: Path) -> None:
    src = make_youtube8m(tmp_path / "sample").data_dir
    data = tmp_path / "yt8m"
    data.mkdir()
    (data / "vocabulary.csv").symlink_to(src / "vocabulary.csv")
    (data / "video").symlink_to(src / "video", target_is_directory=True)
    (data / "frame").symlink_to(src / "frame", target_is_directory=True)
    linked = {r.media.rel for r in YouTube8MBuilder(data).plan().records}
    direct = {r.media.rel for r in YouTube8MBuilder(src).plan().records}
    assert linked == direct and len(linked) == 5
