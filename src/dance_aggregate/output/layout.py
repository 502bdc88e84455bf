"""Where things live in a built dataset folder: names only, nothing is read or written here.

The output folder (default ``./dance_aggregate``) is what goes to the Hub::

    dance_aggregate/
    ├── README.md                                  dataset card (YAML configs + dataset_info)
    ├── LICENSE.md, images/class_distribution.png  linked from the card
    ├── data/<config>/<split>-NNNNN-of-NNNNN.parquet
    ├── reports/<config>.json                      accounting and build facts of a config
    ├── reports/<config>.excluded.csv              every record left out, with its reason
    ├── reports/<config>.download_ledger.csv       clips fetched for a config (fetching sources)
    ├── reports/duplicates.csv                     duplicate clusters found for ``all``
    └── .work/                                     resumable intermediate parts (not published)

Folders under ``data/`` whose name starts with a dot (a config being swapped in, or the old
copy being removed) are not configs.

Identifiers from source files (YouTube ids, ActivityNet keys, file stems) never become
file names as they are: :func:`safe_stem` escapes them and bounds their length, so no id
can name a path outside its folder, a hidden file, or an over-long name.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

DATA_DIR = "data"
REPORTS_DIR = "reports"
WORK_DIR = ".work"
#: Suffix of a config's download ledger in ``reports/``.
LEDGER_SUFFIX = ".download_ledger.csv"
#: The duplicate clusters of ``all``, in ``reports/``.
DUPLICATES_FILE = "duplicates.csv"


def shard_name(split: str, index: int, count: int) -> str:
    """File name of shard ``index`` of ``count`` of ``split`` (``train-00000-of-00004.parquet``)."""
    return f"{split}-{index:05d}-of-{count:05d}.parquet"


def shard_pattern(split: str) -> str:
    """Glob of the shard file names of ``split`` (what the card's ``data_files`` point at)."""
    return f"{split}-*.parquet"


def shard_path(config: str, name: str) -> str:
    """Path of a shard relative to the folder, with ``/`` (``data/<config>/<name>``)."""
    return f"{DATA_DIR}/{config}/{name}"


def report_path(folder: Path, config: str) -> Path:
    """``<folder>/reports/<config>.json``."""
    return folder / REPORTS_DIR / f"{config}.json"


def excluded_path(folder: Path, config: str) -> Path:
    """``<folder>/reports/<config>.excluded.csv``."""
    return folder / REPORTS_DIR / f"{config}.excluded.csv"


def ledger_path(folder: Path, config: str) -> Path:
    """``<folder>/reports/<config>.download_ledger.csv``."""
    return folder / REPORTS_DIR / f"{config}{LEDGER_SUFFIX}"


def duplicates_path(folder: Path) -> Path:
    """``<folder>/reports/duplicates.csv``."""
    return folder / REPORTS_DIR / DUPLICATES_FILE


#: Longest stem :func:`safe_stem` returns (suffixes such as ``.json`` come on top; file
#: systems allow 255 bytes).
MAX_STEM = 120
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")


def safe_stem(text: str, max_len: int = MAX_STEM) -> str:
    """A file-name stem made from an identifier, safe to join to any folder.

    Letters, digits, ``_``, ``-`` and ``.`` are kept; every other character (``/``, ``%``,
    NUL, spaces, non-ASCII...) is written as ``%XX`` per UTF-8 byte, and so is a leading
    ``.`` or ``-``: the stem is never ``.`` or ``..``, never hidden, never read as an
    option, and distinct identifiers give distinct stems. A stem longer than ``max_len``
    is cut and ends with ``~`` and 16 hex digits of the identifier's SHA-256 (still
    distinct). The empty identifier gives ``%``.

    Args:
        text: The identifier (any string).
        max_len: Longest stem returned (at least 32).
    """
    out = []
    for i, ch in enumerate(text):
        if ch in _PLAIN and not (i == 0 and ch in ".-"):
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
    stem = "".join(out) or "%"
    if len(stem) <= max_len:
        return stem
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    head = stem[: max(0, max(32, max_len) - 17)]
    cut = head.rfind("%", len(head) - 2)
    if cut != -1:  # never split a %XX escape
        head = head[:cut]
    return f"{head}~{digest}"
