"""The Ray runner on a multi-node Ray cluster on this machine (Ray's own
``ray.cluster_utils.Cluster``: a head node without CPUs and two worker nodes of one CPU):
units spread over the nodes, same output as the local runner, killed tasks and a lost node
retried with nothing lost or doubled, resume after a failed build, a second driver joining
the cluster, the CLI sharing one cluster-wide pause (the pause itself: test_politeness). One
cluster serves the whole module (starting one takes seconds)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from dance_aggregate.cli import cli
from dance_aggregate.errors import DanceAggregateError
from dance_aggregate.fetch.politeness_ray import RayPoliteness
from dance_aggregate.output.folder import read_config
from dance_aggregate.pipeline.ray_runner import RayRunner
from dance_aggregate.pipeline.units import run_unit
from dance_aggregate.sample.makers import make_sample
from tests.helpers_runners import (
    DieOnce,
    HoldOnNode,
    attempts,
    attempts_by_node,
    build_sample,
    folder_snapshot,
    wait_for,
)
from tests.helpers_sample import expected_ucf101

ray = pytest.importorskip(
    "ray", reason='Ray is not installed (pip install "dance-aggregate[ray]"); the Ray runner tests need it'
)


REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cluster():
    """A head node with no CPU (so every unit runs on a worker node) and two worker nodes
    with one CPU each, all on this machine; this process is its driver."""
    from ray.cluster_utils import Cluster

    head = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    try:
        for _ in range(2):
            head.add_node(num_cpus=1)
        # Workers must import tests.helpers_runners (DieOnce travels by reference).
        pythonpath = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
        ray.init(address=head.address, log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": pythonpath}})
        head.wait_for_nodes()
        yield head
    finally:
        ray.shutdown()
        head.shutdown()


@pytest.fixture(scope="module")
def ray_instance(cluster):
    """Ray is initialised, on the module's cluster (this overrides conftest's 2-CPU local
    instance)."""
    assert ray.is_initialized() and int(ray.cluster_resources()["CPU"]) == 2


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    path = tmp_path_factory.mktemp("cache")
    make_sample(path)
    return path


@pytest.fixture(scope="module")
def local_out(cache, tmp_path_factory):
    """The whole sample (every config, dedup, ``all``, card) built by the local runner."""
    out = tmp_path_factory.mktemp("local") / "out"
    res = CliRunner().invoke(cli, ["build", "--sample", "--cache-dir", str(cache), "-O", str(out), "-q", "--part-size", "2"])
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture(scope="module")
def local_ucf(cache, tmp_path_factory):
    """The UCF101 sample alone built by the local runner (reference of the kill tests)."""
    out = tmp_path_factory.mktemp("local-ucf") / "out"
    build_sample(make_sample(cache), out, part_size=2)
    return out


class DyingRayRunner(RayRunner):
    """A RayRunner whose unit function kills its worker on chosen units' first attempt."""

    def __init__(self, marks: Path, victims: dict[str, str], **kw) -> None:
        super().__init__(2, **kw)
        self.marks, self.victims = marks, victims

    def run(self, fn, units):
        return super().run(DieOnce(fn, self.marks, self.victims), units)


def _part_names(out: Path) -> list[str]:
    return sorted(p.name for p in (out / ".work/parts/ucf101").glob("*.parquet"))


@pytest.mark.slow
def test_cli_ray_build_equals_local_build(ray_instance, cache, local_out, tmp_path):
    out = tmp_path / "out"
    work = f"file://{tmp_path}/shared-work"
    res = CliRunner().invoke(
        cli,
        ["build", "--sample", "--cache-dir", str(cache), "-O", str(out), "-q", "--part-size", "2",
         "--runner", "ray", "-j", "2", "--work-dir", work],
    )
    assert res.exit_code == 0, res.output
    ucf = next(s for s in make_sample(cache) if s.config == "ucf101")
    assert expected_ucf101(ucf.data_dir).summary("ucf101") in res.output
    assert sorted((tmp_path / "shared-work/parts/ucf101").glob("*.json")), "parts went to --work-dir"
    # rows, media bytes, shards, card and reports (timing aside) are identical
    assert folder_snapshot(out) == folder_snapshot(local_out)
    assert ray.is_initialized(), "a Ray instance the runner did not start is left running"


