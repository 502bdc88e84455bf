"""The Let's Dance frame tree: class folders of ``<youtube_id>_<start>_<frame>.jpg`` images,
in a folder (the extracted release, ``rgb/`` or not) or straight from the release zip.

Only the names are read here; the pipeline reads and decodes the frames of a clip
(:mod:`dance_aggregate.media.frames`).
"""

from __future__ import annotations

import logging
import os
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)

#: Frame image extensions of the release.
IMAGE_EXTS = (".jpg", ".jpeg")


class FrameSource:
    """The frames of a Let's Dance tree, from a folder or straight from the zip.

    Args:
        path: The folder holding the class folders, or the zip file.
    """

    def __init__(self, path: Path) -> None:
        self.is_zip = path.is_file()
        if not self.is_zip and (path / "rgb").is_dir():
            path = path / "rgb"  # the extracted release: rgb/ next to flow/, skeleton/ ...
        self.path = path

    def list_frames(self) -> Iterator[tuple[str, str]]:
        """Yield (class folder name, member) for every frame image."""
        if self.is_zip:
            with zipfile.ZipFile(self.path) as zf:
                # orig_filename: zipfile cuts a name at a NUL byte (such a member is still
                # listed, and excluded by its name, never silently read as a folder).
                names = [i.orig_filename for i in zf.infolist() if not i.orig_filename.endswith("/")]
            frames = [n for n in names if n.lower().endswith(IMAGE_EXTS) and n.count("/") >= 1]
            prefixes = Counter(n.rsplit("/", 2)[0] if n.count("/") >= 2 else "" for n in frames)
            if not prefixes:
                return
            # One tree of class folders: the one under rgb/ if there are several (flow, ...).
            root = next((p for p in prefixes if p.rstrip("/").endswith("rgb")), prefixes.most_common(1)[0][0])
            others = [p for p in prefixes if p != root]
            if others:
                logger.warning(
                    "%s: frames outside %r ignored (under %s)", self.path, root or "/", ", ".join(others[:5])
                )
            for n in frames:
                parts = n.rsplit("/", 2)
                prefix = parts[0] if len(parts) == 3 else ""
                if prefix == root:
                    yield parts[-2], n
            return
        with os.scandir(self.path) as top:
            class_dirs = sorted(e.path for e in top if e.is_dir())
        for d in class_dirs:
            cls = os.path.basename(d)
            with os.scandir(d) as it:
                for e in it:
                    if e.is_file() and e.name.lower().endswith(IMAGE_EXTS):
                        yield cls, f"{cls}/{e.name}"
