"""Cluster-wide politeness for downloads: one request rate and one pause for every worker.

A site that answers 429 or a bot check to one worker is telling the whole cluster to slow
down, so the rate limit and the pause live in one place: a small Ray actor that every task
reaches by name. Workers call, around each request::

    polite.wait_turn()                    # sleeps until this worker may send a request
    ... request ...
    polite.report_rate_limited(seconds)   # on 429 / bot check (seconds: Retry-After or None)
    polite.report_ok()                    # on success: the pause stops growing

The rules (:class:`PolitenessState`, plain Python so any backend can reuse it):

- request starts are spaced at least ``min_interval`` seconds apart across the cluster;
- a rate-limit report pauses everyone for ``max(retry_after, base_pause * growth**(n-1))``
  seconds (capped at ``max_pause`` unless the server asked for longer), where ``n`` counts
  consecutive rate-limited episodes; reports that arrive while a pause is already running
  come from requests sent before it and extend it without growing it;
- a success ends the streak (the running pause is kept).

:class:`RayPoliteness` also has the fetcher's ``Politeness`` protocol (``wait``, ``penalize``,
``relax`` of :mod:`dance_aggregate.fetch.politeness`), so it replaces the file-lock pause with
``ClipFetcher(folder, options, politeness=RayPoliteness.start(min_interval=0,
base_pause=options.pause_base, max_pause=options.pause_max))``.

The actor answers with how long to wait instead of sleeping itself, so it never blocks
and clocks of different nodes never need to agree. It reserves no CPU.
:class:`RayPoliteness` is a plain picklable client (name and namespace only) that finds the
actor on first use, so it can sit in a builder's attributes and travel with every unit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from dance_aggregate.pipeline.ray_runner import import_ray

logger = logging.getLogger(__name__)

#: Name and namespace of the cluster's politeness actor.
DEFAULT_NAME = "politeness"
DEFAULT_NAMESPACE = "dance_aggregate"


@dataclass
class PolitenessState:
    """Rate and pause bookkeeping shared by all workers (no I/O, no sleeping).

    Args:
        min_interval: Seconds between two request starts, cluster-wide.
        base_pause: First pause after a rate-limit report without a server hint.
        growth: Factor applied to the pause for each consecutive rate-limited episode.
        max_pause: Longest pause chosen by the growth rule (a longer ``Retry-After`` wins).
        clock: Monotonic clock (injectable for tests).
    """

    min_interval: float = 1.0
    base_pause: float = 60.0
    growth: float = 2.0
    max_pause: float = 3600.0
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        if self.min_interval < 0:
            raise ValueError(f"min_interval must be >= 0, got {self.min_interval}")
        if self.base_pause < 0 or self.max_pause < self.base_pause:
            raise ValueError(f"need 0 <= base_pause <= max_pause, got {self.base_pause} and {self.max_pause}")
        if self.growth < 1:
            raise ValueError(f"growth must be >= 1, got {self.growth}")
        self._next_slot = 0.0
        self._paused_until = 0.0
        self._strikes = 0
        self.requests = 0
        self.rate_limited = 0

    def reserve(self) -> float:
        """Book the next request slot; return the seconds the caller must wait for it."""
        now = self.clock()
        start = max(now, self._next_slot, self._paused_until)
        self._next_slot = start + self.min_interval
        self.requests += 1
        return start - now

    def report_rate_limited(self, seconds: float | None = None) -> float:
        """Record a 429 / bot check; return the seconds everyone now pauses from now."""
        now = self.clock()
        self.rate_limited += 1
        hint = max(0.0, float(seconds or 0.0))
        if now < self._paused_until:
            # Sent before the running pause began: same episode, extend only for a hint.
            self._paused_until = max(self._paused_until, now + hint)
        else:
            self._strikes += 1
            grown = min(self.max_pause, self.base_pause * self.growth ** (self._strikes - 1))
            self._paused_until = now + max(hint, grown)
            logger.warning(
                "rate limited (%d in a row): every worker pauses %.0f s", self._strikes, self._paused_until - now
            )
        return self._paused_until - now

    def report_ok(self) -> None:
        """Record a success: the next rate-limit report starts from ``base_pause`` again."""
        self._strikes = 0

    def status(self) -> dict[str, Any]:
        """Counters and the remaining pause, for logs and reports."""
        return {
            "requests": self.requests,
            "rate_limited": self.rate_limited,
            "strikes": self._strikes,
            "paused_for": max(0.0, self._paused_until - self.clock()),
        }


class _PolitenessActor:
    """The Ray actor around one :class:`PolitenessState` (methods return, never sleep)."""

    def __init__(self, **params: Any) -> None:
        self.state = PolitenessState(**params)

    def reserve(self) -> float:
        return self.state.reserve()

    def report_rate_limited(self, seconds: float | None) -> float:
        return self.state.report_rate_limited(seconds)

    def report_ok(self) -> None:
        self.state.report_ok()

    def status(self) -> dict[str, Any]:
        return self.state.status()


class RayPoliteness:
    """Client of the cluster's politeness actor; picklable, usable from any task or driver.

    Create the actor once on the driver with :meth:`start` (or let the first client that
    needs it create it with the default parameters), then hand this object to the workers.

    Args:
        name: Actor name.
        namespace: Ray namespace of the actor.
    """

    def __init__(self, name: str = DEFAULT_NAME, namespace: str = DEFAULT_NAMESPACE) -> None:
        self.name = name
        self.namespace = namespace
        self._handle: Any = None

    @classmethod
    def start(cls, name: str = DEFAULT_NAME, namespace: str = DEFAULT_NAMESPACE, **params: Any) -> RayPoliteness:
        """Create (or find) the actor with :class:`PolitenessState` ``params``; needs Ray initialised."""
        client = cls(name, namespace)
        client._handle = client._actor(params)
        return client

    def _actor(self, params: dict[str, Any] | None = None) -> Any:
        ray = import_ray()
        PolitenessState(**(params or {}))  # validate here: errors in the actor are harder to read
        actor_cls = ray.remote(_PolitenessActor)
        return actor_cls.options(
            name=self.name,
            namespace=self.namespace,
            get_if_exists=True,
            num_cpus=0,
            max_restarts=3,  # a lost node restarts it (with fresh state: a fresh start is polite)
            max_task_retries=3,
        ).remote(**(params or {}))

    def __getstate__(self) -> dict[str, Any]:
        return {"name": self.name, "namespace": self.namespace}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.name = state["name"]
        self.namespace = state["namespace"]
        self._handle = None

    @property
    def handle(self) -> Any:
        """The actor handle (found, or created with default parameters, on first use)."""
        if self._handle is None:
            self._handle = self._actor()
        return self._handle

    def wait_turn(self) -> float:
        """Sleep until this worker may send its next request; return the seconds slept."""
        ray = import_ray()
        delay = float(ray.get(self.handle.reserve.remote()))
        if delay > 0:
            time.sleep(delay)
        return delay

    def report_rate_limited(self, seconds: float | None = None) -> float:
        """Tell every worker to pause (429 or bot check); return the pause in seconds."""
        ray = import_ray()
        return float(ray.get(self.handle.report_rate_limited.remote(seconds)))

    def report_ok(self) -> None:
        """Tell the coordinator a request went through (ends the growing-pause streak)."""
        ray = import_ray()
        ray.get(self.handle.report_ok.remote())

    def status(self) -> dict[str, Any]:
        """The coordinator's counters and remaining pause."""
        ray = import_ray()
        return ray.get(self.handle.status.remote())

    # -- the fetcher's Politeness protocol (dance_aggregate.fetch.politeness) ---------------
    def wait(self) -> float:
        """``Politeness.wait``: block while the cluster's pause is on (and keep the spacing)."""
        return self.wait_turn()

    def penalize(self, reason: str) -> float:
        """``Politeness.penalize``: a 429 or bot check; every worker of the cluster pauses."""
        pause = self.report_rate_limited(None)
        logger.warning("%s: every worker of the cluster pauses for %.0f s", reason, pause)
        return pause

    def relax(self) -> None:
        """``Politeness.relax``: a download succeeded; the pause stops growing."""
        self.report_ok()
