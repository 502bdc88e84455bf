"""Where the build's work parts live: a local folder or any fsspec URL the workers share.

A unit of work writes one Parquet *part* and then its JSON *manifest*; the manifest is
written last, so "manifest present" means "part complete" and a rerun skips the unit.
On one machine the work folder is ``<output>/.work``. On a cluster it must be a location
every worker reaches: a shared filesystem path, or an fsspec URL (``s3://bucket/run1``,
``gs://...``, ``file:///mnt/shared/run1``); the driver then assembles the final shards
from the parts.

Writes are all-or-nothing: a local file (plain path or ``file://``) is written under a
temporary name and renamed into place (:mod:`.atomic`); an object-store object is uploaded
in one PUT, which readers never see half-done.
"""

from __future__ import annotations

import json
import logging
import posixpath
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from dance_aggregate.files.atomic import atomic_write_bytes, atomic_write_json, json_text
from dance_aggregate.output.shards import parquet_bytes, write_parquet

logger = logging.getLogger(__name__)


def is_url(location: str | Path) -> bool:
    """Whether ``location`` is an fsspec URL (``proto://...``) rather than a local path."""
    return isinstance(location, str) and "://" in location


def join(base: str | Path, *names: str) -> str:
    """``base/names...`` for a local path or a URL (URLs always use ``/``)."""
    if is_url(base):
        return posixpath.join(str(base).rstrip("/"), *names)
    return str(Path(base).joinpath(*names))


def manifest_path(part: str) -> str:
    """The manifest that marks ``part`` (a ``.parquet`` path or URL) complete."""
    if not part.endswith(".parquet"):
        raise ValueError(f"a part path ends in .parquet, got {part!r}")
    return part[: -len(".parquet")] + ".json"


def _fs(url: str) -> tuple[Any, str]:
    import fsspec

    return fsspec.core.url_to_fs(url)


def _is_local_fs(fs: Any) -> bool:
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)


def exists(location: str) -> bool:
    """Whether a file exists at a path or URL."""
    if not is_url(location):
        return Path(location).is_file()
    fs, p = _fs(location)
    return fs.isfile(p)


def size(location: str) -> int:
    """Size in bytes of the file at a path or URL."""
    if not is_url(location):
        return Path(location).stat().st_size
    fs, p = _fs(location)
    return int(fs.size(p))


def is_done(part: str) -> bool:
    """Whether the unit of ``part`` finished (its part and its manifest are both present)."""
    return exists(manifest_path(part)) and exists(part)


def _put_bytes(location: str, data: bytes) -> None:
    fs, p = _fs(location)
    if _is_local_fs(fs):
        atomic_write_bytes(Path(p), data, "work file")
    else:
        # Object stores: one PUT is all-or-nothing, and there is no rename to lean on.
        fs.pipe_file(p, data)


def write_part(table: pa.Table, part: str) -> None:
    """Write a part atomically (Parquet with the writer's row groups and page index)."""
    if is_url(part):
        _put_bytes(part, parquet_bytes(table))
    else:
        write_parquet(table, Path(part), "work part")


def write_manifest(part: str, manifest: dict[str, Any]) -> None:
    """Write the manifest of ``part`` atomically; call it only after the part is written."""
    location = manifest_path(part)
    if is_url(location):
        _put_bytes(location, json_text(manifest).encode("utf-8"))
    else:
        atomic_write_json(Path(location), manifest, "work part manifest")


def read_manifest(part: str) -> dict[str, Any]:
    """The manifest of a finished part."""
    location = manifest_path(part)
    if not is_url(location):
        return json.loads(Path(location).read_text(encoding="utf-8"))
    fs, p = _fs(location)
    return json.loads(fs.cat_file(p).decode("utf-8"))


def read_part(part: str, schema: pa.Schema, columns: list[str] | None = None) -> pa.Table:
    """Read one part back in the shared schema (only ``columns`` when given)."""
    if not is_url(part):
        return pq.read_table(part, schema=schema, columns=columns)
    fs, p = _fs(part)
    with fs.open(p, "rb") as f:
        return pq.read_table(f, schema=schema, columns=columns)
