"""Atomic file writes: the one place that writes a file under a temporary name and renames it.

A reader (a resumed build, the publisher, another worker) never sees a half-written file:
the content goes to ``.<name>.<random>.tmp`` in the same folder, and :func:`os.replace`
puts it in place in one step (a rename within one filesystem is atomic). On any failure the
temporary file is removed and the old file, if any, is left as it was.

A write that the file system refuses (a full disk, a quota, a read-only folder, no
permission) raises one clear :class:`~dance_aggregate.errors.OutputError` naming the file
and what was being written, never a bare ``OSError``; a full disk raises
:class:`~dance_aggregate.errors.DiskFullError`, which stops the build.

Temporary names match :data:`TEMP_NAME`, so the next build can remove what a killed one
left (:mod:`.leftovers`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from dance_aggregate.errors import DiskFullError, OutputError

#: The name of a temporary file of :func:`replacing` (``.<name>.<8 hex>.tmp``).
TEMP_NAME = re.compile(r"^\..+\.[0-9a-f]{8}\.tmp$")
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


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

    The caller writes the whole file at the yielded path (which does not exist yet). When
    the block raises, the temporary file is removed and ``path`` is untouched.

    Args:
        path: The file to write.
        what: What the file is, for error messages ("work part", "report", ...).

    Yields:
        The temporary path to write, in the same folder as ``path``.

    Raises:
        OutputError: the file system refused the write (:class:`DiskFullError` when full).
    """
    path = Path(path)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        raise write_error(exc, path, what) from exc
    except BaseException:
        _remove(tmp)
        raise


def _remove(tmp: Path) -> None:
    with contextlib.suppress(OSError):
        tmp.unlink(missing_ok=True)


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
            tmp = Path(path).parent / f".{Path(path).name}.{uuid.uuid4().hex[:8]}.tmp"
            staged.append((tmp, Path(path)))
            try:
                tmp.parent.mkdir(parents=True, exist_ok=True)
                _write_synced(tmp, data)
            except OSError as exc:
                raise write_error(exc, path, what) from exc
        yield
        for tmp, path in staged:
            try:
                os.replace(tmp, path)
            except OSError as exc:
                raise write_error(exc, path, what) from exc
    finally:
        for tmp, _ in staged:
            _remove(tmp)


def atomic_write_text(path: Path, text: str, what: str = "file") -> None:
    """Write UTF-8 text atomically."""
    atomic_write_bytes(path, text.encode("utf-8"), what)


def atomic_write_json(path: Path, obj: Any, what: str = "file") -> None:
    """Write JSON atomically (sorted keys, indented, a final newline)."""
    atomic_write_text(path, json_text(obj), what)


def json_text(obj: Any) -> str:
    """``obj`` as the JSON text :func:`atomic_write_json` writes."""
    return json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n"
