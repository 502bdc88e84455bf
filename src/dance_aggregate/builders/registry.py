"""The source registry: every fact about a source, declared once.

Each :class:`Source` says which configs it builds (and with which builder class), whether
its rows carry pixels (and so belong to the ``all`` config), its priority when dedup picks
the copy to keep, how its built-in sample is generated, and the provenance and licence
facts the dataset card shows. The CLI, the pipeline, dedup, the card and the sample all ask
this module; nothing else lists sources.

The order of :data:`SOURCES_IN_ORDER` is the order of the ``source`` ClassLabel
(:data:`dance_aggregate.schema.SOURCES`, part of the published contract); a test checks
that the two agree.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dance_aggregate.builders.activitynet import ActivityNetBuilder
from dance_aggregate.builders.base import SourceBuilder
from dance_aggregate.builders.kinetics import Kinetics600Builder, Kinetics600MotionBuilder
from dance_aggregate.builders.letsdance import LetsDanceBuilder
from dance_aggregate.builders.ucf101 import UCF101Builder
from dance_aggregate.builders.youtube import YouTubeSourceBuilder
from dance_aggregate.builders.youtube8m import YouTube8MBuilder
from dance_aggregate.errors import ConfigError


@dataclass(frozen=True)
class Config:
    """One builder config.

    Attributes:
        name: The config name (``data/<name>/`` in the output folder).
        builder: The builder class that builds it.
        default_build: Built by a plain ``dance-aggregate build`` when its source has a
            ``--data-dir`` (``kinetics600_motion`` is opt-in).
        in_all: Its rows go into the deduplicated ``all`` config.
    """

    name: str
    builder: type[SourceBuilder]
    default_build: bool = True
    in_all: bool = True

    @property
    def source(self) -> str:
        """The source the config is built from."""
        return self.builder.source

    @property
    def fetches_media(self) -> bool:
        """Whether its videos come from a mirror or YouTube (fetch options apply)."""
        return issubclass(self.builder, YouTubeSourceBuilder)


@dataclass(frozen=True)
class Source:
    """One public dataset and everything the project knows about it.

    Attributes:
        name: Source name (the ``source`` column, the ``--data-dir`` key).
        title: Display name.
        homepage: Where the source is distributed.
        license: Its terms, in words (shown in the card and ``LICENSE.md``).
        license_id: The Hub licence id closest to those terms (``other`` when none fits).
        citation: How to cite it.
        has_pixels: Rows carry video (YouTube-8M rows carry features only).
        configs: The configs built from it.
        sample_maker: ``module:function`` that writes its built-in sample raw tree.
    """

    name: str
    title: str
    homepage: str
    license: str
    license_id: str
    citation: str
    has_pixels: bool
    configs: tuple[Config, ...]
    sample_maker: str

    def make_sample(self, root: Path) -> Any:
        """Write this source's miniature raw tree under ``root`` and return its
        ``dance_aggregate.sample.makers.SampleSource`` (the sample package is loaded by name:
        it consumes this registry, never the other way round)."""
        module, _, func = self.sample_maker.partition(":")
        maker: Callable[[Path], Any] = getattr(importlib.import_module(module), func)
        return maker(root)

    def card_facts(self) -> dict[str, Any]:
        """Provenance and licence facts for the dataset card."""
        return {"name": self.title, "homepage": self.homepage, "license": self.license,
                "license_id": self.license_id, "citation": self.citation}


_MAKERS = "dance_aggregate.sample.makers"

#: Every source, in the order of the ``source`` ClassLabel.
SOURCES_IN_ORDER: tuple[Source, ...] = (
    Source(
        name="ucf101",
        title="UCF101",
        homepage="https://www.crcv.ucf.edu/data/UCF101.php",
        license="research use (released by UCF CRCV, no explicit licence)",
        license_id="other",
        citation="Soomro, Zamir, Shah. UCF101: A Dataset of 101 Human Actions Classes From Videos in The Wild. "
        "CRCV-TR-12-01, 2012.",
        has_pixels=True,
        configs=(Config("ucf101", UCF101Builder),),
        sample_maker=f"{_MAKERS}:make_ucf101",
    ),
    Source(
        name="activitynet",
        title="ActivityNet 1.3",
        homepage="http://activity-net.org/",
        license="annotations MIT (activitynet/ActivityNet repository); videos remain with their YouTube uploaders",
        license_id="mit",
        citation="Caba Heilbron, Escorcia, Ghanem, Niebles. ActivityNet: A Large-Scale Video Benchmark for Human "
        "Activity Understanding. CVPR 2015.",
        has_pixels=True,
        configs=(Config("activitynet", ActivityNetBuilder),),
        sample_maker=f"{_MAKERS}:make_activitynet",
    ),
    Source(
        name="kinetics600",
        title="Kinetics-600",
        homepage="https://github.com/google-deepmind/kinetics-i3d",
        license="annotations CC BY 4.0 (DeepMind); videos remain with their YouTube uploaders",
        license_id="cc-by-4.0",
        citation="Carreira, Noland, Banki-Horvath, Hillier, Zisserman. A Short Note about Kinetics-600. "
        "arXiv:1808.01340, 2018.",
        has_pixels=True,
        configs=(
            Config("kinetics600", Kinetics600Builder),
            # The non-dance body-motion classes: opt-in, never part of `all`.
            Config("kinetics600_motion", Kinetics600MotionBuilder, default_build=False, in_all=False),
        ),
        sample_maker=f"{_MAKERS}:make_kinetics600",
    ),
    Source(
        name="letsdance",
        title="Let's Dance",
        homepage="https://www.cc.gatech.edu/cpl/projects/dance/",
        license="research use (Georgia Tech); frames from YouTube videos",
        license_id="other",
        citation="Castro, Hickson, Sangkloy, Mittal, Dai, Hays, Essa. Let's Dance: Learning From Online Dance Videos. "
        "arXiv:1801.07388, 2018.",
        has_pixels=True,
        configs=(Config("letsdance", LetsDanceBuilder),),
        sample_maker=f"{_MAKERS}:make_letsdance",
    ),
    Source(
        name="youtube8m",
        title="YouTube-8M",
        homepage="https://research.google.com/youtube8m/",
        license="CC BY 4.0 (Google)",
        license_id="cc-by-4.0",
        citation="Abu-El-Haija, Kothari, Lee, Natsev, Toderici, Varadarajan, Vijayanarasimhan. YouTube-8M: A "
        "Large-Scale Video Classification Benchmark. arXiv:1609.08675, 2016.",
        has_pixels=False,
        configs=(Config("youtube8m", YouTube8MBuilder, in_all=False),),
        sample_maker=f"{_MAKERS}:make_youtube8m",
    ),
)

#: When dedup finds copies of one clip that are equally good (same length, size and audio),
#: the copy of the first source here is kept: sources whose clips are trimmed to the labelled
#: action first, frames-only Let's Dance last.
DEDUP_PRIORITY: tuple[str, ...] = ("kinetics600", "activitynet", "ucf101", "letsdance", "youtube8m")

_BY_NAME = {s.name: s for s in SOURCES_IN_ORDER}
_CONFIGS = {c.name: c for s in SOURCES_IN_ORDER for c in s.configs}


def sources() -> tuple[Source, ...]:
    """Every source, in ClassLabel order."""
    return SOURCES_IN_ORDER


def source(name: str) -> Source:
    """The source called ``name``.

    Raises:
        ConfigError: for an unknown source, listing the known ones.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise ConfigError(f"unknown source {name!r}; known sources: {', '.join(_BY_NAME)}") from None


def configs() -> tuple[Config, ...]:
    """Every config, in build order."""
    return tuple(_CONFIGS.values())


def config_names() -> list[str]:
    """The names of every config, in build order."""
    return list(_CONFIGS)


def get_config(name: str) -> Config:
    """The config called ``name``.

    Raises:
        ConfigError: for an unknown config, listing the known ones.
    """
    try:
        return _CONFIGS[name]
    except KeyError:
        raise ConfigError(
            f"unknown config {name!r}; known configs: {', '.join(_CONFIGS)}"
        ) from None


def default_configs(available_sources: set[str] | frozenset[str]) -> list[str]:
    """Configs a plain ``build`` makes when these sources have a ``--data-dir``."""
    return [c.name for c in _CONFIGS.values() if c.default_build and c.source in available_sources]


def in_all(config: str) -> bool:
    """Whether the rows of ``config`` go into the ``all`` config (unknown configs do not)."""
    c = _CONFIGS.get(config)
    return c is not None and c.in_all and _BY_NAME[c.source].has_pixels
