# Types of the names src/dance_aggregate/__init__.py imports on first use.
from dance_aggregate.api import BuildRequest as BuildRequest
from dance_aggregate.api import BuildResult as BuildResult
from dance_aggregate.api import build as build
from dance_aggregate.api import format_stats as format_stats
from dance_aggregate.api import label_schema as label_schema
from dance_aggregate.api import open_folder as open_folder
from dance_aggregate.api import publish as publish
from dance_aggregate.api import stats as stats
from dance_aggregate.errors import DanceAggregateError as DanceAggregateError
from dance_aggregate.fetch.options import FetchOptions as FetchOptions
from dance_aggregate.pipeline.hf_builder import DanceAggregate as DanceAggregate
from dance_aggregate.schema import features as features

__version__: str
__all__: list[str]
