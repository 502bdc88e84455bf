"""The miniature UCF101 of ``dance-aggregate build --sample``: the real ``classInd.txt``
(``classInd.txt`` beside this module), the official fold rule, generated Xvid + MP3 AVIs.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from dance_aggregate.builders.base import SampleSource
from dance_aggregate.media.synth import write_ucf_avi

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


def make_sample(root: Path) -> SampleSource:
    """A UCF101 tree with ``ucfTrainTestlist`` (real ``classInd.txt``, official fold rule)."""
    base = root / "ucf101"
    class_ind = resources.files("dance_aggregate.builders.ucf101").joinpath("classInd.txt").read_bytes()
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
