"""Every option of every source, and every fetch option, is bounded: the cases are generated
from the ``Options`` dataclasses themselves, so a new option is checked the day it is added.

For each option: the default and the bounds pass; text that is not of its type, NaN and
infinities, values just past each bound and choices it does not have are refused with a
``ConfigError`` naming ``-o CONFIG.KEY``, the value and what is expected; and the fix the
message gives passes.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

import pytest

from dance_aggregate.bounds import BOUNDS, Bounds, check_value, describe, from_text, scalar_kind
from dance_aggregate.builders import registry
from dance_aggregate.errors import ConfigError
from dance_aggregate.fetch.options import FetchOptions

OPTIONS = [(cfg.name, f) for cfg in registry.configs() for f in dataclasses.fields(cfg.builder.Options)]
IDS = [f"{c}.{f.name}" for c, f in OPTIONS]


def bad_texts(kind: str, b: Bounds) -> list[str]:
    """Values of ``-o`` that must be refused for a field of ``kind`` with bounds ``b``."""
    out = {"bool": ["maybe", "2", ""], "int": ["abc", "1.5", "", "1e999", "9" * 5000],
           "float": ["abc", "nan", "inf", "-inf", "1e999", ""], "str": []}[kind]
    if kind in ("int", "float"):
        step = 1 if kind == "int" else 1e-6
        if b.min is not None and b.min - step not in b.special:
            out.append(repr(b.min - step) if kind == "float" else str(int(b.min) - 1))
        if b.min is not None and b.min_open:
            out.append(str(b.min))
        if b.max is not None:
            out.append(repr(b.max * 1.000001 + step) if kind == "float" else str(int(b.max) + 1))
    if b.choices:
        out.append("not-a-choice" if kind == "str" else str(max(b.choices) + 1))
    return out


@pytest.mark.parametrize(("config", "f"), OPTIONS, ids=IDS)
def test_every_number_option_has_bounds(config: str, f: dataclasses.Field) -> None:
    kind = scalar_kind(f.type)
    assert kind is not None, f"-o {config}.{f.name}: {f.type} is not a plain scalar; parse_options cannot check it"
    b = f.metadata.get(BOUNDS)
    if kind[0] in ("int", "float"):
        assert b is not None and (b.choices or (b.min is not None and b.max is not None)), \
            f"-o {config}.{f.name} is a number without bounds: declare them with bounded(default, min=..., max=...)"


@pytest.mark.parametrize(("config", "f"), OPTIONS, ids=IDS)
def test_bad_values_are_refused_naming_the_option_and_a_fix_that_passes(config: str, f: dataclasses.Field) -> None:
    builder = registry.get_config(config).builder
    kind, optional = scalar_kind(f.type)
    b = f.metadata.get(BOUNDS) or Bounds()
    for text in bad_texts(kind, b):
        with pytest.raises(ConfigError) as info:
            builder.parse_options({f.name: text})
        message = str(info.value)
        assert message.startswith(f"-o {config}.{f.name} must be {describe(kind, optional, b)}, got "), message
        assert "\n" not in message and len(message) < 400
        fix = re.search(rf"Fix: -o {config}\.{f.name}=(\S+)$", message)
        assert fix, message
        assert passes_bounds(builder, config, f.name, fix.group(1))  # the fix passes
    # the default, each bound, each choice and each special value pass
    good = [f.default, *b.choices, *b.special, *(v for v in (b.min, b.max) if v is not None and not (b.min_open and v == b.min))]
    for value in good:
        if value is None and not optional:
            continue
        text = "none" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        assert passes_bounds(builder, config, f.name, text), f"-o {config}.{f.name}={text}"


def passes_bounds(builder: Any, config: str, name: str, text: str) -> bool:
    """``-o CONFIG.NAME=TEXT`` passes the option's own bounds: it is accepted, or refused
    only by a check of one option against another (which names this one)."""
    try:
        builder.parse_options({name: text})
    except ConfigError as exc:
        message = str(exc)
        assert not message.startswith(f"-o {config}.{name} must be"), message
        assert name in message and "Fix: " in message, message
    return True


def test_nan_and_infinities_never_pass_a_float() -> None:
    for value in (math.nan, math.inf, -math.inf):
        with pytest.raises(ConfigError, match="finite number"):
            check_value("x", value, "float", False)
        with pytest.raises(ConfigError, match="finite number"):
            check_value("x", value, "float", True)
    assert from_text(" 2.5 ", "float", False, "x") == 2.5
    assert from_text("none", "int", True, "x") is None


def test_options_made_in_python_are_checked_too() -> None:
    anet = registry.get_config("activitynet").builder.Options
    with pytest.raises(ConfigError, match=r"max_window must be a finite number from 0.5 to 3600 \(seconds\), got 1e-09\. "
                                          r"Fix: ActivityNetOptions\(max_window=0.5\)"):
        anet(max_window=1e-9)
    with pytest.raises(ConfigError, match="whole number"):
        anet(max_windows_per_segment=2.5)
    with pytest.raises(ValueError):  # a ConfigError is a ValueError too
        anet(max_window=float("nan"))
    assert anet(max_window=2).max_window == 2.0 and isinstance(anet(max_window=2).max_window, float)


FETCH = [f for f in dataclasses.fields(FetchOptions) if scalar_kind(f.type) and scalar_kind(f.type)[0] in ("int", "float")]


@pytest.mark.parametrize("f", FETCH, ids=[f.name for f in FETCH])
def test_fetch_options_are_bounded(f: dataclasses.Field) -> None:
    b: Bounds = f.metadata[BOUNDS]
    assert b.min is not None and b.max is not None
    kind = scalar_kind(f.type)[0]
    bad: list[Any] = [math.nan, math.inf, "1", True, b.max * 2 + 1]
    if b.min > 0:
        bad.append(0)
    bad.append(b.min - 1)
    if kind == "int":
        bad.append(1.5)
    for value in bad:
        with pytest.raises(ConfigError) as info:
            FetchOptions(**{f.name: value})
        assert str(info.value).startswith(f"{f.name} must be "), str(info.value)
        fix = re.search(rf"Fix: FetchOptions\({f.name}=(.+)\)$", str(info.value))
        assert fix, str(info.value)
        FetchOptions(**{f.name: float(fix.group(1)) if kind == "float" else int(fix.group(1))})


def test_a_secret_field_is_never_shown_when_refused() -> None:
    with pytest.raises(ConfigError) as info:
        FetchOptions(proxy=b"http://user:hunter2@proxy:3128")  # type: ignore[arg-type]
    assert "hunter2" not in str(info.value) and "proxy must be text" in str(info.value)


def test_request_and_letsdance_short_sides_agree() -> None:
    from dance_aggregate.builders.letsdance.builder import MAX_SHORT_SIDE, MIN_SHORT_SIDE
    from dance_aggregate.pipeline import defaults

    assert (MIN_SHORT_SIDE, MAX_SHORT_SIDE) == (defaults.MIN_SHORT_SIDE, defaults.MAX_SHORT_SIDE)
