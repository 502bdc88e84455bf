"""Kinetics-700-2020 (Smaira et al. 2020): its 22 dance classes, fetched from YouTube or a mirror.

The lists have Kinetics-600's layouts and are read by the same parser
(:class:`~dance_aggregate.builders.kinetics600.builder.KineticsBuilder`); what differs is the
file names of the releases, the crosswalk (Kinetics-600's 20 dance classes plus ``shoot
dance`` and ``silent disco``; ``ski ballet`` is freestyle skiing, excluded with its reason)
and that one YouTube id can have several segments (53 ids of the real ``validate.csv`` have
two, with different labels): a clip's id is ``<youtube_id>_<start:06d>_<end:06d>``, never
the YouTube id alone.

Raw layout (``--data-dir kinetics700=PATH``)::

    PATH/
    ├── train.csv       (label,youtube_id,time_start,time_end,split)
    ├── validate.csv    (split "validate"; CVDF names it val.csv)
    └── test.csv        (no label column: its rows are excluded and counted)
    or the JSON twins: train.json, validate.json, test.json
    or DeepMind's kinetics700_2020.tar.gz unpacked: PATH/kinetics700_2020/{train,validate,test}.csv
    or CVDF's k700-2020 folder: PATH/annotations/{train,val,test}.csv

    Local mirror (``--video-dir kinetics700=PATH``, optional; subfolders at any depth,
    so CVDF's k700-2020/{train,val,test}/ works as it is):
    PATH/<split>/<youtube_id>_<start:06d>_<end:06d>.mp4   (any container: .mkv, .webm...)

Each row is one 10 s clip (six rows of the real validation file are shorter); rows of
non-dance classes are excluded by rule and counted. ``group`` is the YouTube id, so the
segments of one video always share a split.
"""

from __future__ import annotations

from dance_aggregate.builders.base import layout_from_doc
from dance_aggregate.builders.kinetics600.builder import KineticsBuilder

_MODULE_DOC = __doc__


class Kinetics700Builder(KineticsBuilder):
    """Builds ``kinetics700`` (the dance classes) from the Kinetics-700-2020 annotation files."""

    source = "kinetics700"
    config_name = "kinetics700"
    layout = layout_from_doc(_MODULE_DOC)
    # The names of the official copies: DeepMind's (validate.csv, also inside
    # kinetics700_2020.tar.gz) and CVDF's (annotations/val.csv).
    file_stems = {
        "train": ("train", "kinetics700_2020/train", "annotations/train"),
        "validation": ("validate", "val", "kinetics700_2020/validate", "annotations/val"),
        "test": ("test", "kinetics700_2020/test", "annotations/test"),
    }
