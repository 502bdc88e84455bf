"""Run the build's units of work as Ray tasks (``--runner ray``), on one machine or a cluster.

Needs Ray (the ``[ray]`` extra: ``pip install "ray>=2.40,<3"``); Ray is imported only when this runner runs. Each unit
(one Parquet part) is one Ray task. Ray retries a task whose worker process died (a killed
task, a lost node) up to ``max_retries`` times; since a unit writes its part and then its
manifest, a retried or re-run unit either finds its finished part and returns it, or does
the whole shard again, so nothing is lost and nothing is counted twice. Results stream back
as tasks finish (``ray.wait``) and at most ``max_in_flight`` tasks are submitted at a time,
so a work list of millions of clips never sits in the object store at once.

Without ``address`` the runner starts a local Ray instance with ``workers`` CPUs (and shuts
it down at the end of the run); with ``address`` (``head:6379`` or ``auto``, from a node of the
cluster) it joins an existing cluster, whose workers need ``dance-aggregate`` installed and
must reach the work folder (see ``docs/scaling.md``). A cluster with token authentication
(on by default when the head has a token) needs ``RAY_AUTH_MODE=token`` and its token in the
driver's environment; the runner says so (:mod:`dance_aggregate.pipeline.ray_auth`). Ray
Client addresses (``ray://``) are refused: see :func:`check_address`. The runner connects on
its first run and stays connected for the next configs; :meth:`RayRunner.close` shuts down
what it started. When Ray is already initialised in this process (a notebook, a test
fixture), the runner uses it as it is and leaves it running.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Self, TypeVar

from dance_aggregate.errors import ConfigError, DanceAggregateError
from dance_aggregate.pipeline.ray_auth import check_token_auth, is_token_auth_failure, token_auth_error

logger = logging.getLogger(__name__)

U = TypeVar("U")
R = TypeVar("R")

#: How many times Ray reruns a unit whose worker died, by default.
DEFAULT_MAX_RETRIES = 3
#: Units in flight per CPU (enough to keep every CPU busy while results come back).
IN_FLIGHT_PER_CPU = 2


def import_ray() -> Any:
    """Import Ray, or say how to install it."""
    try:
        import ray
        import ray.exceptions  # the runner uses ray.exceptions.RayError
    except ImportError as exc:
        raise DanceAggregateError(
            f"--runner ray needs Ray, which is not installed ({exc}).\n"
            'Fix: pip install "ray>=2.40,<3"   (the package\'s [ray] extra; or use the default --runner local)'
        ) from None
    return ray


def check_address(address: str) -> None:
    """Refuse a Ray Client address (``ray://HOST:PORT``).

    Ray Client needs ``ray[client]`` (grpcio) on the driver and on the head, which the
    package's ``[ray]`` extra does not install; with token authentication it times out after
    30 s without saying why; and Ray ends a Ray Client job whose connection is lost for 30 s,
    which a build of hours should not hang on. The driver runs on a node of the cluster instead.

    Raises:
        ConfigError: ``address`` starts with ``ray://``.
    """
    if address.strip().lower().startswith("ray://"):
        raise ConfigError(
            f"--ray-address {address}: Ray Client (ray://) addresses are not supported.\n"
            "Expected the head's GCS address, HEAD_IP:6379 (or auto), from a node of the cluster: log in to the "
            "head (or any node started with `ray start`) and run the build there, e.g.\n"
            "  dance-aggregate build ... --runner ray --ray-address HEAD_IP:6379\n"
            "Ray Client needs ray[client] (grpcio) on the driver and the head, which the [ray] extra does not "
            "install, and Ray ends a Ray Client job when its connection drops for 30 s (docs/scaling.md)."
        )


def _cluster_error(address: str, problem: str) -> DanceAggregateError:
    """Nothing runs at ``address``: start a cluster there, or run without one."""
    return DanceAggregateError(
        f"cannot connect to the Ray cluster at --ray-address {address}: {problem}\n"
        "Expected the address of a running cluster (HEAD:6379 or auto); "
        "start one with: ray start --head   (or drop --ray-address to run a local Ray instance)"
    )


def _join_error(ray: Any, address: str, problem: str) -> DanceAggregateError:
    """Something answers at ``address`` but Ray could not join it as a cluster."""
    import platform

    return DanceAggregateError(
        f"cannot join the Ray cluster at --ray-address {address}: {problem}\n"
        "Something answers there, but not as a Ray cluster this process can join. Expected the head's GCS "
        "port (the --port of `ray start --head`, default 6379), from a node of the cluster (one started with "
        f"`ray start`), with the cluster's Ray and Python versions (here: ray {getattr(ray, '__version__', '?')}, "
        f"Python {platform.python_version()})."
    )


def _check_reachable(address: str, timeout: float = 5.0) -> bool:
    """Fail fast on a HOST:PORT nobody listens on (Ray itself retries for minutes).

    Returns:
        True when ``address`` is a HOST:PORT that answers; False for ``auto`` and other
        forms, which Ray resolves and reports itself, quickly.
    """
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit():
        return False
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise _cluster_error(address, f"nothing answers at {host}:{port} ({exc})") from None
    return True


def _call(fn: Callable[[U], R], unit: U) -> R:
    """The Ray task: ``fn`` may be any picklable callable, not only a function. A Ray
    worker runs many units: it gives back what each one freed (see ``release_memory``)."""
    from dance_aggregate.pipeline.runners import ReleasingMemory

    return ReleasingMemory(fn)(unit)


class RayRunner:
    """Run units as Ray tasks with retries, streaming results back as they finish.

    Args:
        workers: CPUs of the local Ray instance started when there is no ``address``
            (also the in-flight bound, with a cluster whose size is unknown).
        address: Address of an existing Ray cluster (``None``: start a local instance).
        max_retries: Reruns of a unit whose worker process died.
        max_in_flight: Most tasks submitted at once (default: 2 per CPU of the cluster).
        cpus_per_unit: CPUs Ray reserves for each task (units encode with one thread).
    """

    def __init__(
        self,
        workers: int = 1,
        address: str | None = None,
        *,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_in_flight: int | None = None,
        cpus_per_unit: float = 1.0,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        if max_retries < 0:
            raise ValueError(f"max_retries must be >= 0, got {max_retries}")
        if max_in_flight is not None and max_in_flight < 1:
            raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight}")
        if address:
            check_address(address)
        self.workers = workers
        self.address = address
        self.max_retries = max_retries
        self.max_in_flight = max_in_flight
        self.cpus_per_unit = cpus_per_unit
        self._started = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Shut down the Ray instance or connection this runner started (if any)."""
        if self._started:
            import ray

            ray.shutdown()
            self._started = False

    def connect(self) -> None:
        """Initialise Ray unless it already is (``run`` calls it; call it earlier to create
        actors such as :class:`~dance_aggregate.fetch.politeness_ray.RayPoliteness` first)."""
        ray = import_ray()
        if ray.is_initialized():
            return
        if self.address:
            logger.info("connecting to the Ray cluster at %s", self.address)
            listening = _check_reachable(self.address)
            if listening:
                check_token_auth(self.address)  # a refused token in 0.01 s, not after 20 s of retries
            try:
                ray.init(address=self.address, log_to_driver=True, logging_level=self._ray_log_level())
            except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as exc:
                if is_token_auth_failure(exc):
                    raise token_auth_error(self.address, exc) from None
                if listening or "could not find any running ray instance" not in str(exc).lower():
                    raise _join_error(ray, self.address, str(exc)) from None
                raise _cluster_error(self.address, str(exc)) from None  # auto, and no cluster runs here
        else:
            logger.info("starting a local Ray instance with %d CPUs", self.workers)
            # address="local": a new instance even when another Ray cluster runs on this
            # machine (a bare ray.init() would join the last one started there).
            ray.init(
                address="local", num_cpus=self.workers, include_dashboard=False, log_to_driver=True,
                logging_level=self._ray_log_level(),
            )
        self._started = True

    @staticmethod
    def _ray_log_level() -> int:
        # Ray's own start-up chatter follows ours: silent under --quiet.
        return logging.INFO if logger.isEnabledFor(logging.INFO) else logging.WARNING

    def _in_flight(self, ray: Any) -> int:
        if self.max_in_flight:
            return self.max_in_flight
        cpus = int(ray.cluster_resources().get("CPU", 0)) or self.workers
        return max(1, IN_FLIGHT_PER_CPU * int(cpus // max(self.cpus_per_unit, 1e-9)))

    def run(self, fn: Callable[[U], R], units: Sequence[U]) -> Iterator[R]:
        """Call ``fn(unit)`` for every unit as a Ray task; yield results as they complete.

        Raises:
            DanceAggregateError: a unit failed for good (an exception in ``fn``, or its
                worker died more than ``max_retries`` times). Finished units stay done,
                so running the build again resumes.
        """
        if not units:
            return
        ray = import_ray()
        self.connect()
        # retry_exceptions=False: an exception is a bug or bad input and would fail the
        # same way again; only a dead worker (system failure) is worth a rerun.
        task = ray.remote(_call).options(
            num_cpus=self.cpus_per_unit, max_retries=self.max_retries, retry_exceptions=False
        )
        fn_ref = ray.put(fn)  # shipped once, not with every unit
        limit = self._in_flight(ray)
        pending: dict[Any, int] = {}
        it = iter(enumerate(units))
        for i, unit in it:
            pending[task.remote(fn_ref, unit)] = i
            if len(pending) >= limit:
                break
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                i = pending.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    for other in pending:
                        ray.cancel(other)
                    what = getattr(units[i], "path", f"unit {i + 1} of {len(units)}")
                    raise DanceAggregateError(
                        f"{what}: failed on Ray after up to {self.max_retries} "
                        f"retries: {type(exc).__name__}: {exc}\n"
                        "Finished units are kept; run the same build command again to resume."
                    ) from exc
                yield result
                nxt = next(it, None)
                if nxt is not None:
                    pending[task.remote(fn_ref, nxt[1])] = nxt[0]
