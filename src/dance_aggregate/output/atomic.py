"""Atomic file writes: the one place that writes a file under a temporary name and renames it.

A reader (a resumed build, the publisher, another worker) never sees a half-written file:
the content goes to ``.<name>.<random>.tmp`` in the same folder, and :func:`os.replace`
puts it in place in one step (a rename within one filesystem is atomic). On any failure the
temporary file is removed and the old file, if any, is left as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; when the block succeeds, rename it to ``path``.

    The caller writes the whole file at the yielded path (which does not exist yet). When
    the block raises, the temporary file is removed and ``path`` is untouched.

    Args:
        path: The file to write.

    Yields:
        The temporary path to write, in the same folder as ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, synced to disk, and a rename.

    The file gets the mode a plain ``open()`` gives (``0o666`` less the umask).
    """
    with replacing(path) as tmp:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def atomic_write_text(path: Path, text: str) -> None:
    """Write UTF-8 text atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write JSON atomically (sorted keys, indented, a final newline)."""
    atomic_write_text(path, json_text(obj))


def json_text(obj: Any) -> str:
    """``obj`` as the JSON text :func:`atomic_write_json` writes."""
    return json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n"
