"""What a killed build leaves behind, and the lock that lets the next build remove it.

A build killed with SIGKILL (or a power cut) runs no cleanup. It may leave, in the output
folder: staging folders of a config being swapped in (``data/.<config>.<hex>.staging``) or
the old copy being removed (``.old``), temporary files of the atomic writer
(``.<name>.<hex>.tmp``, in ``reports/``, ``.work/parts/``, the download ledger...), and
download folders (``.work/fetch/<source>/.dl-*``, with ``.part`` files); in the system
temporary folder, half-encoded clips (``dance_aggregate-*.mp4``).

:class:`BuildLock` is an exclusive ``flock`` on ``<output>/.work/build.lock``, held for the
whole build: a second build into the same folder stops with a clear error instead of
racing the first, and while the lock is held every temporary in the folder belongs to a
build that is gone, so :func:`remove_leftovers` deletes them all. The kernel drops the lock
when its process dies, however it dies.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from types import TracebackType

from dance_aggregate.errors import OutputError
from dance_aggregate.files.atomic import TEMP_NAME, write_error
from dance_aggregate.output.layout import DATA_DIR, WORK_DIR

logger = logging.getLogger(__name__)

#: A config folder being swapped in, or the old copy being removed.
_SWAP_DIR = re.compile(r"^\..+\.[0-9a-f]{8}\.(staging|old)$")
#: A half-encoded clip of the media writer in the system temporary folder ...
_MEDIA_TEMP = re.compile(r"^dance_aggregate-.+\.mp4$")
#: ... removed once it is this old (other builds on this machine may be writing theirs).
MEDIA_TEMP_AGE = 6 * 3600.0


class BuildLock:
    """An exclusive lock on an output folder for the time of one build.

    Args:
        folder: The output folder.

    Raises:
        OutputError: (on entering) another build holds the lock, or the lock file cannot
            be written.
    """

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / WORK_DIR / "build.lock"
        self._fd: int | None = None

    def __enter__(self) -> BuildLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise write_error(exc, self.path, "the build lock") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise OutputError(
                f"another build is writing {self.path.parent.parent} ({holder}); wait for it to finish, "
                f"or build into another folder with --output"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
        self._fd = fd
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def remove_leftovers(folder: Path) -> int:
    """Remove what killed builds left in ``folder`` (call it holding :class:`BuildLock`),
    and half-encoded clips older than :data:`MEDIA_TEMP_AGE` in the system temporary folder.

    Returns:
        How many files and folders were removed.
    """
    folder = Path(folder)
    removed = 0
    data = folder / DATA_DIR
    if data.is_dir():
        for entry in data.iterdir():
            if entry.is_dir() and _SWAP_DIR.match(entry.name):
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
    if folder.is_dir():
        for root, dirs, files in os.walk(folder):
            for name in [d for d in dirs if d.startswith(".dl-")]:
                shutil.rmtree(Path(root) / name, ignore_errors=True)
                dirs.remove(name)
                removed += 1
            for name in files:
                if TEMP_NAME.match(name) or name.startswith(".ffmpeg."):
                    removed += _unlink(Path(root) / name)
    removed += _remove_media_temps()
    if removed:
        logger.info("%s: removed %d temporary files and folders left by an interrupted build", folder, removed)
    return removed


def _remove_media_temps() -> int:
    removed = 0
    now = time.time()
    try:
        entries = list(os.scandir(tempfile.gettempdir()))
    except OSError:
        return 0
    for e in entries:
        try:
            if (_MEDIA_TEMP.match(e.name) and e.is_file(follow_symlinks=False) and e.stat().st_uid == os.getuid()
                    and now - e.stat().st_mtime > MEDIA_TEMP_AGE):
                removed += _unlink(Path(e.path))
        except OSError:
            continue
    return removed


def _unlink(path: Path) -> int:
    try:
        path.unlink()
    except OSError:
        return 0
    return 1
