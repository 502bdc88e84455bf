"""The ``datasets`` builder API over the same source builders.

datasets 5.x has no loading scripts, so the builder is a library class. Use it directly
when you want a cached ``datasets.Dataset`` without the CLI's output folder::

    from dance_aggregate.pipeline.hf_builder import DanceAggregate

    b = DanceAggregate(config_name="ucf101", data_dir="/data/UCF101", dataset_name="dance_aggregate")
    b.download_and_prepare()
    ds = b.as_dataset()

It is an Arrow-based builder (tables built with the shared Arrow schema), so it runs
without torch. Broken clips are skipped and logged; for the per-record accounting,
resumable parts and the Hub-ready folder use ``dance-aggregate build``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import datasets
import pyarrow as pa

from dance_aggregate.builders import BUILDERS, get_builder
from dance_aggregate.errors import DanceAggregateError, MediaError
from dance_aggregate.records import ClipRecord
from dance_aggregate.schema import features, rows_to_table

logger = logging.getLogger(__name__)

#: Rows per Arrow table yielded (video rows are large: keep batches small).
_BATCH = 16


@dataclass
class DanceAggregateConfig(datasets.BuilderConfig):
    """One config per source (``ucf101``, ...); ``options`` are the source builder's options
    as ``KEY=VALUE`` strings (the same as ``-o CONFIG.KEY=VALUE`` on the command line)."""

    options: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        get_builder(self.name)  # raises ConfigError for an unknown config


class DanceAggregate(datasets.ArrowBasedBuilder):
    """``datasets`` builder of the dance_aggregate configs (``data_dir`` = the source's raw files)."""

    BUILDER_CONFIG_CLASS = DanceAggregateConfig
    BUILDER_CONFIGS = [DanceAggregateConfig(name=name, description=cls.__doc__ or "") for name, cls in BUILDERS.items()]
    DEFAULT_CONFIG_NAME = next(iter(BUILDERS))

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(
            description="Dance clips aggregated from public action datasets (dance_aggregate).",
            features=features(),
        )

    def _source_builder(self):
        if not self.config.data_dir:
            cls = get_builder(self.config.name)
            raise DanceAggregateError(
                f"{self.config.name}: pass data_dir=... (the source's raw files). Expected layout:\n{cls.layout}"
            )
        cls = get_builder(self.config.name)
        return cls(self.config.data_dir, cls.parse_options(self.config.options))

    def _split_generators(self, dl_manager: Any) -> list[datasets.SplitGenerator]:
        builder = self._source_builder()
        plan = builder.plan()
        by_split: dict[str, list[ClipRecord]] = defaultdict(list)
        for r in sorted(plan.records, key=lambda r: r.id):
            by_split[r.split].append(r)
        logger.info("%s: %d records, %d excluded while reading annotations", self.config.name, len(plan.records), len(plan.exclusions))
        return [
            datasets.SplitGenerator(name=split, gen_kwargs={"records": recs, "builder": builder})
            for split, recs in sorted(by_split.items())
        ]

    def _generate_tables(self, records: list[ClipRecord], builder: Any) -> Iterator[tuple[Any, pa.Table]]:
        rows: list[dict[str, Any]] = []
        key = 0
        for record in records:
            try:
                if builder.expands_records:  # e.g. a YouTube-8M shard: many rows per record
                    rows.extend(builder.materialize_many(record)[0])
                else:
                    rows.append(builder.materialize(record))
            except MediaError as exc:
                logger.warning("%s: skipped (%s): %s", record.id, exc.reason, exc)
                continue
            if len(rows) >= _BATCH:
                yield key, rows_to_table(rows)
                key += 1
                rows = []
        if rows:
            yield key, rows_to_table(rows)
