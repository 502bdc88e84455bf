"""The pause every worker honours after YouTube says "slow down".

A 429 or a bot check seen by one worker means the whole machine (one IP) is being
throttled: instead of letting every other worker burn its queue against the same wall,
all of them wait for a shared, growing interval. The state must be shared across worker
processes, so :class:`FilePoliteness` keeps it in a small JSON file guarded by an
``flock``-ed lock file. Anything implementing :class:`Politeness` can replace it (a Ray
actor, for a cluster).
"""

from __future__ import annotations

import fcntl
import json
import logging
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from dance_aggregate.output.atomic import atomic_write_text

logger = logging.getLogger(__name__)


class Politeness(Protocol):
    """What the fetcher needs from the shared pause."""

    def wait(self) -> float:
        """Block while a shared pause is on; return the seconds waited."""
        ...

    def penalize(self, reason: str) -> float:
        """Start (or lengthen) the shared pause after a rate limit; return its length (s)."""
        ...

    def relax(self) -> None:
        """A download succeeded: the next penalty starts from the base interval again."""
        ...


class FilePoliteness:
    """A shared pause kept in ``<folder>/politeness.json`` (works across processes).

    Args:
        folder: Where the state and lock files live (the build's work folder).
        base: The first pause (s); each further penalty doubles it.
        maximum: The longest pause (s).
        sleep: The sleep function (tests may pass a fake clock's).
    """

    def __init__(self, folder: str | Path, base: float = 60.0, maximum: float = 1800.0, sleep: Any = time.sleep) -> None:
        self.folder = Path(folder)
        self.base = base
        self.maximum = maximum
        self._sleep = sleep

    @property
    def state_path(self) -> Path:
        """The JSON state file."""
        return self.folder / "politeness.json"

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "politeness.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                state = self._read()
                before = dict(state)
                yield state
                if state != before:
                    atomic_write_text(self.state_path, json.dumps(state))
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> dict[str, Any]:
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {"level": 0, "pause_until": 0.0}
        return {"level": int(state.get("level", 0)), "pause_until": float(state.get("pause_until", 0.0))}

    def state(self) -> dict[str, Any]:
        """The current state: ``level`` (penalties in a row) and ``pause_until`` (epoch s)."""
        with self._locked() as state:
            return dict(state)

    def wait(self) -> float:
        waited = 0.0
        while True:
            with self._locked() as state:
                remaining = state["pause_until"] - time.time()
            if remaining <= 0:
                return waited
            logger.debug("rate limited: every worker pauses, %.0f s left", remaining)
            # Sleep in slices: another worker may lengthen the pause meanwhile.
            step = min(remaining, 5.0)
            self._sleep(step)
            waited += step

    def penalize(self, reason: str) -> float:
        with self._locked() as state:
            state["level"] += 1
            pause = min(self.maximum, self.base * 2 ** (state["level"] - 1))
            pause *= 1.0 + random.uniform(0.0, 0.25)
            state["pause_until"] = max(state["pause_until"], time.time() + pause)
        logger.warning("%s: all workers pause for %.0f s (penalty %d in a row)", reason, pause, state["level"])
        return pause

    def relax(self) -> None:
        with self._locked() as state:
            if state["level"]:
                state["level"] = 0
