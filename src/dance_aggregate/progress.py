"""Progress of long steps: tqdm bars on a terminal, periodic log lines anywhere else.

Library code asks :func:`progress_bar` for a bar and uses the tqdm calls it needs
(``update``, ``set_postfix``, ``close``). Where the bar goes is decided here, once:

- on a terminal (stderr is a TTY), or in a Jupyter kernel: a tqdm bar;
- otherwise (output piped or written to a file, e.g. under ``nohup``): a :class:`LogProgress`,
  which logs one line every :data:`LOG_INTERVAL` seconds and one when the step ends, instead
  of a bar whose every refresh would pile up in the log;
- ``enabled=False`` (``--quiet``, ``progress=False``): nothing.

Every bar counts what its description names: ``ucf101: clips`` counts clips,
``ucf101: writing`` the rows written into shards.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

logger = logging.getLogger(__name__)

#: Seconds between two progress lines when stderr is not a terminal.
LOG_INTERVAL = 30.0


def interactive() -> bool:
    """Whether progress can be drawn as bars: stderr is a terminal, or a Jupyter kernel runs."""
    stream = sys.stderr
    try:
        if stream is not None and stream.isatty():
            return True
    except (AttributeError, ValueError):  # closed or replaced streams
        pass
    return "ipykernel" in sys.modules


class LogProgress:
    """A tqdm stand-in that logs ``desc: n/total unit (pct) postfix, rate`` lines.

    It logs when at least ``interval`` seconds passed since its last line, and once more
    at :meth:`close`, so a log file gets a few lines per step, never one per refresh.
    """

    def __init__(self, total: int | None, desc: str, unit: str, initial: int = 0, interval: float | None = None) -> None:
        self.total = total
        self.desc = desc
        self.unit = unit
        self.n = initial
        self.interval = LOG_INTERVAL if interval is None else interval
        self.postfix: dict[str, Any] = {}
        self._start = self._last = time.monotonic()
        self._initial = initial
        self._closed = False

    def update(self, n: int = 1) -> None:
        """Count ``n`` more; log a line when the interval has passed."""
        self.n += n
        if time.monotonic() - self._last >= self.interval:
            self._log()

    def set_postfix(self, ordered_dict: dict[str, Any] | None = None, **values: Any) -> None:
        """Values shown after the count (``rows=3, excluded=1``), in the order given."""
        self.postfix = {**(ordered_dict or {}), **values}

    def line(self) -> str:
        """The current progress line."""
        scale, unit = (1e6, "MB") if self.unit == "B" else (1, self.unit)
        n = f"{self.n / scale:.1f}" if scale > 1 else str(self.n)
        done = n if self.total is None else f"{n}/{self.total / scale:.1f}" if scale > 1 else f"{n}/{self.total}"
        plural = "" if scale > 1 else "s"
        pct = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        extra = "".join(f", {k}={v}" for k, v in self.postfix.items())
        elapsed = time.monotonic() - self._start
        new = self.n - self._initial
        rate = f", {new / scale / elapsed:.1f} {unit}/s" if new and elapsed > 0 else ""
        resumed = f", {self._initial} done earlier" if self._initial else ""
        return f"{self.desc}: {done} {unit}{plural}{pct}{extra}{resumed}{rate}"

    def _log(self) -> None:
        self._last = time.monotonic()
        logger.info("%s", self.line())

    def close(self) -> None:
        """Log the final line (once)."""
        if not self._closed:
            self._closed = True
            self._log()


class _NoProgress:
    """What a disabled bar is: every call does nothing."""

    def __init__(self, total: int | None = None, initial: int = 0) -> None:
        self.total = total
        self.n = initial

    def update(self, n: int = 1) -> None:
        self.n += n

    def set_postfix(self, ordered_dict: dict[str, Any] | None = None, **values: Any) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: int | None, desc: str, unit: str, *, enabled: bool = True, initial: int = 0) -> Any:
    """A progress display for one step (see the module docstring for which kind).

    Args:
        total: How many ``unit`` the step has.
        desc: What is counted, e.g. ``"ucf101: clips"``.
        unit: The thing counted (singular): ``clip``, ``row``, ``B``...
        enabled: ``False`` shows nothing.
        initial: Already done before this run (a resumed build).

    Returns:
        An object with tqdm's ``update``, ``set_postfix``, ``close``, ``n`` and ``total``.
    """
    if not enabled:
        return _NoProgress(total, initial)
    if interactive():
        from tqdm.auto import tqdm

        scale = unit == "B"
        return tqdm(total=total, desc=desc, unit=unit, initial=initial, unit_scale=scale, dynamic_ncols=True)
    return LogProgress(total, desc, unit, initial)
