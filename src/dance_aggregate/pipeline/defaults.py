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

# Bounds of the request's numbers (a value outside is refused with the field's name).
#: Most worker processes (or CPUs of a local Ray instance): more than any one machine has.
MAX_WORKERS = 1024
#: Most clips per unit: a unit's part is held in memory before it is written.
MAX_PART_SIZE = 10_000
#: Most shards per split: the three splits of a config stay under the 10,000 entries a folder
#: that the Hub recommends (huggingface.co/docs/hub/repositories-recommendations).
MAX_SHARDS = 3_000
#: Short sides a clip may be stored at (``--max-short-side``; 0 keeps the source size).
MIN_SHORT_SIDE, MAX_SHORT_SIDE = 16, 8192
#: Largest ``--failure-min-records`` (a larger one turns the cap off: ``--max-failure-share 1`` says so).
MAX_FAILURE_MIN_RECORDS = 1_000_000_000