@pytest.mark.slow
def test_killed_tasks_are_retried_nothing_lost_nothing_doubled(ray_instance, cache, local_ucf, tmp_path):
    srcs = make_sample(cache)
    names = _part_names(local_ucf)  # same records and options -> same part names
    assert len(names) >= 3
    victims = {names[0]: "before", names[1]: "after_part", names[2]: "after_manifest"}
    marks = tmp_path / "marks"
    marks.mkdir()
    out = tmp_path / "out"
    [result] = build_sample(srcs, out, part_size=2, runner=DyingRayRunner(marks, victims))
    tries = attempts(marks)
    assert {n: tries[n] for n in victims} == dict.fromkeys(victims, 2), "each killed unit ran again once"
    assert all(tries[n] == 1 for n in names if n not in victims)
    n = expected_ucf101(next(s for s in srcs if s.config == "ucf101").data_dir).rows_written
    assert result.accounting.adds_up and result.accounting.rows_written == n
    ids = [i for t in read_config(out, "ucf101").values() for i in t.column("id").to_pylist()]
    assert len(ids) == len(set(ids)) == n
    assert folder_snapshot(out) == folder_snapshot(local_ucf)


@pytest.mark.slow
def test_failed_build_resumes_without_redoing_finished_shards(ray_instance, cache, local_ucf, tmp_path):
    srcs = make_sample(cache)
    names = _part_names(local_ucf)
    marks = tmp_path / "marks"
    marks.mkdir()
    out = tmp_path / "out"
    runner = DyingRayRunner(marks, {names[-1]: "before"}, max_retries=0, max_in_flight=1)
    with pytest.raises(DanceAggregateError, match="run the same build command again"):
        build_sample(srcs, out, part_size=2, runner=runner)
    done_before = {n for n in _part_names(out) if (out / ".work/parts/ucf101" / n).with_suffix(".json").is_file()}
    assert done_before, "units finished before the failure are kept"
    # the rerun (a plain Ray runner) only does what was left
    marks2 = tmp_path / "marks2"
    marks2.mkdir()
    build_sample(srcs, out, part_size=2, runner=DyingRayRunner(marks2, {}))
    assert set(attempts(marks2)) == set(names) - done_before
    assert folder_snapshot(out) == folder_snapshot(local_ucf)


def test_unit_exception_is_not_retried_and_names_the_part(ray_instance, cache, tmp_path):
    srcs = make_sample(cache)
    from dance_aggregate.pipeline.units import plan_units
    from tests.helpers_produce import context
    from tests.helpers_runners import sample_builder

    builder = sample_builder(srcs[0])
    units = plan_units(context(builder, tmp_path), builder.plan().records, str(tmp_path / "w"), 4)
    for u in units:
        u.records = None  # a bug inside the unit function: TypeError in the worker
    with pytest.raises(DanceAggregateError, match=r"\.parquet: failed on Ray"):
        list(RayRunner(2, max_retries=2).run(run_unit, units))


@pytest.mark.slow
def test_cli_joins_an_existing_cluster_with_ray_address(ray_instance, cache, tmp_path):
    """A second driver process joins the running cluster, as on a cluster's head node: its
    job is in the cluster's job table with that process as its driver."""
    from ray._private.state import jobs

    address = ray.get_runtime_context().gcs_address
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "dance_aggregate", "build", "ucf101", "--sample", "--cache-dir", str(cache), "-O", str(out),
           "--part-size", "2", "--runner", "ray", "--ray-address", address]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, output
    assert f"connecting to the Ray cluster at {address}" in output
    assert "starting a local Ray instance" not in output
    assert [j["DriverPid"] for j in jobs()].count(proc.pid) == 1, "the build ran as a job of this cluster"
    # --sample marks its reports and card as the sample: the reference is the same request locally.
    reference = tmp_path / "reference" / "out"  # the card names the folder
    build_sample(make_sample(cache), reference, part_size=2, sample=True, cache_dir=cache)
    assert folder_snapshot(out) == folder_snapshot(reference)


