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

Identifiers from source files never become file names as they are: they go through
:func:`dance_aggregate.files.names.safe_stem` first.
"""

from __future__ import annotations

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
