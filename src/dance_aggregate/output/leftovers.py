"""What a killed build leaves behind, and the lock that lets the next build remove it.

A build killed with SIGKILL (or a power cut) runs no cleanup. It may leave, in the output
folder: staging folders of a config being swapped in (``data/.<config>.<hex>.staging``) or
the old copy being removed (``.old``), temporary folders of the atomic writer
(``.<name>.<hex>.tmp``, in ``reports/``, ``.work/parts/``, the download ledger...), and
download folders (``.work/fetch/<source>/.dl-*``, with ``.part`` files); in the system
temporary folder, half-encoded clips (``dance_aggregate-<hex>.tmp/``).

Every one of them is a folder made by :func:`~dance_aggregate.files.atomic.make_temp_dir`,
holding a marker that names it: that mark, not the name, is what makes it removable. The
clean-up looks only where the build writes (the top of the output folder, ``data/``,
``data/<config>/``, ``reports/``, ``images/`` and the build's own ``.work/`` tree) and removes
only marked folders. A file or folder there that merely looks like a leftover (a user's
``notes.0123abcd.tmp``, a ``.dl-x`` folder, an older version's unmarked temporaries, a
folder whose marker a crash prevented) is left alone and named in a WARNING.

:class:`BuildLock` is an exclusive ``flock`` on ``<output>/.work/build.lock``, held for the
whole build: a second build into the same folder stops with a clear error instead of
racing the first, and while the lock is held every marked temporary in the folder belongs
to a build that is gone, so :func:`remove_leftovers` deletes them all. The kernel drops
the lock when its process dies, however it dies.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from dance_aggregate.errors import OutputError
from dance_aggregate.files.atomic import MEDIA_TEMP_PREFIX, TEMP_NAME, is_temp_dir, remove_temp_dir, write_error
from dance_aggregate.output.layout import DATA_DIR, REPORTS_DIR, WORK_DIR

logger = logging.getLogger(__name__)

#: A config folder being swapped in, or the old copy being removed (the name only: the
#: mark decides).
_SWAP_DIR = re.compile(r"^\..+\.[0-9a-f]{8}\.(staging|old)$")
#: A half-encoded clip (:data:`~dance_aggregate.files.atomic.MEDIA_TEMP_PREFIX`) is removed once it is this
#: old (other builds on this machine may be writing theirs).
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
    """Remove the marked temporaries killed builds left in ``folder`` (call it holding
    :class:`BuildLock`), and those older than :data:`MEDIA_TEMP_AGE` in the system
    temporary folder; name in a WARNING what only looks like a leftover (left alone).

    Returns:
        How many temporary folders were removed.
    """
    folder = Path(folder)
    removed = 0
    lookalikes: list[Path] = []
    for entry in _candidates(folder):
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False) and is_temp_dir(path):
            if remove_temp_dir(path):
                removed += 1
            else:
                logger.warning("%s: could not remove this temporary folder of an interrupted build", path)
        elif _looks_temporary(entry.name):
            lookalikes.append(path)
    removed += _remove_media_temps()
    if removed:
        logger.info("%s: removed %d temporary folders left by an interrupted build", folder, removed)
    if lookalikes:
        shown = ", ".join(str(p) for p in lookalikes[:20]) + (f" and {len(lookalikes) - 20} more" if len(lookalikes) > 20 else "")
        logger.warning(
            "%s: left alone %d file(s) or folder(s) named like temporaries of a build but not marked as made by one: %s. "
            "A build removes only what it made; remove them yourself if they are not yours", folder, len(lookalikes), shown,
        )
    return removed


def _looks_temporary(name: str) -> bool:
    """Whether ``name`` is what a temporary of this or an earlier version was called."""
    return bool(TEMP_NAME.match(name) or _SWAP_DIR.match(name) or name.startswith((".dl-", ".ffmpeg.")))


def _candidates(folder: Path) -> Iterator[os.DirEntry[str]]:
    """The entries of the places a build writes temporaries in: the top of ``folder``,
    ``data/``, each ``data/<config>/``, ``reports/``, ``images/`` (one level each) and the
    whole ``.work/`` tree (not descending into links or marked temporary folders)."""
    flat = [folder, folder / DATA_DIR, folder / REPORTS_DIR, folder / "images"]
    for entry in _scan(folder / DATA_DIR):
        if entry.is_dir(follow_symlinks=False) and not entry.name.startswith("."):
            flat.append(Path(entry.path))
    for place in flat:
        for entry in _scan(place):
            if place == folder and entry.name == WORK_DIR:
                continue
            yield entry
    stack = [folder / WORK_DIR]
    while stack:
        for entry in _scan(stack.pop()):
            yield entry
            if entry.is_dir(follow_symlinks=False) and not is_temp_dir(Path(entry.path)):
                stack.append(Path(entry.path))


def _scan(place: Path) -> list[os.DirEntry[str]]:
    """The entries of the folder ``place``, sorted by name (none when it is not a folder)."""
    try:
        return sorted(os.scandir(place), key=lambda e: e.name)
    except OSError:
        return []


def _remove_media_temps() -> int:
    """Marked folders of half-encoded clips in the system temporary folder, this user's and
    older than :data:`MEDIA_TEMP_AGE` (other builds on this machine may be writing theirs)."""
    removed = 0
    now = time.time()
    for e in _scan(Path(tempfile.gettempdir())):
        try:
            if (e.name.startswith(MEDIA_TEMP_PREFIX) and e.is_dir(follow_symlinks=False)
                    and e.stat(follow_symlinks=False).st_uid == os.getuid()
                    and now - e.stat(follow_symlinks=False).st_mtime > MEDIA_TEMP_AGE
                    and remove_temp_dir(Path(e.path))):
                removed += 1
        except OSError:
            continue
    return removed


def first_missing(path: Path) -> Path | None:
    """The topmost folder of ``path`` (``path`` itself or one of its parents) that does not
    exist: what making ``path`` creates first. ``None`` when ``path`` exists."""
    path = Path(path).absolute()
    if path.exists():
        return None
    while not path.parent.exists() and path.parent != path:
        path = path.parent
    return path


def remove_unused_output(folder: Path, *, created: Path | None, work_existed: bool) -> list[Path]:
    """After a build that wrote no dataset into ``folder`` (no ``data/``; call it holding
    :class:`BuildLock`): remove what that build made and left empty.

    Only what this build made goes: its lock file and the empty folders it created (the
    work folder when it was not there before; ``folder`` and the parents made for it, up to
    ``created``). A file in them (a download or a finished part a rerun reuses, or anything
    not the build's) is kept, and so are the folders holding it.

    Args:
        folder: The output folder.
        created: The topmost folder the build created for ``folder`` (:func:`first_missing`
            before the build); ``None`` when ``folder`` existed.
        work_existed: ``folder/.work`` existed before the build.

    Returns:
        The paths removed (none when a dataset is there or the folders were not new).
    """
    folder = Path(folder).absolute()
    if (folder / DATA_DIR).is_dir() or work_existed:
        return []
    removed: list[Path] = []
    lock = folder / WORK_DIR / "build.lock"
    try:
        lock.unlink()
        removed.append(lock)
    except OSError:
        return []
    removed += _remove_empty_tree(folder / WORK_DIR)
    if created is not None:
        removed += _remove_empty_tree(folder)
        parent = folder
        while parent != created and created in parent.parents and not parent.exists():
            parent = parent.parent
            if not _rmdir(parent):
                break
            removed.append(parent)
    if folder.exists():
        logger.debug("%s: kept the files this build made (a rerun reuses them)", folder)
    elif removed:
        logger.debug("%s: removed the folder this build made: nothing was built into it", folder)
    return removed


def _remove_empty_tree(top: Path) -> list[Path]:
    """Remove the empty folders of ``top`` (links not followed), deepest first, and ``top``
    itself when it ends up empty; files are never touched."""
    removed: list[Path] = []
    for root, dirs, _files in os.walk(top, topdown=False, followlinks=False):
        for name in dirs:
            path = Path(root) / name
            if not path.is_symlink() and _rmdir(path):
                removed.append(path)
    if top.is_dir() and not top.is_symlink() and _rmdir(top):
        removed.append(top)
    return removed


def _rmdir(path: Path) -> bool:
    """Remove ``path`` if it is an empty folder."""
    try:
        path.rmdir()
    except OSError:
        return False
    return True
