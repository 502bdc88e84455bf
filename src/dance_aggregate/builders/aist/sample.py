"""The miniature AIST copy of ``dance-aggregate build --sample``: real names of the AIST++ list,
the AIST++ split lists and ignore list (with the real file's trailing-space trap), short
generated videos with music.

What it holds, and what each becomes:

- three camera views of one popping performance (train), and one advanced house video (train);
- two views of one break performance of the test list, made from the same frames: views of
  one take are never taken for duplicates of each other;
- the inferred-validation performance of that music (``crossmodal_val.txt`` is not public),
  and a second inferred-validation take (another dancer's popping to the held-out mPO1), so
  validation holds two rows: the Hub viewer's statistics fail a one-row split
  (dataset-viewer issue 2653);
- a performance on the ignore list, and one that AIST++ holds out of every split (excluded
  with their reasons);
- a file whose name is not an official one (excluded, ``unreadable name``);
- a listed video missing from the copy (excluded as missing: the sample never downloads).
"""

from __future__ import annotations

from pathlib import Path

from dance_aggregate.builders.base import SampleSource
from dance_aggregate.media.synth import write_video

#: (file name, seed of its frames); views of one take made from one seed are identical.
_VIDEOS = [
    ("gPO_sBM_c01_d10_mPO0_ch09.mp4", 5101),
    ("gPO_sBM_c02_d10_mPO0_ch09.mp4", 5102),
    ("gPO_sBM_c03_d10_mPO0_ch09.mp4", 5103),
    ("gHO_sFM_c01_d19_mHO1_ch02.mp4", 5104),
    ("gBR_sBM_c01_d04_mBR0_ch02.mp4", 5105),
    ("gBR_sBM_c02_d04_mBR0_ch02.mp4", 5105),
    ("gBR_sBM_c01_d04_mBR0_ch01.mp4", 5106),
    ("gKR_sBM_c01_d30_mKR5_ch02.mp4", 5107),
    ("gBR_sBM_c01_d04_mBR0_ch03.mp4", 5108),
    ("gBR_sBM_c01_d04_mBR0.mp4", 5109),  # not an official name: _UNOFFICIAL
    ("gPO_sBM_c01_d10_mPO1_ch01.mp4", 5110),  # the second validation take (last: the others keep their folders)
]
#: The file whose name is not an official one (not in video_list.txt).
_UNOFFICIAL = "gBR_sBM_c01_d04_mBR0.mp4"
#: Listed in video_list.txt but not in the copy.
_MISSING = "gPO_sBM_c04_d10_mPO0_ch09"
_TRAIN = ["gPO_sBM_cAll_d10_mPO0_ch09", "gHO_sFM_cAll_d19_mHO1_ch02"]
_TEST = ["gBR_sBM_cAll_d04_mBR0_ch02"]
#: The real ignore_list.txt has a trailing space on one line and ends with an empty line.
_IGNORE = "gKR_sBM_cAll_d30_mKR5_ch02 \n\n"


def make_sample(root: Path) -> SampleSource:
    """A local copy in the AIST layout (videos in two sub-folders) with the AIST++ lists."""
    base = root / "aist"
    for i, (name, seed) in enumerate(_VIDEOS):
        folder = base / ("videos_a" if i % 2 else "videos_b")
        write_video(folder / name, seed=seed, seconds=1.5, width=192, height=108)
    listed = sorted({n.removesuffix(".mp4") for n, _ in _VIDEOS if n != _UNOFFICIAL} | {_MISSING})
    (base / "video_list.txt").write_text("\n".join(listed), encoding="utf-8")  # no final newline, as the real one
    splits = base / "splits"
    splits.mkdir(parents=True, exist_ok=True)
    (splits / "crossmodal_train.txt").write_text("\n".join(_TRAIN), encoding="utf-8")
    (splits / "crossmodal_test.txt").write_text("\n".join(_TEST), encoding="utf-8")
    (base / "ignore_list.txt").write_text(_IGNORE, encoding="utf-8")
    return SampleSource("aist", base)
