"""Shared helpers of the runner tests: builds to compare, and a unit function that dies."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dance_aggregate.builders import registry
from dance_aggregate.errors import DanceAggregateError
from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.output import parts
from dance_aggregate.pipeline.build import build
from dance_aggregate.pipeline.config import ConfigResult
from dance_aggregate.pipeline.request import BuildRequest
from dance_aggregate.pipeline.runners import LocalRunner
from dance_aggregate.pipeline.units import WorkUnit
from dance_aggregate.sample.makers import SampleSource


def sample_builder(src: SampleSource):
    """The builder of a generated sample source, as the pipeline would make it."""
    cls = registry.get_config(src.config).builder
    return cls(src.data_dir, cls.parse_options(src.options), video_dir=src.video_dir)


def build_sample(
    srcs: list[SampleSource], output: Path, configs: tuple[str, ...] = ("ucf101",), **options: Any
) -> list[ConfigResult]:
    """Build sample ``configs`` into ``output`` through :func:`dance_aggregate.build`
    (then ``all`` and the card), offline like ``--sample``; ``options`` are request fields."""
    chosen = [s for s in srcs if s.config in configs]
    request = BuildRequest(
        configs=configs,
        data_dirs={registry.get_config(s.config).source: s.data_dir for s in chosen},
        video_dirs={registry.get_config(s.config).source: s.video_dir for s in chosen if s.video_dir},
        options={s.config: s.options for s in chosen if s.options},
        output=output,
        progress=False,
        fetch=FetchOptions(offline=True),
        **options,
    )
    result = build(request)
    if result.failures:
        raise DanceAggregateError("; ".join(f"{f.config}: {f.error}" for f in result.failures))
    return result.configs


def folder_snapshot(folder: Path) -> dict[str, Any]:
    """Everything a build publishes, timing fields removed: shard bytes, card, reports."""
    out: dict[str, Any] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if not path.is_file() or rel.startswith(".work/"):
            continue
        if rel.startswith("reports/") and rel.endswith(".json"):
            report = json.loads(path.read_text())
            report.pop("elapsed_seconds", None)
            report.pop("timings", None)
            report.pop("inputs_key", None)  # a cache key made of shard mtimes (reports/all.json)
            out[rel] = report
        else:
            out[rel] = path.read_bytes()
    return out


class DieOnce:
    """A unit function whose worker process dies (``os._exit``) on a victim's first attempt.

    Every attempt leaves a file ``<marks>/<part name>.<n>`` so tests count attempts across
    processes. Modes, by victim part name:

    - ``"before"``: dies before doing any work;
    - ``"after_part"``: writes the part, removes the manifest, then dies (killed between
      part and manifest);
    - ``"after_manifest"``: finishes the unit, then dies before returning its result.
    """

    def __init__(self, fn: Callable[[WorkUnit], Any], marks: Path, victims: dict[str, str]) -> None:
        self.fn = fn
        self.marks = str(marks)
        self.victims = victims

    def __call__(self, unit: WorkUnit) -> Any:
        name = Path(unit.path).name
        n = len([m for m in os.listdir(self.marks) if m.startswith(name + ".")])
        Path(self.marks, f"{name}.{n + 1}").touch()
        mode = self.victims.get(name)
        if mode is None or n > 0:
            return self.fn(unit)
        if mode == "before":
            os._exit(1)
        result = self.fn(unit)
        if mode == "after_part":
            Path(parts.manifest_path(unit.path)).unlink()
        os._exit(1)
        return result  # never reached


def attempts(marks: Path) -> dict[str, int]:
    """Part name -> how many times a unit function started on it."""
    out: dict[str, int] = {}
    for m in os.listdir(marks):
        name = m.rsplit(".", 1)[0]
        out[name] = out.get(name, 0) + 1
    return out


class WaitForRelease:
    """A unit function that marks its start, then waits for a file before doing the unit.

    Each call touches ``<marks>/<pid>.<part name>`` (so a test sees which worker processes
    hold which units), then waits until ``release`` exists. A test can so stop a build at a
    known point: every worker inside a unit, no part written yet.
    """

    def __init__(self, fn: Callable[[WorkUnit], Any], marks: Path, release: Path) -> None:
        self.fn = fn
        self.marks = str(marks)
        self.release = str(release)

    def __call__(self, unit: WorkUnit) -> Any:
        Path(self.marks, f"{os.getpid()}.{Path(unit.path).name}").touch()
        while not os.path.exists(self.release):
            time.sleep(0.02)
        return self.fn(unit)


class GatedLocalRunner(LocalRunner):
    """A LocalRunner whose units wait for a release file (:class:`WaitForRelease`)."""

    def __init__(self, workers: int, marks: Path, release: Path) -> None:
        super().__init__(workers)
        self.marks, self.release = marks, release

    def run(self, fn, units):
        return super().run(WaitForRelease(fn, self.marks, self.release), units)


def descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (children, their children...), from /proc (Linux)."""
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            kids.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for kid in kids.get(todo.pop(), []):
            out.add(kid)
            todo.append(kid)
    return out


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie awaiting its reaper is not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` every 20 ms until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {timeout} s for {what}")
        time.sleep(0.02)


class HoldOnNode:
    """A Ray unit function that records the node of every attempt and holds one unit on the
    node ``doomed`` until the test removes that node.

    Every attempt leaves ``<marks>/<part name>@<node id>@<n>``. The first attempt that runs on
    ``doomed`` touches ``<marks>/held`` and waits (its node is removed under it); attempts
    elsewhere first wait for ``held``, so that ``doomed`` is the node with a free CPU when
    the next unit is scheduled, whatever the order Ray starts them in.
    """

    def __init__(self, fn: Callable[[WorkUnit], Any], marks: Path, doomed: str, timeout: float = 300) -> None:
        self.fn = fn
        self.marks = str(marks)
        self.doomed = doomed
        self.timeout = timeout

    def __call__(self, unit: WorkUnit) -> Any:
        import ray

        node = ray.get_runtime_context().get_node_id()
        name = Path(unit.path).name
        n = len([m for m in os.listdir(self.marks) if m.startswith(name + "@")])
        Path(self.marks, f"{name}@{node}@{n + 1}").touch()
        held = Path(self.marks, "held")
        if node == self.doomed:
            held.touch()
            time.sleep(self.timeout)
            raise RuntimeError(f"node {node} was not removed within {self.timeout} s")
        wait_for(held.exists, self.timeout, f"a unit held on node {self.doomed}")
        return self.fn(unit)


def attempts_by_node(marks: Path) -> dict[str, list[str]]:
    """Part name -> the node of each attempt, in order (from :class:`HoldOnNode`'s marks)."""
    out: dict[str, list[tuple[int, str]]] = {}
    for m in os.listdir(marks):
        if m.count("@") == 2:
            name, node, n = m.split("@")
            out.setdefault(name, []).append((int(n), node))
    return {name: [node for _, node in sorted(tries)] for name, tries in out.items()}


def environment_variable(name: str) -> str | None:
    """A unit function: the value of ``name`` in the worker's environment."""
    return os.environ.get(name)


class ElsewhereRunner:
    """A runner whose units run from another current folder, as on a Ray node whose
    ``ray start`` ran in another folder than the build: a path left relative in a request
    names another file (or none) there. Units run in this process, one at a time."""

    workers = 1

    def __init__(self, where: Path) -> None:
        self.where = Path(where)

    def run(self, fn: Callable[[Any], Any], units: list[Any]):
        for unit in units:
            here = os.getcwd()
            os.chdir(self.where)
            try:
                result = fn(unit)
            finally:
                os.chdir(here)
            yield result
