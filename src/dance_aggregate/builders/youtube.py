"""Planning helpers of the sources whose annotations list YouTube ids and time ranges
(Kinetics, ActivityNet).

A clip whose video is in the local mirror (``--video-dir``) is planned as a
:class:`~dance_aggregate.records.LocalCut` of the mirror file; any other as a
:class:`~dance_aggregate.records.RemoteCut` of its YouTube video. Clips that share a
download range (the windows of one ActivityNet segment) name the same range, so the
pipeline fetches it once and cuts them in one pass; so are the clips of one mirror file.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, ClassVar

from dance_aggregate.builders.base import SourceBuilder
from dance_aggregate.errors import DataDirError
from dance_aggregate.files.walk import walk_files
from dance_aggregate.records import ClipRecord, LocalCut, MediaPlan, RemoteCut

logger = logging.getLogger(__name__)

#: Video file extensions found in mirrors.
MIRROR_EXTS = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v", ".flv")


class YouTubeSourceBuilder(SourceBuilder):
    """A :class:`SourceBuilder` whose videos come from a local mirror or from YouTube.

    Clips are stored with a short side of at most 360 pixels: a YouTube mirror is often
    720p, and the training recipes of the field read short sides of 256 to 320 (figures and
    sources in docs/scaling.md, "Resolution").
    """

    default_max_short_side: ClassVar[int | None] = 360
    fetches: ClassVar[bool] = True

    # -- planning helpers ---------------------------------------------------------------
    @staticmethod
    def clip_media(
        youtube_id: str, start: float, end: float, mirror: Path | None, *, mirror_offset: float = 0.0,
        fetch_start: float | None = None, fetch_end: float | None = None,
    ) -> MediaPlan:
        """The media plan of a clip ``[start, end)`` of ``youtube_id``.

        Args:
            mirror: The mirror file, when the mirror has it.
            mirror_offset: Time in the video of the mirror file's t=0 (a trimmed clip's start).
            fetch_start: Start of the range to download (default ``start``); clips that
                share a range share one download.
            fetch_end: End of the range to download (default ``end``).
        """
        if mirror is not None:
            return LocalCut(str(mirror), round(start - mirror_offset, 6), round(end - mirror_offset, 6))
        return RemoteCut(
            youtube_id, start, end,
            fetch_start=fetch_start if fetch_start is not None else start,
            fetch_end=fetch_end if fetch_end is not None else end,
        )

    def clip_record(
        self, source_id: str, split: str, mapping: Any, source_label: str, youtube_id: str,
        start: float, end: float, media: MediaPlan,
    ) -> ClipRecord:
        """The plan record of clip ``[start, end)`` of ``youtube_id`` (id ``<source>/<source_id>``;
        every clip of a video shares its ``group``, the YouTube id)."""
        return ClipRecord(
            id=f"{self.source}/{source_id}",
            source=self.source,
            source_id=source_id,
            split=split,
            label=mapping.label,
            source_label=source_label,
            family=mapping.family,
            group=youtube_id,
            youtube_id=youtube_id,
            start_time=start,
            end_time=end,
            media=media,
        )

    def index_mirror(self, folder: Path | None, exts: tuple[str, ...] = MIRROR_EXTS) -> dict[str, Path]:
        """Every video file under ``folder`` by file stem (sub-folders and linked sub-folders
        included, in sorted order: the first of two files with one stem is used).

        Raises:
            DataDirError: ``folder`` was given (``--video-dir``) but is not a folder.
        """
        if folder is None:
            return {}
        if not folder.is_dir():
            what = "is a file, not a folder" if folder.exists() else "does not exist"
            raise DataDirError(
                f"{self.config_name}: --video-dir {self.source}={folder} {what}; every clip would be missing.\n"
                f"Fix: pass the folder that holds the videos (--video-dir {self.source}=/path/to/videos), or leave "
                f"--video-dir out to download them"
            )
        out: dict[str, Path] = {}
        for p in sorted(walk_files(folder, exts)):
            out.setdefault(p.stem, p)
        return out
