"""The pause every worker honours after YouTube says "slow down": one rule set, two backends.

A 429 or a bot check seen by one worker means the whole machine (or cluster, behind one IP)
is being throttled: instead of letting every other worker burn its queue against the same
wall, all of them wait for one shared, growing pause. The rules live in
:class:`PolitenessState`, plain Python with no I/O and an injectable clock:

- request starts are spaced at least ``min_interval`` seconds apart across all workers;
- a rate-limit report pauses everyone for ``base_pause * growth**(n-1)`` seconds, where ``n``
  counts consecutive rate-limited episodes; a server hint (``Retry-After``) may lengthen it;
- reports that arrive while a pause is running come from requests sent before it began:
  they extend it (for a hint) without growing it;
- a success ends the streak (the running pause is kept);
- no wait is ever longer than ``max_pause``: not after a long streak, not for a hint, and
  not when the persisted state holds a huge or corrupt value (it is clamped on read).

Two backends keep that state where every worker sees it and apply the same rules:

- :class:`FilePoliteness` (the default): a JSON file plus an ``flock``-ed lock file in the
  build's work folder, shared by the worker processes of one machine and by later runs;
- :class:`~dance_aggregate.fetch.politeness_ray.RayPoliteness`: a Ray actor, for a cluster.

Both implement :class:`Politeness`, all the fetcher needs, through :class:`SharedPause`.
The defaults come from :class:`~dance_aggregate.fetch.options.FetchOptions`.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.files.atomic import atomic_write_text

logger = logging.getLogger(__name__)


class Politeness(Protocol):
    """What the fetcher needs from the shared pause."""

    def wait(self) -> float:
        """Block until this worker may send its next request; return the seconds waited."""
        ...

    def penalize(self, reason: str, retry_after: float | None = None) -> float:
        """A 429 or a bot check: pause every worker (``retry_after``: the server's hint in
        seconds, if any); return the seconds the pause has left."""
        ...

    def relax(self) -> None:
        """A download succeeded: the next penalty starts from the base pause again."""
        ...


class Penalty(NamedTuple):
    """What a rate-limit report did.

    Attributes:
        pause: Seconds every worker now waits, from the report on.
        new_episode: True when the report started a pause (False: it came during one).
        level: Growth step of the current streak (1 for the first pause in a row).
    """

    pause: float
    new_episode: bool
    level: int


def _clamped(value: Any, low: float, high: float) -> float:
    """``value`` as a float in ``[low, high]``; ``low`` when it is no number at all."""
    try:
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        return low
    if math.isnan(x):
        return low
    return min(max(x, low), high)


@dataclass
class PolitenessState:
    """The politeness rules and their state, shared by all workers (no I/O, no sleeping).

    Args:
        min_interval: Seconds between two request starts, across all workers.
        base_pause: First pause after a rate-limit report.
        growth: Factor applied to the pause for each consecutive rate-limited episode.
        max_pause: Longest wait of any kind (pause, server hint, spacing slot).
        clock: Seconds now. Wall-clock epoch seconds by default, so that a persisted state
            means the same to every process and to a later run.

    Attributes:
        level: Growth step of the current streak (0: none; it stops growing at the step
            whose pause reaches ``max_pause``).
        pause_until: When the running pause ends (``clock`` seconds).
        next_slot: When the next request may start (``clock`` seconds).
        requests: Request slots booked.
        rate_limited: Rate-limit reports received.
    """

    min_interval: float = 0.0
    base_pause: float = FetchOptions.pause_base
    growth: float = 2.0
    max_pause: float = FetchOptions.pause_max
    clock: Callable[[], float] = field(default=time.time, repr=False, compare=False)
    level: int = field(default=0, init=False)
    pause_until: float = field(default=0.0, init=False)
    next_slot: float = field(default=0.0, init=False)
    requests: int = field(default=0, init=False)
    rate_limited: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if not self.min_interval >= 0:
            raise ValueError(f"min_interval must be >= 0 seconds, got {self.min_interval}")
        if not 0 <= self.base_pause <= self.max_pause < math.inf:
            raise ValueError(
                f"need 0 <= base_pause <= max_pause < inf seconds, got {self.base_pause} and {self.max_pause}"
            )
        if not 1 <= self.growth < math.inf:
            raise ValueError(f"growth must be >= 1, got {self.growth}")

    @property
    def top_level(self) -> int:
        """The first growth step whose pause reaches ``max_pause`` (the level stops there)."""
        if self.growth == 1 or self.base_pause == 0 or self.base_pause >= self.max_pause:
            return 1
        return 1 + math.ceil(math.log(self.max_pause / self.base_pause, self.growth) - 1e-9)

    def grown_pause(self, level: int) -> float:
        """The pause of growth step ``level`` (>= 1), capped at ``max_pause``."""
        steps = min(max(level, 1), self.top_level) - 1
        return min(self.max_pause, self.base_pause * self.growth**steps)

    def reserve(self) -> float:
        """Book the next request slot; return the seconds the caller must wait for it."""
        now = self.clock()
        start = min(max(now, self.next_slot, self.pause_until), now + self.max_pause)
        self.next_slot = start + self.min_interval
        self.requests += 1
        return start - now

    def report_rate_limited(self, retry_after: float | None = None) -> Penalty:
        """Record a 429 / bot check (``retry_after``: the server's hint in seconds, if any)."""
        now = self.clock()
        self.rate_limited += 1
        hint = _clamped(retry_after, 0.0, self.max_pause)
        if now < self.pause_until:
            # Sent before the running pause began: same episode, extended only for a hint.
            self.pause_until = max(self.pause_until, now + hint)
            return Penalty(self.pause_until - now, False, self.level)
        self.level = min(self.level + 1, self.top_level)
        self.pause_until = now + max(hint, self.grown_pause(self.level))
        return Penalty(self.pause_until - now, True, self.level)

    def report_ok(self) -> None:
        """Record a success: the next rate-limit report starts from ``base_pause`` again."""
        self.level = 0

    def status(self) -> dict[str, Any]:
        """Counters and the remaining pause, for logs, reports and tests."""
        return {
            "requests": self.requests,
            "rate_limited": self.rate_limited,
            "level": self.level,
            "paused_for": max(0.0, self.pause_until - self.clock()),
        }

    # -- persistence (the file backend) ------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The state to persist (not the rule parameters, which come from the caller)."""
        return {k: getattr(self, k) for k in _STATE_KEYS}

    def load(self, saved: Any) -> bool:
        """Take over a persisted state, clamped to what these rules could have produced.

        A state file left by an earlier run with other parameters, or edited by a stranger,
        may hold anything: a pause ending next year, a level of 10**9, a string. Values are
        clamped so that no wait is longer than ``max_pause`` from now; what is not a
        number is taken as 0.

        Returns:
            True when a value had to be changed (worth a warning).
        """
        if not isinstance(saved, Mapping):
            self.load({})
            return True
        now = self.clock()
        self.pause_until = _clamped(saved.get("pause_until"), 0.0, now + self.max_pause)
        # A slot is booked at most max_pause away, and the next one min_interval after it.
        self.next_slot = _clamped(saved.get("next_slot"), 0.0, now + self.max_pause + self.min_interval)
        self.level = int(_clamped(saved.get("level"), 0, self.top_level))
        self.requests = int(_clamped(saved.get("requests"), 0, 2**53))
        self.rate_limited = int(_clamped(saved.get("rate_limited"), 0, 2**53))
        return any(saved.get(k, v) != v for k, v in self.to_dict().items())


_STATE_KEYS = ("level", "pause_until", "next_slot", "requests", "rate_limited")


def wall_clock_after(seconds: float) -> str:
    """Local wall-clock time ``seconds`` from now (``14:03:12``), for log messages."""
    return time.strftime("%H:%M:%S", time.localtime(time.time() + seconds))


class SharedPause(ABC):
    """The :class:`Politeness` protocol over a :class:`PolitenessState` kept elsewhere.

    Subclasses say where the state lives by implementing :meth:`_apply` (run one state
    method where the state is, atomically, and return its result); the rules, the sleeping
    and the log messages are the same for every backend.

    Args:
        sleep: The sleep function (tests pass a recorder).
    """

    def __init__(self, sleep: Callable[[float], Any] = time.sleep) -> None:
        self._sleep = sleep

    @abstractmethod
    def _apply(self, method: str, *args: Any) -> Any:
        """Call ``PolitenessState.<method>(*args)`` on the shared state; return its result."""

    def wait(self) -> float:
        """Book the next request slot and sleep until it; return the seconds slept."""
        delay = float(self._apply("reserve"))
        if delay > 0:
            logger.debug("politeness: waiting %.1f s (until %s)", delay, wall_clock_after(delay))
            self._sleep(delay)
        return delay

    def penalize(self, reason: str, retry_after: float | None = None) -> float:
        """A 429 or a bot check: every worker pauses; return the seconds the pause has left."""
        penalty = Penalty(*self._apply("report_rate_limited", retry_after))
        if penalty.new_episode:
            logger.warning(
                "%s: pausing every worker for %.0f s, until %s (pause step %d in a row)",
                reason, penalty.pause, wall_clock_after(penalty.pause), penalty.level,
            )
        else:
            logger.info("%s: every worker is already pausing, until %s", reason, wall_clock_after(penalty.pause))
        return penalty.pause

    def relax(self) -> None:
        """A download succeeded: the next penalty starts from the base pause again."""
        self._apply("report_ok")

    def status(self) -> dict[str, Any]:
        """The shared state's counters and remaining pause (see :meth:`PolitenessState.status`)."""
        return self._apply("status")


class FilePoliteness(SharedPause):
    """The shared pause kept in ``<folder>/politeness.json`` (works across processes and runs).

    Every call reads the state under an exclusive ``flock`` on ``<folder>/politeness.lock``,
    applies the rule, and writes the state back atomically before releasing the lock.

    Args:
        folder: Where the state and lock files live (the build's ``<work>/fetch`` folder).
        sleep: The sleep function (tests pass a recorder).
        clock: Wall-clock seconds (tests pass a fake clock).
        **rules: :class:`PolitenessState` parameters (``min_interval``, ``base_pause``,
            ``growth``, ``max_pause``); the defaults are those of ``FetchOptions``.
    """

    def __init__(
        self,
        folder: str | Path,
        sleep: Callable[[float], Any] = time.sleep,
        clock: Callable[[], float] = time.time,
        **rules: float,
    ) -> None:
        super().__init__(sleep)
        self.folder = Path(folder)
        self.rules = rules
        self._clock = clock
        PolitenessState(**rules)  # bad parameters fail here, not at the first 429

    @classmethod
    def from_options(cls, folder: str | Path, options: FetchOptions) -> FilePoliteness:
        """The pause of a build's fetchers, with the pause lengths of ``options``."""
        return cls(folder, base_pause=options.pause_base, max_pause=options.pause_max)

    @property
    def state_path(self) -> Path:
        """The JSON state file."""
        return self.folder / "politeness.json"

    @contextmanager
    def _locked(self) -> Iterator[PolitenessState]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "politeness.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                state = PolitenessState(**self.rules, clock=self._clock)
                try:
                    saved = json.loads(self.state_path.read_text(encoding="utf-8"))
                except FileNotFoundError:
                    saved = {}
                except (OSError, ValueError) as exc:
                    logger.warning("%s is unreadable (%s): starting from no pause", self.state_path, exc)
                    saved = {}
                if saved and state.load(saved):
                    logger.warning(
                        "%s held values out of range (from an earlier run or another program): %s; "
                        "clamped to a pause of at most %.0f s",
                        self.state_path, json.dumps(saved)[:200], state.max_pause,
                    )
                before = state.to_dict()
                yield state
                after = state.to_dict()
                if after != before or after != saved:
                    atomic_write_text(self.state_path, json.dumps(after))
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _apply(self, method: str, *args: Any) -> Any:
        with self._locked() as state:
            return getattr(state, method)(*args)
