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

Nothing is left out silently: an argument the config would ignore (``data_dirs`` for a
source config; ``data_dir``, ``video_dir`` or ``options`` for ``all``; a source ``all`` does
not hold; a mirror of a source without its raw files) is a :class:`ConfigError`; a source
whose clips all lack their video (offline without a mirror, downloads failing) is an error
naming it, and one that lost some clips a warning with the count.
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
from dance_aggregate.fetch.ledger import FAILED_PREFIX, MISSING_OFFLINE
from dance_aggregate.fetch.options import DEFAULT_URL_TEMPLATE, FetchOptions
from dance_aggregate.output.layout import DATA_DIR
from dance_aggregate.pipeline.build import build
from dance_aggregate.pipeline.request import BuildRequest, BuildResult
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
        """The :class:`BuildRequest` this config stands for.

        Raises:
            ConfigError: an argument this config would ignore (``data_dirs`` for a source
                config, ``data_dir`` or ``options`` for ``all``, a source ``all`` does not
                hold, a mirror of a source without raw files): nothing is left out silently.
        """
        fetch = self.fetch or FetchOptions(url_template=self.url_template, offline=self.offline)
        if self.name == ALL_CONFIG:
            return BuildRequest(configs=self._all_configs(), data_dirs=self.data_dirs, video_dirs=self.video_dirs,
                                options={}, output=output, fetch=fetch, workers=self.workers, progress=False)
        if self.data_dirs or self.video_dirs:
            raise ConfigError(
                f"{self.name}: data_dirs= and video_dirs= are for config_name='all' (several sources); "
                f"{self.name} takes data_dir= (and video_dir=)"
            )
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


    def _all_configs(self) -> list[str]:
        """The source configs ``all`` is built from, once every argument is known to count.

        Raises:
            ConfigError: see :meth:`request`.
        """
        example = 'DanceAggregate(config_name="all", data_dirs={"ucf101": "/data/UCF101"})'
        if not self.data_dirs:
            raise ConfigError(f"all: pass data_dirs={{source: path}} for the pixel sources to combine, e.g. {example}")
        ignored = [f"{name}={value!r}" for name, value in (("data_dir", self.data_dir), ("video_dir", self.video_dir),
                                                            ("options", self.options)) if value]
        if ignored:
            raise ConfigError(
                f"all: {', '.join(ignored)} would be ignored: `all` combines several sources, so give "
                f"data_dirs={{source: path}} and video_dirs={{source: mirror}} (builder options: build the source "
                f"config with options=..., or use dance_aggregate.build)"
            )
        for source in [*self.data_dirs, *self.video_dirs]:
            registry.source(source)  # an unknown source fails with the list of known ones
        names = [n for n in registry.default_configs(set(self.data_dirs)) if registry.in_all(n)]
        left_out = sorted(s for s in self.data_dirs if not any(registry.get_config(n).source == s for n in names))
        if left_out:
            raise ConfigError(
                f"all: {', '.join(left_out)} would be left out: `all` holds the sources with video "
                f"({', '.join(sorted({registry.get_config(n).source for n in registry.config_names() if registry.in_all(n)}))}). "
                f"Build {', '.join(left_out)} as its own config (config_name=...), and drop it from data_dirs"
            )
        mirrors_only = sorted(set(self.video_dirs) - set(self.data_dirs))
        if mirrors_only:
            raise ConfigError(
                f"all: video_dirs names {', '.join(mirrors_only)}, which data_dirs lacks: a mirror is only read "
                f"with the source's annotation files; add data_dirs={{{mirrors_only[0]!r}: PATH}} or drop the mirror"
            )
        return names


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
        request = self.config.request(folder)
        result = build(request)
        if result.failures:
            raise DanceAggregateError(
                "; ".join(f"{f.config}: {f.error}" for f in result.failures) + f"\n(reports in {folder / 'reports'})"
            )
        check_videos_found(result, request, self.config.name)
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


def check_videos_found(result: BuildResult, request: BuildRequest, config: str) -> None:
    """Say which source lost clips for want of their video (not in the mirror, or not
    downloaded): a warning per source, and an error when a source gave no row at all,
    which ``config`` (``all`` above all) would otherwise hold silently without it.

    Raises:
        DanceAggregateError: a source built for ``config`` has no row, every clip of it
            lacking its video.
    """
    empty: list[str] = []
    details: list[str] = []
    for built in result.configs:
        acc = built.accounting
        lost = {r: n for r, n in acc.excluded.items() if r == MISSING_OFFLINE or r.startswith(FAILED_PREFIX)}
        if not lost:
            continue
        source = registry.get_config(built.config).source
        reasons = ", ".join(f"{r}: {n}" for r, n in sorted(lost.items(), key=lambda kv: -kv[1]))
        if request.fetch.offline:
            fix = f"put them in video_dirs[{source!r}] (offline, nothing is downloaded)"
        elif source in request.video_dirs:
            fix = "they are not in its mirror and their download failed; building again retries transient failures"
        else:
            fix = (f"no mirror was given (video_dirs[{source!r}]), so they were downloaded, and that failed; pass "
                   f"video_dirs={{{source!r}: PATH}} (and offline=True to never download)")
        what = f"{sum(lost.values())} of {acc.rows_written + sum(lost.values())} {built.config} clips have no video ({reasons})"
        if acc.rows_written == 0:
            empty.append(built.config)
            details.append(f"{what}: {fix}")
        else:
            logger.warning("%s: %s and are left out: %s (each is in reports/%s.excluded.csv under %s)",
                           config, what, fix, built.config, request.output)
    if empty:
        names = ", ".join(empty)
        raise DanceAggregateError(
            f"{config}: it would hold no row of {names}: {'; '.join(details)}"
            + (f". Or build it without {names} (leave it out of data_dirs)" if config == ALL_CONFIG else "")
        )
