"""Append-only JSON-lines files, sharded by key: a small store many processes write at once.

The download ledger keeps its state here (:mod:`.ledger`). The rules:

- **A change is one line**: the whole new state of one key, a JSON object whose first member
  is ``"key"``. When read, the last complete line of a key wins.
- **A fixed number of files**: the shard of a key is the CRC-32 of its UTF-8 bytes modulo
  :data:`SHARDS`, ``<folder>/<xx>.jsonl`` (two hex digits), so a build of a million clips
  writes at most :data:`SHARDS` files, and a shard is only made when a key of it is written.
- **Appending** opens the shard with ``O_APPEND``, takes an exclusive ``flock`` on it, starts
  on a fresh line when the file does not end with a newline (a writer killed in the middle
  of a line), writes the line in one call and closes the file (which drops the lock). Lines
  are not synced one by one (a killed process loses nothing the kernel has; a power cut may
  lose the last lines, which costs a download, never a wrong answer); ``sync=True`` syncs.
- **Reading** remembers how far each shard was read and reads only what was appended since
  (``O(new lines)`` per look-up, not ``O(file)``). A last line without its newline (being
  written, or torn by a kill) is left for the next read; a line that is not a JSON object
  with a string ``"key"`` is skipped and counted (:attr:`Journal.skipped`). A shard that was
  replaced or truncated (someone cleaned the work folder) is read again from its start.

A reader keeps the latest line of every key it has seen, as bytes (about half a kilobyte
per key), and parses it when asked.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dance_aggregate.files.atomic import write_error

#: Shard files per journal (the most files it ever has).
SHARDS = 256
#: Suffix of a shard file.
SUFFIX = ".jsonl"


@dataclass
class _Shard:
    """What this reader has taken from one shard file so far."""

    ident: tuple[int, int] = (0, 0)
    offset: int = 0
    lines: dict[str, bytes] = field(default_factory=dict)


class Journal:
    """The sharded append-only JSON-lines files in ``folder``.

    Args:
        folder: The folder of the shard files (made on the first append).
        shards: Number of shards (every writer and reader of a folder must agree; the
            default is the one the package uses).
    """

    def __init__(self, folder: str | Path, shards: int = SHARDS) -> None:
        if not 1 <= shards <= 4096:
            raise ValueError(f"shards must be between 1 and 4096, got {shards}")
        self.folder = Path(folder)
        self.shards = shards
        #: Lines skipped because they were not a JSON object with a string ``"key"``.
        self.skipped = 0
        self._read: dict[int, _Shard] = {}
        self._mutex = threading.Lock()

    def shard_of(self, key: str) -> int:
        """The shard of ``key`` (stable across processes and runs)."""
        return zlib.crc32(key.encode("utf-8", "surrogatepass")) % self.shards

    def path(self, shard: int) -> Path:
        """The file of shard number ``shard``."""
        return self.folder / f"{shard:02x}{SUFFIX}"

    # -- writing ---------------------------------------------------------------------------
    def append(self, record: dict[str, Any], *, sync: bool = False) -> None:
        """Append ``record`` (its ``"key"`` a string; it becomes the first member) as one line.

        Raises:
            OutputError: the file system refused the write
                (:class:`~dance_aggregate.errors.DiskFullError` when full).
        """
        key = record["key"]
        if not isinstance(key, str):
            raise TypeError(f"a journal record's key must be a string, got {type(key).__name__}")
        line = json.dumps({"key": key, **record}, separators=(",", ":"), default=str).encode("utf-8") + b"\n"
        path = self.path(self.shard_of(key))
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
        except OSError as exc:
            raise write_error(exc, path, "download ledger") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # a line torn by a killed writer stays a line of its own
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            if sync:
                os.fsync(fd)
        except OSError as exc:
            raise write_error(exc, path, "download ledger") from exc
        finally:
            os.close(fd)  # drops the lock

    # -- reading ---------------------------------------------------------------------------
    def get(self, key: str) -> dict[str, Any] | None:
        """The latest record of ``key``, or ``None`` when none was written."""
        shard = self.shard_of(key)
        with self._mutex:
            state = self._refresh(shard)
            line = state.lines.get(key) if state is not None else None
        return None if line is None else json.loads(line)

    def items(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every key's latest record, shard by shard (keys in no particular order)."""
        for shard in range(self.shards):
            with self._mutex:
                state = self._refresh(shard)
                lines = list(state.lines.items()) if state is not None else []
            for key, line in lines:
                yield key, json.loads(line)

    def _refresh(self, shard: int) -> _Shard | None:
        """Read what was appended to ``shard`` since the last read (``None``: no file)."""
        path = self.path(shard)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            self._read.pop(shard, None)
            return None
        try:
            st = os.fstat(fd)
            state = self._read.get(shard)
            ident = (st.st_dev, st.st_ino)
            if state is None or state.ident != ident or st.st_size < state.offset:
                state = self._read[shard] = _Shard(ident)
            if st.st_size > state.offset:
                data = os.pread(fd, st.st_size - state.offset, state.offset)
                end = data.rfind(b"\n") + 1  # a last line without its newline waits for the next read
                self._take(state, data[:end])
                state.offset += end
            return state
        finally:
            os.close(fd)

    def _take(self, state: _Shard, data: bytes) -> None:
        for line in data.split(b"\n"):
            if not line:
                continue
            try:
                obj = json.loads(line)
            except ValueError:
                obj = None
            key = obj.get("key") if isinstance(obj, dict) else None
            if not isinstance(key, str):
                self.skipped += 1
                continue
            state.lines[key] = line
