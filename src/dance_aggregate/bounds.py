"""Fields with bounds: declare a value's type and range once, check it in one place.

Options reach the library from a command line, a Python call or a config file, so every
field of an options dataclass (a builder's ``Options``, :class:`~dance_aggregate.fetch.options.FetchOptions`,
:class:`~dance_aggregate.pipeline.request.BuildRequest`) is checked the same way::

    @dataclass
    class ActivityNetOptions(SourceOptions):
        max_window: float = bounded(10.0, min=0.5, max=3600.0, unit="seconds")

:func:`check_fields` checks each field whose annotation is a plain scalar (``bool``,
``int``, ``float``, ``str``, each optionally ``| None``): its type (``True`` is not a
number, ``2.5`` is not a whole number, text is not a number), that a float is finite (NaN
and infinities never pass), and the field's :class:`Bounds` (range, allowed choices,
special values outside the range such as ``0`` = keep the source size). :func:`from_text`
reads the ``KEY=VALUE`` text of ``-o CONFIG.KEY=VALUE`` into that type first. A refused
value raises :class:`ValueRefused`: a :class:`~dance_aggregate.errors.ConfigError` whose
message names the field, the value seen, what is expected and a value that would pass.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dance_aggregate.errors import ConfigError

__all__ = ["Bounds", "ValueRefused", "bounded", "check_fields", "check_value", "describe", "from_text", "scalar_kind", "shown"]

#: The metadata key of a field's :class:`Bounds`.
BOUNDS = "bounds"
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
_NO_SUGGESTION = object()


@dataclass(frozen=True)
class Bounds:
    """What a scalar field accepts beyond its type.

    Attributes:
        min: Smallest value of the range (numbers).
        min_open: ``min`` itself is refused (a share that must be above 0).
        max: Largest value of the range (numbers).
        choices: The only values accepted (when given).
        special: Values accepted outside the range, with what they mean (``{0: "keep the
            source size"}``).
        none: What ``None`` means, for a field that may be ``None``.
        unit: The unit of a number, in words (``"seconds"``, ``"pixels"``).
        path: The value is a local path: made absolute when a request is made.
        example: A value to show in the fix when neither a bound nor the default is one.
    """

    min: float | None = None
    max: float | None = None
    min_open: bool = False
    choices: tuple[Any, ...] = ()
    special: Mapping[Any, str] = field(default_factory=dict)
    none: str = ""
    unit: str = ""
    path: bool = False
    example: Any = None


def bounded(default: Any = dataclasses.MISSING, **bounds: Any) -> Any:
    """A dataclass field with :class:`Bounds` (keywords as its attributes) in its metadata."""
    return field(default=default, metadata={BOUNDS: Bounds(**bounds)})


class ValueRefused(ConfigError):
    """A field's value is of the wrong type or out of its bounds.

    Attributes:
        field: The field's name (``max_short_side``).
        value: The value seen.
        expected: What the field accepts, in words.
        suggestion: A value that would pass (the nearest bound, or the default).
    """

    def __init__(self, name: str, value: Any, expected: str, suggestion: Any = _NO_SUGGESTION, *,
                 field_name: str | None = None, fix: str | None = None) -> None:
        self.field = field_name or name
        self.value, self.expected, self.suggestion = value, expected, suggestion
        if fix is None and suggestion is not _NO_SUGGESTION:
            fix = f"{name}={suggestion!r}"
        super().__init__(f"{name} must be {expected}, got {shown(value)}" + (f". Fix: {fix}" if fix else ""))

    def renamed(self, name: str, fix: Callable[[Any], str] | None = None, value: Any = _NO_SUGGESTION) -> ValueRefused:
        """The same refusal under another name (``-o letsdance.max_short_side``), with a fix
        written for that place (``fix(suggestion)``) and, optionally, the value as given there."""
        has = self.suggestion is not _NO_SUGGESTION
        return ValueRefused(name, self.value if value is _NO_SUGGESTION else value, self.expected, self.suggestion,
                            field_name=self.field, fix=fix(self.suggestion) if fix and has else None)


class _Hidden:
    """A value that must not be printed: shown as its type only."""

    def __init__(self, value: Any) -> None:
        self.kind = type(value).__name__

    def __repr__(self) -> str:
        return f"a {self.kind} (not shown)"


def shown(value: Any, limit: int = 80) -> str:
    """``value`` for a message: its repr, cut, and its type when that is not obvious from it."""
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    if isinstance(value, (bool, int, float, type(None), _Hidden)):
        return text
    kind = {str: "text", list: "a list", tuple: "a tuple", dict: "a dict", set: "a set"}.get(type(value))
    return f"{text} ({kind or 'a ' + type(value).__name__})"


def scalar_kind(annotation: Any) -> tuple[str, bool] | None:
    """``("int", optional)`` for an annotation such as ``int | None`` (a type or its text);
    ``None`` when it is not one plain scalar type."""
    text = annotation.__name__ if isinstance(annotation, type) else str(annotation)
    text = text.replace("typing.", "").replace(" ", "")
    if text.startswith("Optional[") and text.endswith("]"):
        text = text[len("Optional["):-1] + "|None"
    names = set(text.split("|"))
    optional = "None" in names or "NoneType" in names
    names -= {"None", "NoneType"}
    if len(names) != 1 or not names <= {"bool", "int", "float", "str"}:
        return None
    return names.pop(), optional


def describe(kind: str, optional: bool, b: Bounds) -> str:
    """What a field accepts, in words: ``0 (keep the source size) or a whole number from 16 to 8192 (pixels)``."""
    if b.choices:
        words = [str(c) for c in b.choices]
        text = words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"
    elif kind == "bool":
        text = "true or false"
    elif kind == "str":
        text = "text"
    else:
        text = "a whole number" if kind == "int" else "a finite number"
        lo, hi = _number(b.min), _number(b.max)
        if b.min is not None and b.min_open:
            text += f" > {lo}" + (f" and <= {hi}" if b.max is not None else "")
        elif b.min is not None and b.max is not None:
            text += f" from {lo} to {hi}"
        elif b.min is not None:
            text += f" >= {lo}"
        elif b.max is not None:
            text += f" <= {hi}"
        if b.unit:
            text += f" ({b.unit})"
    specials = [f"{v!r} ({meaning})" for v, meaning in b.special.items()]
    if specials:
        text = " or ".join([*specials, text])
    if optional:
        text += f", or None ({b.none})" if b.none else ", or None"
    return text


def _number(x: float | None) -> str:
    """A bound as written: ``1000000000``, ``0.5``."""
    if x is None:
        return ""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def _suggest(value: Any, kind: str, b: Bounds, default: Any) -> Any:
    """A value that passes: the nearest bound for a number out of range, the number or bool
    that text such as ``'2'`` stands for, else the default."""
    if isinstance(value, str) and kind != "str":
        try:
            value = from_text(value, kind, False, "", b)
        except ValueRefused:
            value = None
        if value is not None:
            try:
                return check_value("", value, kind, False, b)
            except ValueRefused:
                pass
    if kind in ("int", "float") and isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        if b.min is not None and (value < b.min or b.min_open and value == b.min):
            return default if b.min_open else int(b.min) if kind == "int" else b.min
        if b.max is not None and value > b.max:
            return int(b.max) if kind == "int" else b.max
        if kind == "int" and b.min is not None and b.max is not None:
            return min(max(round(value), int(b.min)), int(b.max))
    if default is not None and default is not dataclasses.MISSING:
        return default
    if b.choices:
        return b.choices[0]
    if b.example is not None:
        return b.example
    if kind == "str" and isinstance(value, (int, float)):
        return str(value)
    return b.min if b.min is not None else _NO_SUGGESTION


def check_value(name: str, value: Any, kind: str, optional: bool, b: Bounds | None = None, default: Any = None) -> Any:
    """``value`` checked against its kind and bounds, normalised (a numpy integer to ``int``,
    an ``int`` to ``float`` for a float field).

    Raises:
        ValueRefused: the value has another type, is not finite, or is out of bounds.
    """
    b = b or Bounds()
    if value is None and optional:
        return None
    good_type = {
        "bool": isinstance(value, bool),
        "int": isinstance(value, numbers.Integral) and not isinstance(value, bool),
        "float": isinstance(value, numbers.Real) and not isinstance(value, bool),
        "str": isinstance(value, str),
    }[kind]

    given = value

    def refuse() -> ValueRefused:
        return ValueRefused(name, given, describe(kind, optional, b), _suggest(given, kind, b, default))

    if not good_type:
        raise refuse()
    if kind == "int":
        value = int(value)
    elif kind == "float":
        value = float(value)
        if not math.isfinite(value):
            raise refuse()
    if value in b.special:
        return value
    if b.choices and value not in b.choices:
        raise refuse()
    if kind in ("int", "float") and b.min is not None and (value < b.min or b.min_open and value == b.min):
        raise refuse()
    if kind in ("int", "float") and b.max is not None and value > b.max:
        raise refuse()
    return value


def from_text(raw: str, kind: str, optional: bool, name: str, b: Bounds | None = None, default: Any = None) -> Any:
    """The value of ``KEY=VALUE`` text for a field of ``kind`` (not yet range-checked):
    ``true``/``false`` (also ``1``/``0``, ``yes``/``no``, ``on``/``off``), whole numbers,
    numbers, text; ``none`` for a field that may be ``None``.

    Raises:
        ValueRefused: the text cannot be read as that kind.
    """
    b = b or Bounds()
    text = raw.strip()
    if optional and text.lower() in ("none", "null"):
        return None
    try:
        if kind == "bool":
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise ValueError(raw)
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError:
        raise ValueRefused(name, raw, describe(kind, optional, b), _suggest(None, kind, b, default)) from None
    return raw


def check_fields(obj: Any, label: Callable[[str], str] = str, fix: Callable[[str, Any], str] | None = None) -> None:
    """Check (and normalise in place) every plain scalar field of the dataclass ``obj``.

    Args:
        obj: A dataclass instance.
        label: How a field is named in messages (``lambda f: f"FetchOptions.{f}"``).
        fix: How the fix is written (``lambda f, v: f"--shards {v}"``); default ``label=value``.

    Raises:
        ValueRefused: the first field refused.
    """
    for f in dataclasses.fields(obj):
        kind = scalar_kind(f.type)
        if kind is None:
            continue
        default = f.default if f.default is not dataclasses.MISSING else None
        try:
            value = check_value(f.name, getattr(obj, f.name), *kind, f.metadata.get(BOUNDS), default)
        except ValueRefused as exc:
            # A field kept out of repr (a proxy URL with a password) is never shown.
            seen = exc.value if f.repr else _Hidden(exc.value)
            raise exc.renamed(label(f.name), (lambda v, n=f.name: fix(n, v)) if fix else
                              (lambda v, n=f.name: f"{label(n)}={v!r}"), value=seen) from None
        object.__setattr__(obj, f.name, value)