@pytest.mark.slow
def test_relative_paths_reach_workers_started_in_another_folder(ray_instance, cache, tmp_path):
    """The cluster's workers run in the folder its nodes were started in, not the driver's:
    a build run from another folder with a relative ``-O`` and ``--cache-dir`` stores the
    same clips as with absolute ones (before, the parts were lost or every clip was
    "unreadable media")."""
    driver = tmp_path / "driver"
    driver.mkdir()
    assert Path.cwd() != driver
    address = ray.get_runtime_context().gcs_address
    cmd = [sys.executable, "-m", "dance_aggregate", "build", "ucf101", "--sample", "--cache-dir", os.path.relpath(cache, driver),
           "-O", "out", "--part-size", "2", "--runner", "ray", "--ray-address", address]
    proc = subprocess.run(cmd, cwd=driver, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    reference = tmp_path / "reference" / "out"  # the same --sample request, run locally (same folder name: the card names it)
    build_sample(make_sample(cache), reference, part_size=2, sample=True, cache_dir=cache)
    assert folder_snapshot(driver / "out") == folder_snapshot(reference)


class HoldingRayRunner(RayRunner):
    """A RayRunner whose unit function holds a unit on one node (:class:`HoldOnNode`)."""

    def __init__(self, marks: Path, doomed: str) -> None:
        super().__init__(2)
        self.marks, self.doomed = marks, doomed

    def run(self, fn, units):
        return super().run(HoldOnNode(fn, self.marks, self.doomed), units)


@pytest.mark.slow
def test_units_spread_over_nodes_and_a_lost_node_costs_nothing(cluster, ray_instance, cache, local_ucf, tmp_path):
    """Units run on every worker node; a node removed while it runs a unit has that unit run
    again on another node; the output is the local runner's, byte for byte."""
    doomed = cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    marks = tmp_path / "marks"
    marks.mkdir()
    out = tmp_path / "out"
    results: list = []
    build = threading.Thread(
        target=lambda: results.append(build_sample(make_sample(cache), out, part_size=2, runner=HoldingRayRunner(marks, doomed.node_id))),
        daemon=True,
    )
    build.start()
    try:
        wait_for(lambda: (marks / "held").exists() or not build.is_alive(), 240, "a unit to start on the node to remove")
    finally:
        cluster.remove_node(doomed)  # kills its raylet and the worker holding the unit
    build.join(timeout=300)
    assert not build.is_alive() and results, "the build finished"
    [[result]] = results
    tries = attempts_by_node(marks)
    [victim] = [name for name, nodes in tries.items() if doomed.node_id in nodes]
    assert tries[victim][0] == doomed.node_id and len(tries[victim]) == 2
    assert tries[victim][1] != doomed.node_id, "the lost node's unit ran again on another node"
    assert all(len(nodes) == 1 for name, nodes in tries.items() if name != victim)
    worker_nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"] and n["Resources"].get("CPU")} | {doomed.node_id}
    assert {node for nodes in tries.values() for node in nodes} == worker_nodes, "every worker node ran units"
    n = expected_ucf101(next(s for s in make_sample(cache) if s.config == "ucf101").data_dir).rows_written
    assert result.accounting.adds_up and result.accounting.rows_written == n
    assert folder_snapshot(out) == folder_snapshot(local_ucf)


def test_cli_ray_builders_that_download_share_one_cluster_pause(ray_instance, cache, tmp_path):
    """--runner ray hands the units of the configs that download the cluster's politeness
    actor (by name); a config that downloads nothing gets none."""
    import pickle

    from dance_aggregate.fetch.options import FetchOptions
    from dance_aggregate.pipeline.build import make_builders, make_runner, shared_politeness
    from dance_aggregate.pipeline.config import RunSettings
    from dance_aggregate.pipeline.request import BuildRequest

    names = ["kinetics600", "ucf101"]
    request = BuildRequest(configs=names, data_dirs={"kinetics600": tmp_path, "ucf101": tmp_path}, output=tmp_path,
                           runner="ray", fetch=FetchOptions(pause_base=5, pause_max=50))
    runner, _ = make_runner(request)  # Ray is already up (the fixture): the runner uses it
    settings = RunSettings(output=tmp_path, fetch=request.fetch, politeness=shared_politeness(runner, names, request))
    kinetics, ucf = (settings.context(b) for b in make_builders(request, names))
    assert isinstance(kinetics.politeness, RayPoliteness) and ucf.politeness is None and ucf.fetch is None
    assert kinetics.fetcher().politeness is kinetics.politeness
    travelled = pickle.loads(pickle.dumps(kinetics))  # as a unit carries it to a worker
    assert travelled.politeness.name == kinetics.politeness.name
    assert travelled.politeness.status()["level"] == 0
