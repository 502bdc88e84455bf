"""The embedded sample: miniature copies of each source in its real raw format.

``dance-aggregate build --sample`` needs no data: :func:`make_sample` generates, into a
cache folder, a small raw tree per source that has a builder (same file names, formats
and annotation files as the real releases, media synthesised by :mod:`dance_aggregate.sample.synth`),
and the build then runs every config over it.

Each source contributes a ``make_<source>(root) -> SampleSource`` function, named by its
entry in the source registry (:mod:`dance_aggregate.builders.registry`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from dance_aggregate import __version__
from dance_aggregate.builders import registry
from dance_aggregate.files.atomic import atomic_write_text
from dance_aggregate.sample.synth import write_ucf_avi, write_video

logger = logging.getLogger(__name__)


@dataclass
class SampleSource:
    """Where a generated sample source lives and how to build it."""

    config: str
    data_dir: Path
    video_dir: Path | None = None
    options: dict[str, str] = field(default_factory=dict)


def default_cache_dir() -> Path:
    """``$DANCE_AGGREGATE_CACHE`` or ``$XDG_CACHE_HOME/dance_aggregate`` (``~/.cache``)."""
    env = os.environ.get("DANCE_AGGREGATE_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "dance_aggregate"


# -- UCF101 ----------------------------------------------------------------------------------
# Official UCF101 folds assign groups g01-g07 to test in fold 1, g08-g14 in fold 2,
# g15-g21 in fold 3; every other group is train. The sample uses groups from each range.
_UCF_SAMPLE = [
    # (class, group, clips, has_audio)
    ("SalsaSpin", 1, 2, True),
    ("SalsaSpin", 2, 1, False),  # a clip without an audio track, as some UCF101 clips are
    ("SalsaSpin", 9, 2, True),
    ("SalsaSpin", 16, 1, True),
    ("SalsaSpin", 23, 2, True),
    ("ApplyEyeMakeup", 3, 1, False),  # non-dance: excluded by rule
    ("JumpingJack", 23, 1, True),  # non-dance: excluded by rule
]


def _ucf_fold_test_groups(fold: int) -> range:
    return range(7 * (fold - 1) + 1, 7 * fold + 1)


def make_ucf101(root: Path) -> SampleSource:
    """A UCF101 tree with ``ucfTrainTestlist`` (real ``classInd.txt``, official fold rule)."""
    base = root / "ucf101"
    class_ind = resources.files("dance_aggregate").joinpath("sample/ucf101_classInd.txt").read_bytes()
    index = {}
    for line in class_ind.decode().splitlines():
        if line.strip():
            i, name = line.split()
            index[name] = int(i)
    lists: dict[str, list[str]] = {f"{kind}list0{f}.txt": [] for kind in ("train", "test") for f in (1, 2, 3)}
    seed = 0
    for cls, group, clips, audio in _UCF_SAMPLE:
        for c in range(1, clips + 1):
            seed += 1
            name = f"v_{cls}_g{group:02d}_c{c:02d}.avi"
            write_ucf_avi(base / "UCF-101" / cls / name, seed=1000 + seed, seconds=2.0, audio=audio)
            for fold in (1, 2, 3):
                if group in _ucf_fold_test_groups(fold):
                    lists[f"testlist0{fold}.txt"].append(f"{cls}/{name}")
                else:
                    lists[f"trainlist0{fold}.txt"].append(f"{cls}/{name} {index[cls]}")
    tl = base / "ucfTrainTestlist"
    tl.mkdir(parents=True, exist_ok=True)
    (tl / "classInd.txt").write_bytes(class_ind)
    for name, lines in lists.items():
        (tl / name).write_bytes("".join(f"{x}\r\n" for x in sorted(lines)).encode())
    return SampleSource("ucf101", base)


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
]


def make_kinetics600(root: Path) -> SampleSource:
    """Kinetics-600 CSVs in the official format plus a local mirror of generated clips."""
    import csv

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
        with (base / name).open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            if split == "test":
                w.writerow(["youtube_id", "time_start", "time_end", "split"])
                w.writerows(r[1:] for r in by_split[split])
            else:
                w.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
                w.writerows(by_split[split])
    return SampleSource("kinetics600", base, mirror)


# -- ActivityNet 1.3 --------------------------------------------------------------------------
# The official activity_net.v1-3.min.json format with a small taxonomy (the real node ids of
# the dance branch) and untrimmed videos in a mirror named v_<youtube_id>.<ext>.
_ANET_TAXONOMY = [
    (0, "Root", None),
    (269, "Sports, Exercise, and Recreation", 0),
    (136, "Dancing", 269),
    (137, "Belly dance", 136),
    (138, "Breakdancing", 136),
    (139, "Cheerleading", 136),
    (140, "Cumbia", 136),
    (141, "Tango", 136),
    (200, "Ballet", 269),
    (201, "Zumba", 269),
    (202, "Doing step aerobics", 269),
]
_ANET_SAMPLE = [
    # (youtube_id, subset, duration, [(start, end, label)], in mirror)
    ("sJFgo9H6zNo", "training", 8.0, [(1.0, 5.5, "Tango"), (6.0, 7.5, "Doing step aerobics")], True),
    ("-bY3u9e1Xk8", "training", 5.0, [(0.5, 3.0, "Breakdancing"), (4.9, 9.0, "Cheerleading")], True),
    ("Zx8aNcQ4pLs", "validation", 6.0, [(2.0, 4.0, "Ballet"), (3.0, 3.0, "Zumba")], True),
    ("r7pWm2kQe1Y", "validation", 6.0, [(1.0, 3.0, "Cumbia")], False),  # not in the mirror
    ("tE5tV1d30Xo", "testing", 6.0, [], False),  # testing: no labels
    ("Wn4eLm8pQ2c", "training", 8.0, [(1.0, 7.5, "Zumba")], True),  # its video is shorter: see below
]
#: Videos whose mirror file is shorter than the annotation's duration, as real downloads
#: often are: windows past the end are excluded, the one across it is stored truncated
#: (the segment [1, 7.5] gives 4 windows of 1.625 s, the cap keeps w00, w02 and w03; the
#: file ends at 5.2 s, inside w02 [4.25, 5.875), which holds 58 % of its range).
_ANET_SHORT_MIRROR = {"Wn4eLm8pQ2c": 5.2}


def make_activitynet(root: Path) -> SampleSource:
    """An ``activity_net.v1-3.min.json`` plus a mirror of generated untrimmed videos."""
    import json

    base = root / "activitynet"
    mirror = base / "videos"
    parents = {nid: name for nid, name, _ in _ANET_TAXONOMY}
    database = {}
    for i, (yid, subset, duration, segments, in_mirror) in enumerate(_ANET_SAMPLE):
        database[yid] = {
            "duration": duration,
            "subset": subset,
            "resolution": "160x120",
            "url": f"https://www.youtube.com/watch?v={yid}",
            "annotations": [{"segment": [s, e], "label": label} for s, e, label in segments],
        }
        if in_mirror:
            seconds = _ANET_SHORT_MIRROR.get(yid, duration)
            write_video(mirror / f"v_{yid}.mp4", seed=3000 + i, seconds=seconds, width=160, height=120)
    doc = {
        "version": "VERSION 1.3",
        "taxonomy": [
            {"nodeId": nid, "nodeName": name, "parentId": pid, "parentName": parents.get(pid)}
            for nid, name, pid in _ANET_TAXONOMY
        ],
        "database": database,
    }
    base.mkdir(parents=True, exist_ok=True)
    (base / "activity_net.v1-3.min.json").write_text(json.dumps(doc), encoding="utf-8")
    return SampleSource("activitynet", base, mirror, {"max_window": "2"})


# -- Let's Dance -----------------------------------------------------------------------------
# (class, youtube_id, start token, frames, missing relFrames); 11-character ids, some with
# "_" and "-" as real ids have, frames named <youtube_id>_<start>_<relFrame:04d>.jpg.
_LETSDANCE_SAMPLE = [
    ("ballet", "0DvqbnEtyNY", "053", 45, ()),
    ("ballet", "0DvqbnEtyNY", "1314", 30, ()),
    ("tango", "-2W1PfHleRM", "033", 40, (7,)),  # one missing frame: filled, reported
    ("break", "t_R8Bazi0RI", "041", 36, ()),
    ("latin", "ug_5g1ZMW-o", "108", 30, tuple(range(5, 25))),  # too many gaps: excluded
]
#: Size of the generated frames (the real ones are 1280x720).
LETSDANCE_SAMPLE_SIZE = (320, 180)


def make_letsdance(root: Path) -> SampleSource:
    """A Let's Dance frame tree (``<class>/<youtube_id>_<start>_<frame>.jpg``), small frames."""
    from PIL import Image

    from dance_aggregate.sample.synth import pattern_frame

    base = root / "letsdance"
    w, h = LETSDANCE_SAMPLE_SIZE
    for seed, (cls, yt, start, n, missing) in enumerate(_LETSDANCE_SAMPLE, start=3000):
        folder = base / cls
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(1, n + 1):
            if i in missing:
                continue
            Image.fromarray(pattern_frame(seed, i, w, h)).save(folder / f"{yt}_{start}_{i:04d}.jpg", quality=90)
    return SampleSource("letsdance", base)


