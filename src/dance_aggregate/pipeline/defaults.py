"""Defaults of a build, in one place and import-free (the CLI's ``--help`` shows them)."""

from pathlib import Path

#: The dataset folder a build writes.
DEFAULT_OUTPUT = Path("dance_aggregate")
#: Clips per unit of work (one Parquet part; the resume granularity).
DEFAULT_PART_SIZE = 32
#: Worker processes.
DEFAULT_WORKERS = 1
