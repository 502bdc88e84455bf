"""The ``datasets`` builder API over the same pipeline as ``dance-aggregate build``.

datasets 5.x has no loading scripts, so the builder is a library class. Use it when you
want a cached ``datasets.Dataset`` rather than the Hub-layout folder::

    from dance_aggregate import DanceAggregate

    b = DanceAggregate(config_name="ucf101", data_dir="/data/UCF101", dataset_name="dance_aggregate")
    b.download_and_prepare()
    ds = b.as_dataset()

    # Sources that list YouTube ids: a local mirror, offline (or fetch options)
    b = DanceAggregate(config_name="kinetics600", data_dir="/data/k600", video_dir="/data/k600/videos",
                       offline=True, dataset_name="dance_aggregate")

    # The deduplicated `all` config needs every pixel source's raw files
    b = DanceAggregate(config_name="all", data_dirs={"ucf101": "/data/UCF101", "kinetics600": "/data/k600"},
                       video_dirs={"kinetics600": "/data/k600/videos"}, dataset_name="dance_aggregate")

``download_and_prepare`` runs :func:`dance_aggregate.build` (same builders, units, dedup,
split rule and accounting, resumable) into a pipeline folder under the ``datasets`` cache
(``output=`` to choose it), then hands the built config's shards to ``datasets``. Build
failures raise; the reports stay in the pipeline folder. It is an Arrow-based builder, so
it runs without torch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
import pyarrow.parquet as pq

from dance_aggregate.builders import registry
from dance_aggregate.errors import ConfigError, DanceAggregateError
from dance_aggregate.fetch.options import DEFAULT_URL_TEMPLATE, FetchOptions
from dance_aggregate.output.layout import DATA_DIR
from dance_aggregate.pipeline.build import build
from dance_aggregate.pipeline.request import BuildRequest
from dance_aggregate.records import ALL_CONFIG
from dance_aggregate.schema import SPLITS, arrow_schema, features

logger = logging.getLogger(__name__)

#: Rows per Arrow table yielded (video rows are large: keep batches small).
_BATCH = 16


@dataclass
class DanceAggregateConfig(datasets.BuilderConfig):
    """One config per source (``ucf101``, ...) plus ``all``.

    Attributes:
        options: The source builder's options as ``KEY: VALUE`` strings (as ``-o CONFIG.KEY=VALUE``).
        video_dir: Local mirror of the source's videos (``--video-dir``).
        data_dirs: For ``all``: source -> raw files of every pixel source to combine.
        video_dirs: For ``all``: source -> local mirror.
        offline: Use the mirror only; never download (``--offline``).
        url_template: Where videos are fetched from (``--url-template``).
        fetch: Full fetch options (cookies, proxy, retries...); overrides ``offline`` and
            ``url_template``. Not a plain value, so ``datasets`` hashes it into the cache
            folder name instead of spelling it out.
        workers: Worker processes of the pipeline.
        output: The pipeline's Hub-layout folder (default: under the ``datasets`` cache).
    """

    options: dict[str, str] = field(default_factory=dict)
    video_dir: str | None = None
    data_dirs: dict[str, str] = field(default_factory=dict)
    video_dirs: dict[str, str] = field(default_factory=dict)
    offline: bool = False
    url_template: str = DEFAULT_URL_TEMPLATE
    fetch: FetchOptions | None = None
    workers: int = 1
    output: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.name != ALL_CONFIG:
            registry.get_config(self.name)  # raises ConfigError for an unknown config

    def request(self, output: Path) -> BuildRequest:
        """The :class:`BuildRequest` this config stands for."""
        fetch = self.fetch or FetchOptions(url_template=self.url_template, offline=self.offline)
        if self.name == ALL_CONFIG:
            if not self.data_dirs:
                raise ConfigError(
                    "all: pass data_dirs={source: path} for the pixel sources to combine, e.g. "
                    'DanceAggregate(config_name="all", data_dirs={"ucf101": "/data/UCF101"})'
                )
            names = registry.default_configs(set(self.data_dirs))
            return BuildRequest(configs=[n for n in names if registry.in_all(n)], data_dirs=self.data_dirs,
                                video_dirs=self.video_dirs, options={}, output=output, fetch=fetch,
                                workers=self.workers, progress=False)
        source = registry.get_config(self.name).source
        if not self.data_dir:
            layout = registry.get_config(self.name).builder.layout
            raise ConfigError(f"{self.name}: pass data_dir=... (the source's raw files). Expected layout:\n{layout}")
        return BuildRequest(
            configs=[self.name],
            data_dirs={source: self.data_dir},
            video_dirs={source: self.video_dir} if self.video_dir else {},
            options={self.name: self.options} if self.options else {},
            output=output,
            fetch=fetch,
            workers=self.workers,
            progress=False,
        )


class DanceAggregate(datasets.ArrowBasedBuilder):
    """``datasets`` builder of the dance_aggregate configs, through the build pipeline."""

    BUILDER_CONFIG_CLASS = DanceAggregateConfig
    BUILDER_CONFIGS = [
        *(DanceAggregateConfig(name=c.name, description=c.builder.__doc__ or "") for c in registry.configs()),
        DanceAggregateConfig(name=ALL_CONFIG, description="Every pixel source, deduplicated, splits without leaks."),
    ]
    DEFAULT_CONFIG_NAME = registry.config_names()[0]

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description="Dance clips aggregated from public action datasets (dance_aggregate).",
            features=features(),
        )

    def pipeline_folder(self) -> Path:
        """Where the pipeline writes its Hub-layout folder for this config."""
        if self.config.output:
            return Path(self.config.output)
        return Path(self._cache_dir_root) / "dance_aggregate-pipeline" / self.config_id / "dance_aggregate"

    def _split_generators(self, dl_manager: Any) -> list[datasets.SplitGenerator]:
        folder = self.pipeline_folder()
        result = build(self.config.request(folder))
        if result.failures:
            raise DanceAggregateError(
                "; ".join(f"{f.config}: {f.error}" for f in result.failures) + f"\n(reports in {folder / 'reports'})"
            )
        base = folder / DATA_DIR / self.config.name
        gens = []
        for split in SPLITS:
            files = sorted(base.glob(f"{split}-*.parquet"))
            if files:
                gens.append(datasets.SplitGenerator(name=split, gen_kwargs={"files": [str(f) for f in files]}))
        logger.info("%s: built in %s (%s)", self.config.name, folder, ", ".join(g.name for g in gens) or "no rows")
        return gens

    def _generate_tables(self, files: list[str]) -> Iterator[tuple[Any, pa.Table]]:
        schema = arrow_schema()
        for i, path in enumerate(files):
            for j, batch in enumerate(pq.ParquetFile(path).iter_batches(batch_size=_BATCH)):
                yield (i, j), pa.Table.from_batches([batch]).cast(schema)
