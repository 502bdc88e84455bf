"""Checks of the fields of a :class:`~dance_aggregate.pipeline.request.BuildRequest` that are
not plain scalars: config lists, ``SOURCE=PATH`` mappings, options, paths, the runner, the
fetch options, and the field names of ``dance_aggregate.build(**fields)``.

Every refusal is a :class:`~dance_aggregate.errors.ConfigError` naming the field (and its
command-line flag), the value seen, what is expected and the fix. Local paths are made
absolute here, when the request is made, so every runner (a Ray worker started in another
folder) sees the same files.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from dance_aggregate.bounds import BOUNDS, ValueRefused, shown
from dance_aggregate.errors import ConfigError
from dance_aggregate.fetch.options import FetchOptions

#: The command-line flag of each request field (for the fix in messages).
FLAGS = {
    "configs": "CONFIGS", "data_dirs": "--data-dir", "video_dirs": "--video-dir", "options": "-o",
    "output": "--output", "cache_dir": "--cache-dir", "workers": "--workers", "part_size": "--part-size",
    "runner": "--runner", "ray_address": "--ray-address", "work_dir": "--work-dir",
    "max_short_side": "--max-short-side", "shards": "--shards", "failure_min_records": "--failure-min-records",
    "max_failure_share": "--max-failure-share", "pretraining_ids": "--pretraining-ids",
}
#: Option values a request may give from Python (text is what ``-o`` gives).
_OPTION_VALUE_TYPES = (str, bool, int, float)


def named(field: str) -> str:
    """A field as messages name it: ``shards (--shards)``."""
    flag = FLAGS.get(field)
    return f"{field} ({flag})" if flag and flag != "CONFIGS" else field


def scalar_fix(field: str, value: Any) -> str:
    """The fix of a scalar field: ``shards=2 (--shards 2)``."""
    flag = FLAGS.get(field)
    return f"{field}={value!r}" + (f" (on the command line: {flag} {value})" if flag and value is not None else "")


def absolute(value: str | os.PathLike[str]) -> str:
    """``value`` as an absolute path (``~`` expanded, ``..`` folded, links kept), made
    against this process's current folder."""
    return os.path.abspath(os.path.expanduser(os.fspath(value)))


def local_path(field: str, value: Any) -> Path:
    """A path field made absolute.

    Raises:
        ConfigError: not a ``str`` or path, empty, or holding a NUL byte.
    """
    return Path(absolute(_path_text(named(field), value, f"{field}='/data/dance_aggregate'")))


def _path_text(name: str, value: Any, fix: str) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise ConfigError(f"{name} must be a path (text or pathlib.Path, not empty), got {shown(value)}. Fix: {fix}")
    return value


def work_dir(value: Any) -> str | None:
    """``work_dir``: a URL as given (``s3://bucket/run1``), a local path made absolute."""
    if value is None:
        return None
    text = _path_text(named("work_dir"), value, "work_dir='/shared/run1' or work_dir='s3://bucket/run1'")
    return text if "://" in text else absolute(text)


def config_list(value: Any) -> tuple[str, ...]:
    """``configs`` as a tuple of names; one name given as text is one config (``configs='ucf101'``).

    Raises:
        ConfigError: not text or a list of text.
    """
    if isinstance(value, str):
        value = (value,)
    fix = "configs=['ucf101', 'kinetics600'] (empty: every config with a data dir)"
    if isinstance(value, (Mapping, bytes)) or not isinstance(value, Iterable):
        raise ConfigError(f"{named('configs')} must be a list of config names, got {shown(value)}. Fix: {fix}")
    names = list(value)
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{named('configs')}: {shown(name)} in {shown(names)} is not a config name. Fix: {fix}")
        if "," in name or " " in name.strip():
            parts = [p for p in name.replace(",", " ").split() if p]
            raise ConfigError(f"{named('configs')}: {name!r} is one name holding several; give them apart. "
                              f"Fix: configs={parts!r}")
    return tuple(dict.fromkeys(n.strip() for n in names))  # a name given twice is built once


def path_map(field: str, value: Any, key_noun: str, example: tuple[str, str]) -> dict[str, str]:
    """A ``SOURCE=PATH`` mapping (``data_dirs``, ``video_dirs``, ``pretraining_ids``) with
    every path made absolute.

    Raises:
        ConfigError: not a mapping of text to paths.
    """
    key, path = example
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        pairs = _pairs(value)
        fix = f"{field}={pairs!r}" if pairs else f"{field}={{{key!r}: {path!r}}}"
        raise ConfigError(f"{named(field)} must be a mapping of {key_noun} to path, got {shown(value)}. Fix: {fix}")
    out = {}
    for k, v in value.items():
        if not isinstance(k, str) or not k.strip():
            raise ConfigError(f"{named(field)}: key {shown(k)} is not a {key_noun}. Fix: {field}={{{key!r}: {path!r}}}")
        out[k.strip()] = absolute(_path_text(f"{named(field)}[{k!r}]", v, f"{field}={{{k!r}: {path!r}}}"))
    return out


