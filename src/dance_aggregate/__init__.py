"""dance_aggregate: one clean dance-video dataset from five public sources.

The package turns raw source files (UCF101, ActivityNet 1.3, Kinetics-600, Let's Dance,
YouTube-8M) into a Hub-layout folder of Parquet shards plus a dataset card, which plain
``datasets.load_dataset`` reads. Nothing here imports torch.

The Python API is the command line's, as functions::

    import dance_aggregate as da

    result = da.build(sample=True, output="dance_aggregate", progress=False)   # = dance-aggregate build --sample
    print(result.accounting()["all"].summary())

- :func:`build` / :class:`BuildRequest` / :class:`BuildResult`: the whole build;
- :func:`open_folder`: a built folder, read once (configs, shards, reports);
- :func:`stats`: counts per config, split and label;
- :func:`publish`: check a built folder and push it to the Hugging Face Hub;
- :func:`label_schema`: the label schema with every source's crosswalk;
- :func:`features`: the ``datasets.Features`` every config shares;
- :class:`DanceAggregate`: the ``datasets`` builder class over the same pipeline.

Names are imported on first use, so ``import dance_aggregate`` stays light and every module
of the package may import ``__version__`` from here (``__init__.pyi`` types the names).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: Public name -> module that defines it.
_EXPORTS = {
    "build": "dance_aggregate.api",
    "BuildRequest": "dance_aggregate.api",
    "BuildResult": "dance_aggregate.api",
    "open_folder": "dance_aggregate.api",
    "stats": "dance_aggregate.api",
    "format_stats": "dance_aggregate.api",
    "publish": "dance_aggregate.api",
    "label_schema": "dance_aggregate.api",
    "features": "dance_aggregate.schema",
    "FetchOptions": "dance_aggregate.fetch.options",
    "DanceAggregate": "dance_aggregate.pipeline.hf_builder",
    "DanceAggregateError": "dance_aggregate.errors",
}

__all__ = ["BuildRequest", "BuildResult", "DanceAggregate", "DanceAggregateError", "FetchOptions", "__version__", "build",
           "features", "format_stats", "open_folder", "publish", "stats", "label_schema"]

def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dance_aggregate' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
