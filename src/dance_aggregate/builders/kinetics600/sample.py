"""The miniature Kinetics-600 of ``dance-aggregate build --sample``: the official CSVs and a
local mirror of generated clips.
"""

from __future__ import annotations

import csv
from pathlib import Path

from dance_aggregate.builders.base import SampleSource
from dance_aggregate.media.synth import write_video

# -- Kinetics-600 -----------------------------------------------------------------------------
# Real CSV format (label,youtube_id,time_start,time_end,split; test without label), clips in a
# local mirror laid out <split>/<youtube_id>_<start:06d>_<end:06d>.<ext>. Clips last 2 s (the
# real ones 10 s) to keep the sample fast. Two listed clips are not in the mirror: the
# sample build is offline, so they are recorded as missing. One row starts before its video
# (a negative time_start) and its whole video is mirrored (<split>/<youtube_id>.mp4): it is
# stored from 0 with its true times, as a truncated row.
_KINETICS_SAMPLE = [
    # (split, label, youtube_id, start, in mirror (True, False or "full"), container)
    ("train", "salsa dancing", "-5Yp-vToI2E", 12, True, "mp4"),  # id beginning with '-'
    ("train", "tango dancing", "kRb0xS2sTzA", 30, True, "webm"),  # VP9 + Opus, as YouTube serves
    ("train", "tap dancing", "Q3n_9xYw8aE", 0, False, "mp4"),  # not in the mirror
    ("train", "abseiling", "yq_M1PMw2hY", 38, True, "mp4"),  # non-dance: excluded by rule
    ("val", "zumba", "Jf7Gf0x3GmU", 4, True, "mp4"),
    ("val", "salsa dancing", "Lq7Nv2bX0sE", -1, "full", "mp4"),  # starts before its video
    ("val", "cartwheeling", "aB3dE5fG7hI", 2, True, "mp4"),  # motion family (kinetics600_motion)
    ("test", None, "LAcSOxdNrmI", 61, False, "mp4"),  # test rows have no label
    # A second validation row that becomes a row (a real validate.csv row), last so the seeds
    # above stay: the Hub viewer's statistics fail a one-row split (dataset-viewer issue 2653).
    ("val", "belly dancing", "raiGqqFmM64", 13, True, "mp4"),
]


def make_sample(root: Path) -> SampleSource:
    """Kinetics-600 CSVs in the official format plus a local mirror of generated clips."""
    base = root / "kinetics600"
    mirror = base / "videos"
    by_split: dict[str, list[tuple]] = {"train": [], "val": [], "test": []}
    for i, (split, label, yid, start, in_mirror, ext) in enumerate(_KINETICS_SAMPLE):
        end = start + 2
        by_split[split].append((label, yid, start, end, split))
        if in_mirror == "full":
            write_video(mirror / split / f"{yid}.{ext}", seed=2000 + i, seconds=4.0, width=160, height=120)
        elif in_mirror:
            path = mirror / split / f"{yid}_{start:06d}_{end:06d}.{ext}"
            if ext == "webm":
                write_video(path, seed=2000 + i, seconds=2.0, width=160, height=120, video_codec="libvpx-vp9",
                            audio_codec="libopus", sample_rate=48000)
            else:
                write_video(path, seed=2000 + i, seconds=2.0, width=160, height=120)
    base.mkdir(parents=True, exist_ok=True)
    for split, name in (("train", "train.csv"), ("val", "validate.csv"), ("test", "test.csv")):
        write_csv(base / name, by_split[split], labelled=split != "test")
    return SampleSource("kinetics600", base, mirror)


def write_csv(path: Path, rows: list[tuple], labelled: bool) -> None:
    """A Kinetics CSV of ``(label, youtube_id, time_start, time_end, split)`` rows; without
    the label column when not ``labelled`` (the test split's layout)."""
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        if labelled:
            w.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
            w.writerows(rows)
        else:
            w.writerow(["youtube_id", "time_start", "time_end", "split"])
            w.writerows(r[1:] for r in rows)
