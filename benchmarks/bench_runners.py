"""Benchmark the runners: the UCF101 sample scaled up to a few hundred clips, built with
1 and 2 workers under the local runner and the Ray runner.

Usage::

    python benchmarks/bench_runners.py                  # 240 clips, local:1 local:2 ray:1 ray:2
    python benchmarks/bench_runners.py --clips 60 --runs local:2,ray:2

Each build runs ``dance-aggregate build ucf101`` in a fresh subprocess into a fresh output
folder, so Ray's start-up is part of the figure (as it is for a user). Reported per run:
wall time, clips/s (rows written / wall time), CPU seconds of the whole process tree (from
/proc, so the figure stays meaningful on a busy machine), and peak memory of the whole process tree
(driver, worker processes, and for Ray its GCS, raylet and workers), as the peak of the
sum of PSS over the tree (PSS splits shared pages between processes, so the sum does not
double count shared libraries), sampled every 0.2 s from /proc (Linux only). The script
also checks that every run wrote the same rows, and says whether the media bytes and the
shard files are identical too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from dance_aggregate.media.synth import write_ucf_avi

REPO = Path(__file__).resolve().parents[1]
GROUPS = 25  # UCF101 SalsaSpin has 25 groups; folds put g01-g07 in test of fold 1


def make_tree(root: Path, clips: int, seconds: float, jobs: int = 1) -> Path:
    """A UCF101 tree with ``clips`` SalsaSpin clips spread over the 25 groups (cached),
    written by ``jobs`` processes."""
    marker = root / f".done-{clips}-{seconds}"
    if marker.is_file():
        return root
    if root.exists():
        shutil.rmtree(root)
    class_ind = resources.files("dance_aggregate").joinpath("sample/ucf101_classInd.txt").read_bytes()
    index = {n: int(i) for i, n in (line.split() for line in class_ind.decode().splitlines() if line.strip())}
    lists: dict[str, list[str]] = {f"{k}list0{f}.txt": [] for k in ("train", "test") for f in (1, 2, 3)}
    todo = []
    for n in range(clips):
        group, clip = n % GROUPS + 1, n // GROUPS + 1
        name = f"v_SalsaSpin_g{group:02d}_c{clip:02d}.avi"
        todo.append((root / "UCF-101" / "SalsaSpin" / name, 5000 + n, seconds, n % 7 != 3))
        for fold in (1, 2, 3):
            if 7 * (fold - 1) < group <= 7 * fold:
                lists[f"testlist0{fold}.txt"].append(f"SalsaSpin/{name}")
            else:
                lists[f"trainlist0{fold}.txt"].append(f"SalsaSpin/{name} {index['SalsaSpin']}")
    if jobs > 1:
        with multiprocessing.get_context("spawn").Pool(jobs) as pool:
            pool.starmap(_write_avi, todo)
    else:
        for args in todo:
            _write_avi(*args)
    tl = root / "ucfTrainTestlist"
    tl.mkdir(parents=True, exist_ok=True)
    (tl / "classInd.txt").write_bytes(class_ind)
    for name, lines in lists.items():
        (tl / name).write_bytes("".join(f"{x}\r\n" for x in sorted(lines)).encode())
    marker.touch()
    return root


def _write_avi(path: Path, seed: int, seconds: float, audio: bool) -> None:
    write_ucf_avi(path, seed=seed, seconds=seconds, audio=audio)


def baseline_src(args: argparse.Namespace) -> Path | None:
    """The ``src`` folder of the baseline the benchmark compares against: ``--baseline-src``, or
    ``--baseline-rev`` exported once (``git archive``) into ``<--dir>/baseline-<rev>``; ``None``
    for neither."""
    if args.baseline_src:
        return args.baseline_src / "src"
    if not args.baseline_rev:
        return None
    dest = args.dir / f"baseline-{args.baseline_rev}"
    if not (dest / "src").is_dir():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(REPO), "archive", args.baseline_rev, "src"], capture_output=True, check=True)
        tar = dest / "src.tar"
        tar.write_bytes(archive.stdout)
        with tarfile.open(tar) as t:
            t.extractall(dest, filter="data")
    return dest / "src"


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


_TICK = os.sysconf("SC_CLK_TCK")


def tree_sample(
    root: int,
    cpu: dict[int, float],
    pss: dict[int, int] | None = None,
    roles: dict[int, str] | None = None,
    role: Callable[[int], str] | None = None,
) -> int:
    """PSS of the process tree under ``root`` now, in kB. Updates ``cpu`` (pid -> CPU seconds
    used so far), and where given ``pss`` (pid -> peak kB) and ``roles`` (pid -> ``role(pid)``,
    asked again each time: a forkserver is a copy of the build until it execs)."""
    kids = _children()
    todo, total = [root], 0
    while todo:
        pid = todo.pop()
        todo.extend(kids.get(pid, []))
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                fields = f.read().decode(errors="replace").rsplit(")", 1)[1].split()
            cpu[pid] = (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
            with open(f"/proc/{pid}/smaps_rollup") as f:
                kb = next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
        except (OSError, IndexError, ValueError, StopIteration):
            continue
        if roles is not None and role is not None:
            roles[pid] = role(pid)
        if pss is not None:
            pss[pid] = max(pss.get(pid, 0), kb)
        total += kb
    return total


def run_build(tree: Path, out: Path, runner: str, workers: int, part_size: int) -> dict:
    """One build in a subprocess; wall time and peak PSS of its process tree."""
    cmd = [
        sys.executable, "-m", "dance_aggregate", "build", "ucf101", "--data-dir", f"ucf101={tree}",
        "-O", str(out), "-q", "-j", str(workers), "--part-size", str(part_size), "--runner", runner,
    ]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0
    cpu: dict[int, float] = {}
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_sample(proc.pid, cpu))
            stop.wait(0.2)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    output, _ = proc.communicate()
    wall = time.monotonic() - t0
    stop.set()
    th.join()
    if proc.returncode:
        raise SystemExit(f"build failed ({' '.join(cmd)}):\n{output}")
    report = json.loads((out / "reports" / "ucf101.json").read_text())
    rows = report["accounting"]["rows_written"]
    return {
        "runner": runner,
        "workers": workers,
        "rows": rows,
        "wall_s": round(wall, 2),
        "build_s": report["elapsed_seconds"],
        "clips_per_s": round(rows / wall, 2),
        "cpu_s": round(sum(cpu.values()), 1),
        "clips_per_cpu_s": round(rows / max(sum(cpu.values()), 1e-9), 2),
        "peak_pss_mb": round(peak / 1024, 1),
        **_digests(out),
    }


def _digests(out: Path, config: str = "ucf101") -> dict[str, str]:
    """Short digests of a config's output: rows without media (ids, labels, splits,
    hashes...), the media cells' bytes, and the shard files' bytes."""
    from dance_aggregate.output.folder import read_config

    rows, media, files = hashlib.sha256(), hashlib.sha256(), hashlib.sha256()
    for split, table in sorted(read_config(out, config).items()):
        for name in table.column_names:
            values = table.column(name).to_pylist()
            if name in ("video", "audio"):
                for cell in values:
                    media.update((cell or {}).get("bytes") or b"-")
            else:
                rows.update(f"{split}/{name}/{values!r}".encode())
    for p in sorted((out / "data" / config).glob("*.parquet")):
        files.update(p.name.encode() + p.read_bytes())
    return {"rows_sha": rows.hexdigest()[:12], "media_sha": media.hexdigest()[:12], "files_sha": files.hexdigest()[:12]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips", type=int, default=240, help="SalsaSpin clips to generate")
    ap.add_argument("--seconds", type=float, default=2.0, help="length of each generated clip")
    ap.add_argument("--part-size", type=int, default=16, help="clips per unit of work")
    ap.add_argument("--runs", default="local:1,local:2,ray:1,ray:2", help="RUNNER:WORKERS list")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/dance_aggregate_bench"), help="scratch folder")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args()

    t0 = time.monotonic()
    tree = make_tree(args.dir / f"ucf101-{args.clips}", args.clips, args.seconds)
    print(f"raw tree: {args.clips} clips of {args.seconds} s in {tree} ({time.monotonic() - t0:.1f} s)", file=sys.stderr)
    results = []
    for spec in args.runs.split(","):
        runner, workers = spec.split(":")
        out = args.dir / f"out-{runner}-{workers}"
        shutil.rmtree(out, ignore_errors=True)
        res = run_build(tree, out, runner, int(workers), args.part_size)
        print(json.dumps(res), file=sys.stderr)
        results.append(res)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print(
            f"{'runner':<7} {'workers':>7} {'rows':>5} {'wall s':>7} {'clips/s':>8} {'CPU s':>7} {'clips/CPU s':>11} "
            f"{'peak PSS MB':>12}  rows / media / files"
        )
        for r in results:
            print(
                f"{r['runner']:<7} {r['workers']:>7} {r['rows']:>5} {r['wall_s']:>7} {r['clips_per_s']:>8} "
                f"{r['cpu_s']:>7} {r['clips_per_cpu_s']:>11} {r['peak_pss_mb']:>12}  "
                f"{r['rows_sha']} / {r['media_sha']} / {r['files_sha']}"
            )
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", file=sys.stderr)
    if len({r["rows_sha"] for r in results}) > 1:
        raise SystemExit("runs wrote different rows (ids, labels, splits...): the runners must give the same output")
    if len({r["media_sha"] for r in results}) > 1:
        print("note: media bytes differ between runs (encoder non-determinism); rows are the same", file=sys.stderr)


if __name__ == "__main__":
    main()
