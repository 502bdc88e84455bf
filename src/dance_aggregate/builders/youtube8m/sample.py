"""The miniature YouTube-8M of ``dance-aggregate build --sample``: real rows of the 2018
``vocabulary.csv`` and TFRecord shards of both levels with generated features.
"""

from __future__ import annotations

from pathlib import Path

from dance_aggregate.builders.base import SampleSource

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
    # Three frame-level validation videos (5, 6 and 7 seconds: a record lasts 5 s plus its
    # place in the shard): one would be a single value in every frame column, two would be 5
    # and 6, adjacent; the Hub viewer's statistics fail the split in both cases.
    "frame/validate0000.tfrecord": [("fa04", [206]), ("fa05", [383]), ("fa06", [1727, 8])],
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

    from dance_aggregate.builders.youtube8m.tfrecord import make_example, make_sequence_example, quantize

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


def make_sample(root: Path) -> SampleSource:
    """YouTube-8M shards in both levels plus a vocabulary.csv (real rows, trimmed)."""
    from dance_aggregate.builders.youtube8m.tfrecord import write_records

    base = root / "youtube8m"
    write_youtube8m_vocabulary(base / "vocabulary.csv")
    for i, (rel, videos) in enumerate(_YT8M_SAMPLE.items()):
        write_records(base / rel, youtube8m_records(videos, frame_level=rel.startswith("frame/"), seed=i))
    # Both levels in one tree, with distinct pseudo ids (the real levels share theirs).
    return SampleSource("youtube8m", base, options={"level": "both"})
