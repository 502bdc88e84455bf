"""Source builders, one module per source, and the registry of configs.

``BUILDERS`` maps each config name to its builder class. A config is built by
``dance-aggregate build CONFIG --data-dir SOURCE=PATH``.
"""

from __future__ import annotations

from dance_aggregate.builders.activitynet import ActivityNetBuilder
from dance_aggregate.builders.base import SourceBuilder
from dance_aggregate.builders.kinetics import Kinetics600Builder, Kinetics600MotionBuilder
from dance_aggregate.builders.letsdance import LetsDanceBuilder
from dance_aggregate.builders.ucf101 import UCF101Builder
from dance_aggregate.builders.youtube8m import YouTube8MBuilder
from dance_aggregate.errors import ConfigError

#: Config name -> builder class, in build order.
BUILDERS: dict[str, type[SourceBuilder]] = {
    UCF101Builder.config_name: UCF101Builder,
    ActivityNetBuilder.config_name: ActivityNetBuilder,
    Kinetics600Builder.config_name: Kinetics600Builder,
    Kinetics600MotionBuilder.config_name: Kinetics600MotionBuilder,
    LetsDanceBuilder.config_name: LetsDanceBuilder,
    YouTube8MBuilder.config_name: YouTube8MBuilder,
}


def get_builder(config_name: str) -> type[SourceBuilder]:
    """The builder class of ``config_name``.

    Raises:
        ConfigError: for an unknown config, listing the known ones.
    """
    try:
        return BUILDERS[config_name]
    except KeyError:
        raise ConfigError(
            f"unknown config {config_name!r}; known configs: {', '.join(BUILDERS)} "
            f"(run `dance-aggregate build --help`)"
        ) from None