# -- YouTube-8M ------------------------------------------------------------------------------
# Real rows of the 2018 vocabulary.csv (Index, TrainVideoCount, KnowledgeGraphId, Name,
# Vertical1), in index order: every entity of the crosswalk (so a build on the sample warns
# of none missing) plus non-dance and look-alike ones.
_YT8M_VOCAB = [
    (0, 788288, "/m/03bt1gh", "Game", "Games"),
    (1, 539945, "/m/01mw1", "Video game", "Games"),
    (3, 378135, "/m/01jddz", "Concert", "Arts & Entertainment"),
    (6, 203343, "/m/01350r", "Performance art", "Arts & Entertainment"),
    (8, 181579, "/m/026bk", "Dance", "Arts & Entertainment"),
    (164, 10206, "/m/09x9g", "Marching band", "Arts & Entertainment"),
    (206, 7729, "/m/0d6n1", "Ballet", "Arts & Entertainment"),
    (346, 4382, "/m/09w24", "Ice dancing", "Sports"),
    (383, 3858, "/m/01514", "Ballroom dance", "Arts & Entertainment"),
    (539, 2509, "/m/0326g", "Flamenco", "Arts & Entertainment"),
    (650, 1936, "/m/0513yzt", "Ballet dancer", "Arts & Entertainment"),
    (807, 1500, "/m/015jwr", "Swing (dance)", "Arts & Entertainment"),
    (812, 1417, "/m/0cjyh2", "Dance studio", "Arts & Entertainment"),
    (834, 1398, "/m/01_zvr", "Latin dance", "Arts & Entertainment"),
    (894, 1289, "/m/01zj8b", "Solo dance", "Arts & Entertainment"),
    (1101, 1014, "/m/02_pk7", "Military parade", "Law & Government"),
    (1191, 886, "/m/025shfx", "Caporales", "Arts & Entertainment"),
    (1207, 861, "/m/02h5w", "Dance Dance Revolution", "Games"),
    (1633, 555, "/m/0710fh", "Marinera", "Arts & Entertainment"),
    (1727, 500, "/m/0cc6rng", "Irish dance", "Arts & Entertainment"),
    (2117, 375, "/m/01z85", "Cheerleading", "Sports"),
    (2839, 226, "/m/03c2wbr", "Pizzica", "(Unknown)"),
    (2907, 221, "/m/0143jv", "Moshing", "Arts & Entertainment"),
    (3502, 178, "/m/027rr2", "Para Para", "Arts & Entertainment"),
    (3659, 147, "/m/0c9qxs", "Lord of the Dance (musical)", "Arts & Entertainment"),
    (3737, 134, "/m/04cfw8", "Classical ballet", "Arts & Entertainment"),
    (3802, 140, "/m/0dvjd", "Square dance", "Arts & Entertainment"),
]
# shard -> [(pseudo id, label indices)]; test shards are unlabelled as in the 2018 release.
_YT8M_SAMPLE = {
    "video/train0000.tfrecord": [("aa01", [8]), ("aa02", [8, 383]), ("aa03", [206, 3737]), ("aa04", [0, 1])],
    "video/validate0000.tfrecord": [("aa05", [3, 539]), ("aa06", [1207, 1]), ("aa07", [807, 834, 8])],
    "video/test0000.tfrecord": [("aa08", []), ("aa09", [])],
    "frame/train0000.tfrecord": [("fa01", [8, 1727]), ("fa02", [6]), ("fa03", [834])],
    "frame/validate0000.tfrecord": [("fa04", [206])],
}


