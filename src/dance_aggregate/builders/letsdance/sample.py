"""The miniature Let's Dance of ``dance-aggregate build --sample``: a frame tree
``<class>/<youtube_id>_<start>_<frame>.jpg`` of small generated frames.
"""

from __future__ import annotations

from pathlib import Path

from dance_aggregate.builders.base import SampleSource

# -- Let's Dance -----------------------------------------------------------------------------
# (class, youtube_id, start token, frames, missing relFrames); 11-character ids, some with
# "_" and "-" as real ids have, frames named <youtube_id>_<start>_<relFrame:04d>.jpg.
_LETSDANCE_SAMPLE = [
    ("ballet", "0DvqbnEtyNY", "053", 45, ()),
    ("ballet", "0DvqbnEtyNY", "1314", 30, ()),
    ("tango", "-2W1PfHleRM", "033", 40, (7,)),  # one missing frame: filled, reported
    ("break", "t_R8Bazi0RI", "041", 36, ()),
    ("latin", "ug_5g1ZMW-o", "108", 30, tuple(range(5, 25))),  # too many gaps: excluded
    # A second clip whose id hashes to test (a real clip of the published test list): the Hub
    # viewer's statistics fail a one-row split (dataset-viewer issue 2653). 42 frames, not 35
    # or 37: two frame counts one apart trip the viewer too (its "adjacent" rule).
    ("waltz", "MDky47JdBS0", "007", 42, ()),
]
#: Size of the generated frames (the real ones are 1280x720).
LETSDANCE_SAMPLE_SIZE = (320, 180)


def make_sample(root: Path) -> SampleSource:
    """A Let's Dance frame tree (``<class>/<youtube_id>_<start>_<frame>.jpg``), small frames."""
    from PIL import Image

    from dance_aggregate.media.synth import pattern_frame

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
