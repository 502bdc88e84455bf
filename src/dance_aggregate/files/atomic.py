"""Atomic file writes: the one place that writes a file under a temporary name and renames it.

A reader (a resumed build, the publisher, another worker) never sees a half-written file:
the content goes to ``.<name>.<random>.tmp`` in the same folder, and :func:`os.replace`
puts it in place in one step (a rename within one filesystem is atomic). On any failure the
temporary file is removed and the old file, if any, is left as it was.

A write that the file system refuses (a full disk, a quota, a read-only folder, no
permission) raises one clear :class:`~dance_aggregate.errors.OutputError` naming the file
and what was being written, never a bare ``OSError``; a full disk raises
:class:`~dance_aggregate.errors.DiskFullError`, which stops the build.

Every temporary the build makes lives in a folder made by :func:`make_temp_dir`, which
holds a marker file naming that folder: the next build removes what a killed one left by
that mark (:mod:`.leftovers`), never by a name that a user's own file could also have.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import stat
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from dance_aggregate.errors import DiskFullError, OutputError

#: The name of a temporary folder of :func:`replacing` (``.<name>.<8 hex>.tmp``). A name
#: alone proves nothing: only :func:`is_temp_dir` says whether the build made it.
TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp$")
#: The marker file inside every temporary folder of the build (:func:`make_temp_dir`).
TEMP_MARKER = ".dance_aggregate-temporary"
_MARKER_MAX = 512
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
#: The folder of a half-encoded clip of the media writer in the system temporary folder
#: begins with this (:class:`~dance_aggregate.media.encode.ClipWriter`); the next build removes
#: it when it is old enough (:mod:`dance_aggregate.output.leftovers`).
MEDIA_TEMP_PREFIX = "dance_aggregate-"


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk or quota is full (also Arrow's wrapped errors)."""
    if isinstance(exc, OSError) and exc.errno in _FULL:
        return True
    text = str(exc).lower()
    return "no space left on device" in text or "disk quota exceeded" in text


def disk_full_error(exc: BaseException, doing: str) -> DiskFullError:
    """The clear error for a full disk met while ``doing`` (e.g. "writing the report x")."""
    reason = getattr(exc, "strerror", None) or str(exc)
    return DiskFullError(
        f"no space left on the disk while {doing} ({reason}). Free some space, or pass --output / --work-dir "
        f"on a larger disk, and run the same command again: finished work is kept and nothing already in "
        f"the output folder was replaced"
    )


def write_error(exc: OSError, path: Path | str, what: str) -> OutputError:
    """The clear error for a refused write of ``what`` to ``path``."""
    if is_disk_full(exc):
        return disk_full_error(exc, f"writing {what} {path}")
    reason = exc.strerror or str(exc)
    return OutputError(f"cannot write {what} {path}: {reason}. Check that the folder is writable and run again")


