"""Carrying out one source's plans in a test, as a build's worker does (no folder written)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dance_aggregate.builders.base import SourceBuilder
from dance_aggregate.pipeline.config import RunSettings
from dance_aggregate.pipeline.execute import ProduceContext, produce_record
from dance_aggregate.records import ClipRecord


def context(builder: SourceBuilder, output: Path, **settings: Any) -> ProduceContext:
    """The worker context of ``builder``'s config under a build into ``output``."""
    return RunSettings(output=output, progress=False, **settings).context(builder)


def produce_row(builder: SourceBuilder, record: ClipRecord, output: Path, **settings: Any) -> dict[str, Any]:
    """The row ``record`` becomes (raises the record's MediaError when it cannot be made)."""
    return produce_record(record, context(builder, output, **settings)).rows[0]