def write_youtube8m_vocabulary(path: Path) -> None:
    """A vocabulary.csv in the real column layout with the rows of ``_YT8M_VOCAB``."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["Index", "TrainVideoCount", "KnowledgeGraphId", "Name", "WikiUrl", "Vertical1", "Vertical2", "Vertical3", "WikiDescription"])
    for index, count, kg, name, vertical in _YT8M_VOCAB:
        w.writerow([index, count, kg, name, f"https://en.wikipedia.org/wiki/{name.replace(' ', '_')}", vertical, "", "", ""])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buf.getvalue(), encoding="utf-8")


def youtube8m_records(videos: list[tuple[str, list[int]]], *, frame_level: bool, seed: int = 0, seconds: int = 5) -> list[bytes]:
    """Serialized YouTube-8M records: video level (``Example`` with ``mean_rgb``/``mean_audio``)
    or frame level (``SequenceExample`` with uint8 ``rgb``/``audio`` per second)."""
    import numpy as np

    from dance_aggregate.builders.tfrecord import make_example, make_sequence_example, quantize

    out = []
    for k, (vid, labels) in enumerate(videos):
        rng = np.random.default_rng(seed * 1000 + k)
        context = {"id": vid.encode(), "labels": np.array(labels, dtype=np.int64)}
        if frame_level:
            rgb = quantize(rng.normal(0, 0.7, (seconds + k, 1024)))
            audio = quantize(rng.normal(0, 0.7, (seconds + k, 128)))
            out.append(make_sequence_example(context, {"rgb": [r.tobytes() for r in rgb], "audio": [a.tobytes() for a in audio]}))
        else:
            context["mean_rgb"] = rng.normal(0, 0.5, 1024).astype(np.float32)
            context["mean_audio"] = rng.normal(0, 0.5, 128).astype(np.float32)
            out.append(make_example(context))
    return out


def make_youtube8m(root: Path) -> SampleSource:
    """YouTube-8M shards in both levels plus a vocabulary.csv (real rows, trimmed)."""
    from dance_aggregate.builders.tfrecord import write_records

    base = root / "youtube8m"
    write_youtube8m_vocabulary(base / "vocabulary.csv")
    for i, (rel, videos) in enumerate(_YT8M_SAMPLE.items()):
        write_records(base / rel, youtube8m_records(videos, frame_level=rel.startswith("frame/"), seed=i))
    # Both levels in one tree, with distinct pseudo ids (the real levels share theirs).
    return SampleSource("youtube8m", base, options={"level": "both"})


def sample_revision() -> str:
    """A short hash of the code that writes the sample (this package's modules): a cache
    made by another revision of the generator is never reused."""
    h = hashlib.sha1(__version__.encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()[:8]


def make_sample(cache_dir: Path | None = None, *, force: bool = False) -> list[SampleSource]:
    """Generate (once) the raw sample of every source into
    ``cache_dir/sample-<version>-<revision>``.

    Returns:
        One :class:`SampleSource` per config to build.
    """
    root = (cache_dir or default_cache_dir()) / f"sample-{__version__}-{sample_revision()}"
    out = []
    for source in registry.sources():
        name, maker = source.name, source.make_sample
        marker = root / f".{name}.done"
        if force and (root / name).exists():
            shutil.rmtree(root / name)
            marker.unlink(missing_ok=True)
        if marker.is_file() and not force:
            src = _read_marker(marker)
        else:
            if (root / name).exists():
                shutil.rmtree(root / name)
            logger.info("generating the %s sample in %s", name, root / name)
            src = maker(root)
            atomic_write_text(marker, _marker_text(src))
        out.append(src)
    return out


def _marker_text(src: SampleSource) -> str:
    import json

    return json.dumps(
        {
            "config": src.config,
            "data_dir": str(src.data_dir),
            "video_dir": str(src.video_dir) if src.video_dir else None,
            "options": src.options,
        }
    )


def _read_marker(path: Path) -> SampleSource:
    import json

    d = json.loads(path.read_text())
    return SampleSource(
        d["config"], Path(d["data_dir"]), Path(d["video_dir"]) if d["video_dir"] else None, d.get("options", {})
    )