@contextlib.contextmanager
def replacing(path: Path, what: str = "file") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block succeeds, rename it to ``path``.

    The caller writes the whole file at the yielded path (which does not exist yet), in a
    marked temporary folder beside ``path`` (:func:`make_temp_dir`). When the block raises,
    the temporary folder is removed and ``path`` is untouched.

    Args:
        path: The file to write.
        what: What the file is, for error messages ("work part", "report", ...).

    Yields:
        The temporary path to write (``<folder of path>/.<name>.<8 hex>.tmp/<name>``), on
        the same file system as ``path``.

    Raises:
        OutputError: the file system refused the write (:class:`DiskFullError` when full).
    """
    path = Path(path)
    folder: Path | None = None
    try:
        folder = make_temp_dir(path.parent, f".{path.name}.", ".tmp")
        tmp = folder / path.name
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        raise write_error(exc, path, what) from exc
    finally:
        if folder is not None:
            _remove(folder)


def _marker_text(folder_name: str) -> bytes:
    return f"dance_aggregate temporary folder {folder_name}\n".encode("utf-8", "surrogateescape")


def make_temp_dir(parent: Path, prefix: str, suffix: str = "", marked: bool = True) -> Path:
    """Make a new folder ``<parent>/<prefix><8 hex><suffix>`` marked as the build's own.

    The folder is created exclusively (never an existing one), then the marker file
    :data:`TEMP_MARKER`, whose content names the folder, is written into it. Only a folder
    with that marker is ever removed by :func:`remove_temp_dir`: a crash between the two
    steps leaves an empty unmarked folder, which the clean-up reports and leaves alone.

    Args:
        parent: Where to make it (created when missing).
        prefix: Start of its name.
        suffix: End of its name.
        marked: ``False`` makes the folder without its marker (for content that must
            survive a crash until the caller marks it with :func:`mark_temp_dir`).

    Raises:
        OSError: the folder or its marker cannot be written.
    """
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        folder = parent / f"{prefix}{uuid.uuid4().hex[:8]}{suffix}"
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            continue
        if marked:
            mark_temp_dir(folder)
        return folder
    raise FileExistsError(errno.EEXIST, "no free temporary folder name", str(parent / prefix))


def mark_temp_dir(folder: Path) -> None:
    """Write the marker into ``folder``, a folder the caller made (:func:`make_temp_dir`):
    from now on the clean-up of a later build may remove it and all it holds.

    Raises:
        OSError: the marker cannot be written (or exists already).
    """
    fd = os.open(Path(folder) / TEMP_MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.write(fd, _marker_text(Path(folder).name))
    finally:
        os.close(fd)


def is_temp_dir(path: Path) -> bool:
    """Whether ``path`` is a folder made by :func:`make_temp_dir`: a real folder (not a
    link) holding a regular marker file whose content names it."""
    path = Path(path)
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            return False
        fd = os.open(path / TEMP_MARKER, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        data = os.read(fd, _MARKER_MAX)
    except OSError:
        return False
    finally:
        os.close(fd)
    return data == _marker_text(path.name)


def remove_temp_dir(path: Path) -> bool:
    """Remove a temporary folder of :func:`make_temp_dir` and what it holds; anything that
    is not such a folder is left alone.

    The marker goes last: a removal cut short leaves the folder still marked, so the next
    build can finish it.

    Returns:
        Whether the folder was removed.
    """
    path = Path(path)
    if not is_temp_dir(path):
        return False
    try:
        entries = list(os.scandir(path))
    except OSError:
        return False
    for entry in entries:
        if entry.name == TEMP_MARKER:
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
    try:
        if any(e.name != TEMP_MARKER for e in os.scandir(path)):
            return False  # something could not be removed: keep the mark for the next try
        os.unlink(path / TEMP_MARKER)
        os.rmdir(path)
    except OSError:
        return False
    return True


def _remove(folder: Path) -> None:
    with contextlib.suppress(OSError):
        remove_temp_dir(folder)


#: What a staged file holds: its bytes, or a function that writes them into the open file
#: (a report of a million rows is written chunk by chunk, never held whole).
Content = bytes | Callable[[BinaryIO], None]


def _write_synced(tmp: Path, data: Content) -> None:
    with open(tmp, "xb") as f:
        if callable(data):
            data(f)
        else:
            f.write(data)
        f.flush()
        os.fsync(f.fileno())


def atomic_write_bytes(path: Path, data: bytes, what: str = "file") -> None:
    """Write ``data`` to ``path`` through a temporary file, synced to disk, and a rename.

    The file gets the mode a plain ``open()`` gives (``0o666`` less the umask).

    Raises:
        OutputError: the file system refused the write (:class:`DiskFullError` when full).
    """
    with replacing(path, what) as tmp:
        _write_synced(tmp, data)


@contextlib.contextmanager
def staged_writes(files: dict[Path, Content], what: str = "file") -> Iterator[None]:
    """Write every file in full under a temporary name now (its bytes, or what its function
    writes); rename them all into place when the block succeeds, remove them when it raises.

    What needs disk space happens before the block (e.g. writing shards), so a full disk
    fails it with every old file in place; after the block only renames remain.

    Raises:
        OutputError: the file system refused a write (:class:`DiskFullError` when full);
            no file was replaced.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for path, data in files.items():
            path = Path(path)
            try:
                folder = make_temp_dir(path.parent, f".{path.name}.", ".tmp")
                staged.append((folder, path))
                _write_synced(folder / path.name, data)
            except OSError as exc:
                raise write_error(exc, path, what) from exc
        yield
        for folder, path in staged:
            try:
                os.replace(folder / path.name, path)
            except OSError as exc:
                raise write_error(exc, path, what) from exc
    finally:
        for folder, _ in staged:
            _remove(folder)


def atomic_write_text(path: Path, text: str, what: str = "file") -> None:
    """Write UTF-8 text atomically."""
    atomic_write_bytes(path, text.encode("utf-8"), what)


def atomic_write_json(path: Path, obj: Any, what: str = "file") -> None:
    """Write JSON atomically (sorted keys, indented, a final newline)."""
    atomic_write_text(path, json_text(obj), what)


def json_text(obj: Any) -> str:
    """``obj`` as the JSON text :func:`atomic_write_json` writes."""
    return json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n"
