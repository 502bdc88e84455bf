"""Walking a user's folder tree the way a user expects: linked folders are read too.

``Path.rglob`` does not enter a sub-folder that is a symbolic link, so a mirror whose
``val/`` is a link to another disk, or YouTube-8M shards under a linked folder, would be
silently left out. :func:`walk_files` follows linked folders, and a guard on the real folder
(device and inode) stops a link back up the tree (a loop) from being read twice or forever:
such a link is skipped with one warning naming it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)


def walk_files(root: Path, suffixes: tuple[str, ...] | None = None, *, hidden: bool = False) -> Iterator[Path]:
    """Every file below ``root`` (sub-folders and linked sub-folders included), in sorted
    order within each folder.

    Args:
        root: The folder to walk (it may itself be a link).
        suffixes: Keep only files whose lower-cased suffix is one of these (``None``: all).
        hidden: Also yield files and enter folders whose name starts with ``.``.

    A folder reached twice (a link to a folder already read, a loop) is read once; a folder
    that cannot be listed is skipped with a warning naming it.
    """
    seen: set[tuple[int, int]] = set()

    def walk(folder: Path) -> Iterator[Path]:
        try:
            st = folder.stat()
        except OSError as exc:
            logger.warning("%s: cannot be read (%s); skipped", folder, exc)
            return
        key = (st.st_dev, st.st_ino)
        if key in seen:
            logger.warning("%s: a link to a folder already read (a loop, or the same folder twice); read once", folder)
            return
        seen.add(key)
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            logger.warning("%s: cannot be listed (%s); skipped", folder, exc)
            return
        for entry in entries:
            if not hidden and entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                if entry.is_dir():  # follows a link to a folder
                    yield from walk(path)
                elif entry.is_file() and (suffixes is None or path.suffix.lower() in suffixes):
                    yield path
            except OSError as exc:
                logger.warning("%s: cannot be read (%s); skipped", path, exc)

    yield from walk(Path(root))
