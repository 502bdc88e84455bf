"""The miniature Kinetics-700-2020 of ``dance-aggregate build --sample``: the lists in CVDF's
layout (``k700-2020/annotations/{train,val,test}.csv``, the real CSV format) and a local mirror
of generated clips beside them (``k700-2020/<split>/<youtube_id>_<start:06d>_<end:06d>.mp4``).
"""

from __future__ import annotations

from pathlib import Path

from dance_aggregate.builders.base import SampleSource
from dance_aggregate.builders.kinetics600.sample import _KINETICS_SAMPLE as _K600_ROWS
from dance_aggregate.builders.kinetics600.sample import write_csv
from dance_aggregate.media.synth import write_video

# Ids, segment starts and class names are those of the real validate.csv (the ids name
# nothing but public YouTube videos); clips last 2 s (the real ones 10 s) to keep the sample
# fast. The train rows' ids come from the real validation list too (its train.csv is not in
# the project's data).
_SHARED = "Jf7Gf0x3GmU"  # a validation clip of the Kinetics-600 sample: the same segment, the same video
_K700_SAMPLE = [
    # (split, label, youtube_id, start, in mirror)
    ("train", "krumping", "5Dq_ln-EQtk", 138, True),
    ("train", "breakdancing", "7N61AG-VxPM", 5, True),
    ("val", "shoot dance", "6-l0OwREucs", 24, True),  # new in Kinetics-700
    ("val", "silent disco", "6YoOAYm-FMc", 30, True),  # new in Kinetics-700
    # An id with two segments (in the real file "playing piano" at 22 and "playing keyboard"
    # at 45; given two dance classes here so both become rows, with distinct ids).
    ("val", "tap dancing", "6sYu45RK454", 22, True),
    ("val", "salsa dancing", "6sYu45RK454", 45, True),
    ("val", "zumba", _SHARED, 4, True),  # also in the Kinetics-600 sample: `all` keeps one copy
    ("val", "belly dancing", "-UI8AJgs0nI", 3, False),  # not in the mirror: missing (offline)
    ("val", "ski ballet", "A6QURsHs_Xg", 105, False),  # freestyle skiing: excluded with its reason
    ("val", "testifying", "---QUuC4vJs", 84, False),  # not dance: excluded by rule
    ("test", None, "0QHFsMT93_k", 178, False),  # test rows have no label
]


def _shared_seed() -> int:
    """The seed the Kinetics-600 sample writes the shared clip with (``2000 + its row``), so
    the two mirrors hold the same video."""
    for i, (_, _, yid, *_rest) in enumerate(_K600_ROWS):
        if yid == _SHARED:
            return 2000 + i
    raise LookupError(f"the Kinetics-600 sample no longer has {_SHARED}; pick another shared clip")


def make_sample(root: Path) -> SampleSource:
    """Kinetics-700-2020 CSVs in CVDF's layout plus a local mirror of generated clips."""
    base = root / "kinetics700" / "k700-2020"
    by_split: dict[str, list[tuple]] = {"train": [], "val": [], "test": []}
    for i, (split, label, yid, start, in_mirror) in enumerate(_K700_SAMPLE):
        end = start + 2
        by_split[split].append((label, yid, start, end, "validate" if split == "val" else split))
        if in_mirror:
            seed = _shared_seed() if yid == _SHARED else 7000 + i
            write_video(base / split / f"{yid}_{start:06d}_{end:06d}.mp4", seed=seed, seconds=2.0, width=160, height=120)
    (base / "annotations").mkdir(parents=True, exist_ok=True)
    for split in ("train", "val", "test"):
        write_csv(base / "annotations" / f"{split}.csv", by_split[split], labelled=split != "test")
    return SampleSource("kinetics700", base, base)
