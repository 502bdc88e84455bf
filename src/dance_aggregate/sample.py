"""The embedded sample: miniature copies of each source in its real raw format.

``dance-aggregate build --sample`` needs no data: :func:`make_sample` generates, into a
cache folder, a small raw tree per source that has a builder (same file names, formats
and annotation files as the real releases, media synthesised by :mod:`dance_aggregate.synth`),
and the build then runs every config over it.

Each source contributes a ``make_<source>(root) -> SampleSource`` function registered in
:data:`SAMPLE_MAKERS`.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from dance_aggregate import __version__
from dance_aggregate.synth import write_ucf_avi
from dance_aggregate.writer import atomic_write_text

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
    class_ind = resources.files("dance_aggregate").joinpath("data/ucf101_classInd.txt").read_bytes()
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


#: Source -> generator of its sample raw tree, in build order.
SAMPLE_MAKERS: dict[str, Callable[[Path], SampleSource]] = {
    "ucf101": make_ucf101,
}


def make_sample(cache_dir: Path | None = None, *, force: bool = False) -> list[SampleSource]:
    """Generate (once) the raw sample of every source into ``cache_dir/sample-<version>``.

    Returns:
        One :class:`SampleSource` per config to build.
    """
    root = (cache_dir or default_cache_dir()) / f"sample-{__version__}"
    out = []
    for name, maker in SAMPLE_MAKERS.items():
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
