# Types of the names src/dance_aggregate/__init__.py imports on first use.
from dance_aggregate.errors import DanceAggregateError as DanceAggregateError
from dance_aggregate.pipeline.build import build as build
from dance_aggregate.pipeline.hf_builder import DanceAggregate as DanceAggregate
from dance_aggregate.pipeline.request import BuildRequest as BuildRequest
from dance_aggregate.pipeline.request import BuildResult as BuildResult
from dance_aggregate.schema import features as features

__version__: str
__all__: list[str]