def _pairs(value: Any) -> dict[str, str] | None:
    """``['ucf101=/data/UCF101']`` as ``{'ucf101': '/data/UCF101'}`` (the CLI's form), or ``None``."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value:
        return None
    out = {}
    for item in value:
        k, sep, v = item.partition("=") if isinstance(item, str) else ("", "", "")
        if not sep or not k or not v:
            return None
        out[k] = v
    return out


def option_map(value: Any) -> dict[str, dict[str, Any]]:
    """``options``: config -> ``{key: value}`` (text as ``-o`` gives it, or a number or bool).

    Raises:
        ConfigError: not a mapping of config names to mappings of option names to values.
    """
    fix = "options={'ucf101': {'fold': '2'}} (on the command line: -o ucf101.fold=2)"
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{named('options')} must be a mapping of config to {{option: value}}, got {shown(value)}. Fix: {fix}")
    out: dict[str, dict[str, Any]] = {}
    for config, values in value.items():
        if not isinstance(config, str):
            raise ConfigError(f"{named('options')}: key {shown(config)} is not a config name. Fix: {fix}")
        if "." in config and isinstance(values, (str, *_OPTION_VALUE_TYPES)):
            cfg, _, key = config.partition(".")
            raise ConfigError(f"{named('options')}: {config!r} is -o's form; in Python the config and the option are "
                              f"two keys. Fix: options={{{cfg!r}: {{{key!r}: {str(values)!r}}}}}")
        if not isinstance(values, Mapping):
            pairs = _pairs(values)
            better = f"options={{{config!r}: {pairs!r}}}" if pairs else fix
            raise ConfigError(f"options[{config!r}] must be a mapping of option to value, got {shown(values)}. "
                              f"Fix: {better}")
        for k, v in values.items():
            if not isinstance(k, str) or not isinstance(v, _OPTION_VALUE_TYPES):
                raise ConfigError(f"-o {config}.{k}: the value must be text, a number or a bool, got {shown(v)}. "
                                  f"Fix: options={{{config!r}: {{{str(k)!r}: '...'}}}}")
        out[config] = dict(values)
    return out


def absolute_option_paths(options: dict[str, dict[str, Any]], options_class: Callable[[str], type]) -> None:
    """Make the path-valued options (fields declared ``bounded(..., path=True)``, such as
    ``-o letsdance.splits=DIR``) absolute in place; ``options_class(config)`` gives a config's
    ``Options`` dataclass."""
    for config, values in options.items():
        paths = {f.name for f in dataclasses.fields(options_class(config)) if getattr(f.metadata.get(BOUNDS), "path", False)}
        for key in paths & set(values):
            if isinstance(values[key], str) and values[key].strip():
                values[key] = absolute(values[key])


def fetch_options(value: Any) -> FetchOptions:
    """``fetch``: a :class:`FetchOptions`, or a mapping of its fields.

    Raises:
        ConfigError: anything else, or a mapping with an unknown key.
    """
    if isinstance(value, FetchOptions):
        return value
    if value is None:
        return FetchOptions()
    known = [f.name for f in dataclasses.fields(FetchOptions)]
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in known]
        if unknown:
            close = difflib.get_close_matches(str(unknown[0]), known, n=1)
            raise ConfigError(f"fetch: unknown field {unknown[0]!r} of FetchOptions; the fields are {', '.join(known)}"
                              + (f". Fix: {close[0]}=..." if close else ". Fix: fetch=FetchOptions(...)"))
        try:
            return FetchOptions(**value)
        except ValueRefused as exc:
            key = exc.field
            raise exc.renamed(f"fetch[{key!r}]", lambda v: f"fetch={{{key!r}: {v!r}}}") from None
    raise ConfigError(f"fetch must be a FetchOptions, got {shown(value)}. "
                      "Fix: fetch=FetchOptions(offline=True) (from dance_aggregate import FetchOptions)")


def check_runner(value: Any, runners: tuple[str, ...]) -> None:
    """``runner``: a name in ``runners`` or an object with ``workers`` and ``run(fn, units)``.

    Raises:
        ConfigError: anything else.
    """
    if isinstance(value, str):
        if value not in runners:
            raise ConfigError(f"unknown runner {value!r}; expected one of {', '.join(runners)}. "
                              f"Fix: runner={runners[0]!r} (on the command line: --runner {runners[0]})")
        return
    if not callable(getattr(value, "run", None)) or not isinstance(getattr(value, "workers", None), int):
        raise ConfigError(f"runner must be one of {', '.join(map(repr, runners))} or a runner object (with workers and "
                          f"run(fn, units), see dance_aggregate.pipeline.runners.Runner), got {shown(value)}. "
                          f"Fix: runner={runners[0]!r}")


def check_field_names(names: Iterable[str], known: list[str]) -> None:
    """The keywords of ``build(**fields)`` are fields of a request.

    Raises:
        ConfigError: an unknown name, with the closest field and the list of them.
    """
    for name in names:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            raise ConfigError(
                f"build(): unknown field {name!r}" + (f"; did you mean {close[0]!r}?" if close else "")
                + f" The fields of a BuildRequest are: {', '.join(known)} (help(dance_aggregate.BuildRequest))"
            )
