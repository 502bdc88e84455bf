"""The cluster backend of the shared pause: the politeness state lives in one Ray actor.

A site that answers 429 or a bot check to one worker is telling the whole cluster to slow
down, so the state of the rules (:class:`~dance_aggregate.fetch.politeness.PolitenessState`,
the same rules as the file backend) lives in a small Ray actor that every task reaches by
name. :class:`RayPoliteness` is the fetcher's ``Politeness``, so it replaces the file-lock
pause with::

    polite = RayPoliteness.start(base_pause=options.pause_base, max_pause=options.pause_max)
    ClipFetcher(folder, options, politeness=polite)

The actor answers with how long to wait instead of sleeping itself, so it never blocks and
the clocks of different nodes never need to agree. It reserves no CPU.
:class:`RayPoliteness` is a plain picklable client (name and namespace only) that finds the
actor on first use, so it can sit in a builder's attributes and travel with every unit.

Ray is imported on first use: the package and the file backend work without it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from dance_aggregate.errors import DanceAggregateError
from dance_aggregate.fetch.politeness import PolitenessState, SharedPause

#: Name and namespace of the cluster's politeness actor.
DEFAULT_NAME = "politeness"
DEFAULT_NAMESPACE = "dance_aggregate"


def _ray() -> Any:
    """The ``ray`` module, or an error that says how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise DanceAggregateError(
            f"the cluster-wide download pause (RayPoliteness) needs Ray, which is not installed ({exc}).\n"
            'Fix: pip install "dance-aggregate[ray]"   (or build with the default --runner local)'
        ) from None
    return ray


class _PolitenessActor:
    """The Ray actor around one :class:`PolitenessState` (methods return, never sleep)."""

    def __init__(self, **params: Any) -> None:
        self.state = PolitenessState(**params)

    def apply(self, method: str, *args: Any) -> Any:
        return getattr(self.state, method)(*args)


class RayPoliteness(SharedPause):
    """Client of the cluster's politeness actor; picklable, usable from any task or driver.

    Create the actor once on the driver with :meth:`start` (or let the first client that
    needs it create it with the default parameters), then hand this object to the workers.

    Args:
        name: Actor name.
        namespace: Ray namespace of the actor.
        sleep: The sleep function of this process (tests pass a recorder; not pickled).
    """

    def __init__(
        self, name: str = DEFAULT_NAME, namespace: str = DEFAULT_NAMESPACE, sleep: Callable[[float], Any] = time.sleep
    ) -> None:
        super().__init__(sleep)
        self.name = name
        self.namespace = namespace
        self._handle: Any = None

    @classmethod
    def start(cls, name: str = DEFAULT_NAME, namespace: str = DEFAULT_NAMESPACE, **params: Any) -> RayPoliteness:
        """Create (or find) the actor; needs Ray initialised.

        Args:
            name: Actor name.
            namespace: Ray namespace of the actor.
            **params: :class:`PolitenessState` parameters (``min_interval``, ``base_pause``,
                ``growth``, ``max_pause``, ``clock``); ignored when the actor exists already.
        """
        client = cls(name, namespace)
        client._handle = client._actor(params)
        return client

    def _actor(self, params: dict[str, Any] | None = None) -> Any:
        ray = _ray()
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
        self.__init__(state["name"], state["namespace"])

    @property
    def handle(self) -> Any:
        """The actor handle (found, or created with default parameters, on first use)."""
        if self._handle is None:
            self._handle = self._actor()
        return self._handle

    def _apply(self, method: str, *args: Any) -> Any:
        return _ray().get(self.handle.apply.remote(method, *args))
