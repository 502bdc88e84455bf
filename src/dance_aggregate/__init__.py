"""dance_aggregate: one clean dance-video dataset from five public sources.

The package turns raw source files (UCF101, ActivityNet 1.3, Kinetics-600, Let's Dance,
YouTube-8M) into a Hub-layout folder of Parquet shards plus a dataset card, which plain
``datasets.load_dataset`` reads. Nothing here imports torch.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
