"""The source registry: the list of source packages, and what the rest of the package asks
about sources (their configs, whether they carry pixels, their dedup priority, the label
crosswalk of them all).

Every built-in source is one package under ``builders/`` exporting ``SOURCE`` (a
:class:`~dance_aggregate.builders.base.Source`); adding one is writing its package and
adding it to :data:`BUILT_IN`. :func:`register` adds a source at run time (a plug-in, or a
test's own tiny source).

The order of the sources is the order of the ``source`` ClassLabel (part of the published
contract: append only; ``tests/test_schema.py`` holds the list).
"""

from __future__ import annotations

import threading

from dance_aggregate.builders import activitynet, aist, kinetics600, kinetics700, letsdance, ucf101, youtube8m
from dance_aggregate.builders.base import Config, Source
from dance_aggregate.errors import ConfigError
from dance_aggregate.taxonomy import Taxonomy, load_taxonomy

#: The built-in sources, in ``source`` ClassLabel order (append new ones at the end).
BUILT_IN: tuple[Source, ...] = tuple(
    m.SOURCE for m in (ucf101, activitynet, kinetics600, letsdance, youtube8m, aist, kinetics700))

_lock = threading.Lock()
_sources: list[Source] = list(BUILT_IN)
_taxonomy: Taxonomy | None = None


def register(source: Source) -> None:
    """Add a source (after the built-in ones: its name gets the next ``source`` index).

    Raises:
        ConfigError: a source or config of that name exists already.
        TaxonomyError: its crosswalk names labels or match kinds the taxonomy lacks.
    """
    global _taxonomy
    with _lock:
        taken = {c.name for s in _sources for c in s.configs} | {s.name for s in _sources}
        clash = sorted(({source.name} | {c.name for c in source.configs}) & taken)
        if clash:
            raise ConfigError(f"cannot register source {source.name!r}: {', '.join(clash)} already registered")
        load_taxonomy().with_crosswalks({source.name: source.crosswalk})  # a bad crosswalk fails now
        _sources.append(source)
        _taxonomy = None


def unregister(name: str) -> None:
    """Remove a source added with :func:`register` (built-in sources stay)."""
    global _taxonomy
    with _lock:
        if any(s.name == name for s in BUILT_IN):
            raise ConfigError(f"{name!r} is a built-in source; it cannot be unregistered")
        _sources[:] = [s for s in _sources if s.name != name]
        _taxonomy = None


def sources() -> tuple[Source, ...]:
    """Every source, in ClassLabel order."""
    return tuple(_sources)


def source_names() -> tuple[str, ...]:
    """The names of every source, in ``source`` ClassLabel order."""
    return tuple(s.name for s in _sources)


def source(name: str) -> Source:
    """The source called ``name``.

    Raises:
        ConfigError: for an unknown source, listing the known ones.
    """
    for s in _sources:
        if s.name == name:
            return s
    raise ConfigError(f"unknown source {name!r}; known sources: {', '.join(source_names())}")


def configs() -> tuple[Config, ...]:
    """Every config, in build order."""
    return tuple(c for s in _sources for c in s.configs)


def config_names() -> list[str]:
    """The names of every config, in build order."""
    return [c.name for c in configs()]


def get_config(name: str) -> Config:
    """The config called ``name``.

    Raises:
        ConfigError: for an unknown config, listing the known ones.
    """
    for c in configs():
        if c.name == name:
            return c
    raise ConfigError(f"unknown config {name!r}; known configs: {', '.join(config_names())}")


def default_configs(available_sources: set[str] | frozenset[str]) -> list[str]:
    """Configs a plain ``build`` makes when these sources have a ``--data-dir``."""
    return [c.name for c in configs() if c.default_build and c.source in available_sources]


def in_all(config: str) -> bool:
    """Whether the rows of ``config`` go into the ``all`` config (unknown configs do not)."""
    for s in _sources:
        for c in s.configs:
            if c.name == config:
                return c.in_all and s.has_pixels
    return False


def dedup_priority() -> tuple[str, ...]:
    """Source names, the one whose copy dedup keeps first (among equally good copies) first."""
    return tuple(s.name for s in sorted(_sources, key=lambda s: (s.dedup_priority, s.name)))


def taxonomy() -> Taxonomy:
    """The label schema with the crosswalk of every registered source."""
    global _taxonomy
    with _lock:
        if _taxonomy is None:
            _taxonomy = load_taxonomy().with_crosswalks({s.name: s.crosswalk for s in _sources})
        return _taxonomy
