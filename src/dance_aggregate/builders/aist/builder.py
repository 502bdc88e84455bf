"""The AIST Dance Video Database (Tsuchida et al. 2019): whole videos of ten street-dance
genres, every camera view of every performance, with their music.

Raw layout (``--data-dir aist=PATH``: a local copy)::

    PATH/
    ├── **/gBR_sBM_c01_d04_mBR0_ch01.mp4     (the videos under their official names, any sub-folders)
    ├── **/sSH_c01_v0.mp4                     (showcase, cypher, battle videos, if any)
    ├── video_list.txt                        (optional: the AIST++ list of the 12,670 names; a listed
    │                                          video missing from the copy is downloaded, with
    │                                          --accept-terms aist, or excluded as missing)
    ├── splits/crossmodal_train.txt           (optional, AIST++: the cross-modal splits;
    ├── splits/crossmodal_test.txt             crossmodal_val.txt is not public)
    └── ignore_list.txt                       (optional, AIST++: sequences left out)

One row is one whole video (one camera view of one performance) with its music as the audio;
``docs/aist.md`` has the figures behind the choice. Names are read by :mod:`.names` (every
official form; a name that fits none is excluded with its reason), splits by :mod:`.splits`
(the AIST++ lists when present, else the documented rule; all views and repeats of one
performance share a group and a split; a performance on the ignore list is excluded with its
line). Every row carries its ``performance`` (sequence, situation, camera, dancers, music,
choreography) and ``source_label`` is the genre's name.

AIST's terms of use allow academic research and forbid redistribution without AIST's
authorisation (as public notes quote them): the media are built locally but never published
(the source is not redistributable), and nothing is downloaded unless the terms are accepted
(``--accept-terms aist``, or ``-o aist.accept_terms=true``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote

from dance_aggregate.bounds import bounded
from dance_aggregate.builders.aist.rows import performance, source_label
from dance_aggregate.builders.aist.splits import Assignment, plan_names, read_lists
from dance_aggregate.builders.annotations import read_text, split_lines
from dance_aggregate.builders.base import SourceBuilder, SourceOptions, layout_from_doc
from dance_aggregate.files.walk import walk_files
from dance_aggregate.records import ClipRecord, Exclusion, LocalCut, Plan, RemoteCut

logger = logging.getLogger(__name__)

_MODULE_DOC = __doc__
#: Where AIST serves its videos (the AIST++ downloader's pattern, 10 Mbps files).
URL_TEMPLATE = "https://aistdancedb.ongaaccel.jp/v1.0.0/video/10M/{name}"
#: AIST's terms of use.
TERMS_URL = "https://aistdancedb.ongaaccel.jp/terms_of_use/"
#: The AIST++ list of the videos it uses (one name per line).
VIDEO_LIST = "video_list.txt"
#: Reason of a listed video that is in neither the copy nor downloadable.
MISSING = "missing video"


@dataclass
class AistOptions(SourceOptions):
    """Options of the ``aist`` config.

    Attributes:
        accept_terms: The user has read and accepts AIST's terms of use
            (https://aistdancedb.ongaaccel.jp/terms_of_use/); needed before any video is
            downloaded (``--accept-terms aist`` sets it).
        url_template: Where a video missing from the copy is downloaded from (``{name}``
            is its file name).
        train_percent: Without the AIST++ lists, groups outside AIST++ (group, showcase,
            cypher, battle videos): percent in train by hash of the group.
        validation_percent: ... and in validation (the rest is test).
    """

    accept_terms: bool = False
    url_template: str = URL_TEMPLATE
    train_percent: int = bounded(80, min=0, max=100, unit="percent")
    validation_percent: int = bounded(10, min=0, max=100, unit="percent")

    def __post_init__(self) -> None:
        super().__post_init__()
        if "{name}" not in self.url_template:
            raise ValueError(f"url_template must hold {{name}}, got {self.url_template!r}")
        if not self.url_template.startswith(("https://", "http://127.0.0.1", "http://localhost")):
            raise ValueError(f"url_template must be an https:// URL, got {self.url_template!r}")
        if self.train_percent + self.validation_percent > 100:
            raise ValueError(
                f"train_percent + validation_percent must be at most 100 (the rest is test), got "
                f"{self.train_percent} + {self.validation_percent}. Fix: lower one, e.g. "
                f"-o aist.train_percent={100 - self.validation_percent}"
            )


class AistBuilder(SourceBuilder):
    """Builds the ``aist`` config from a local copy of the AIST Dance Video Database."""

    source = "aist"
    config_name = "aist"
    layout = layout_from_doc(_MODULE_DOC)
    Options = AistOptions
    #: 1080p videos are stored at 640x360 unless told otherwise (docs/scaling.md, "Resolution").
    default_max_short_side: ClassVar[int | None] = 360
    fetches: ClassVar[bool] = True
    record_noun: ClassVar[str] = "video"

    def plan(self) -> Plan:
        """One record per video of the copy (and per listed video missing from it); a name
        that is not an official one, a duplicate, an ignored performance is excluded with
        its reason."""
        root = self.data_dir
        if not root.is_dir():
            raise self.layout_error(f"--data-dir {root} does not exist or is not a folder")
        # Hidden files too: a name that is not an official one is excluded with its reason, never
        # silently skipped (macOS copies leave ._<name>.mp4 files beside the videos).
        local: list[Path] = list(walk_files(root, (".mp4",), hidden=True))
        listed = self._video_list(root)
        if not local and not listed:
            raise self.layout_error(f"no .mp4 videos and no {VIDEO_LIST} in {root}")
        files = {}
        texts = []
        for path in local:
            texts.append(path.name)
            files.setdefault(path.name.lower(), path)
        have = {p.name.lower() for p in local}
        extra = [(where, name) for where, name in listed if f"{name}.mp4".lower() not in have and name.lower() not in have]
        texts += [name for _, name in extra]
        lists = read_lists(root)
        records: list[ClipRecord] = []
        exclusions: list[Exclusion] = list(lists.issues)
        for out in plan_names(texts, lists if lists.present else None):
            if isinstance(out, Exclusion):
                exclusions.append(out)
            elif out.exclusion is not None:
                exclusions.append(out.exclusion)
            else:
                got = self._record(out, files.get(out.name.file_name.lower()))
                (records if isinstance(got, ClipRecord) else exclusions).append(got)
        return Plan(records, exclusions)

    def _video_list(self, root: Path) -> list[tuple[str, str]]:
        """``(file:line, name)`` of the AIST++ video list, when the copy has one."""
        path = next((p for p in (root / VIDEO_LIST, root / "splits" / VIDEO_LIST) if p.is_file()), None)
        if path is None:
            return []
        out = []
        for line_no, line in enumerate(split_lines(read_text(path)), start=1):
            text = line.strip()
            if text:
                out.append((f"{path.name}:{line_no}", text))
        return out

    def _record(self, a: Assignment, path: Path | None) -> ClipRecord | Exclusion:
        """The record of one video with its split, or its exclusion (not in the copy)."""
        name = a.name
        label = source_label(name)
        rid = f"{self.source}/{name.stem}"
        mapping = self.taxonomy.map(self.source, label)
        if mapping is None:  # every genre and situation is in the crosswalk: a gap is a bug
            return Exclusion(rid, "dance class missing from the crosswalk", label, a.split, label)
        if path is not None:
            media: LocalCut | RemoteCut = LocalCut(str(path))
        elif self.options.accept_terms:
            media = RemoteCut(None, url=self.options.url_template.format(name=quote(name.file_name)))
        else:
            return Exclusion(
                rid, MISSING,
                f"{name.file_name} is listed but not in the copy; to download it from AIST, read and accept "
                f"AIST's terms of use ({TERMS_URL}) and pass --accept-terms aist",
                a.split, label,
            )
        return ClipRecord(
            id=rid,
            source=self.source,
            source_id=name.stem,
            split=str(a.split),
            label=mapping.label,
            source_label=label,
            family=mapping.family,
            group=a.group,
            media=media,
            extra={"performance": performance(name)},
        )

