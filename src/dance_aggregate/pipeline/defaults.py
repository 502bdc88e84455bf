"""Defaults of a build, in one place and import-free (the CLI's ``--help`` shows them)."""

from pathlib import Path

#: The dataset folder a build writes.
DEFAULT_OUTPUT = Path("dance_aggregate")
#: Clips per unit of work (one Parquet part; the resume granularity).
DEFAULT_PART_SIZE = 32
#: Worker processes.
DEFAULT_WORKERS = 1
#: The failure cap: it is looked at once this many plan records of a config have been tried ...
DEFAULT_FAILURE_MIN_RECORDS = 20
#: ... and stops the config when more than this share of them failed for one unexpected reason.
DEFAULT_MAX_FAILURE_SHARE = 0.8
