"""Benchmark planning a huge Kinetics CSV offline: wall time, peak memory, files in ``.work``.

Usage::

    python benchmarks/bench_plan.py                                  # 1,000,000 rows, ~3 % dance
    python benchmarks/bench_plan.py --rows 1000000 --mode all-dance  # every row a dance clip
    python benchmarks/bench_plan.py --rows 100000,1000000 --baseline-rev 33334ef

Each setting writes a synthetic Kinetics-600 ``train.csv`` of ``--rows`` rows (made once and
cached in ``--dir``) and builds it with ``dance-aggregate build kinetics600 --offline``, in a
fresh subprocess. The ``--video-dir`` mirror holds only three of its dance clips (tiny 10 s
videos, so that the config writes rows): every other dance row is a
:class:`~dance_aggregate.records.RemoteCut` that fails offline as ``missing video``, and every
other row is excluded by rule as ``not a dance class``. Two modes:

- ``real`` (default): the class mix of the real Kinetics-700 lists, where 20 dance classes of
  700 make about 3 % of the rows (here exactly ``--dance-share``, 0.03, drawn at random);
- ``all-dance``: every row is a dance clip (the shape of the report in issue 21, item 13:
  one ledger file and one lock per clip, 1.65 million files).

Per setting: wall time, peak RSS of the process tree (sampled from ``/proc`` every 0.1 s, the
sampler of ``bench_runners.py``; RSS, not PSS, because the question is "does it fit in 1 GB"),
the same for the build alone (``ru_maxrss`` of the reaped child: the kernel's exact
high-water mark), files, bytes and disk space (allocated blocks) under ``<output>/.work``, and the build's own
timings (plan, units, split rule) from its report. ``--timeline`` also prints RSS every
second, to see which phase holds the peak.

The baseline: ``--baseline-rev REV`` builds the same input with the package at a git
revision (``git archive``, put first on ``PYTHONPATH``), in the same run and on the same
machine, so the figures compare like with like; ``--baseline-src DIR`` takes a tree holding
``src/`` instead, and ``--also NAME=DIR`` adds more trees. Without one, run several
``--rows`` to show how each figure scales.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_runners import _children, baseline_src  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
#: The 20 dance classes of Kinetics-600 (the crosswalk's names).
DANCE = (
    "belly dancing", "breakdancing", "cheerleading", "country line dancing", "cumbia", "dancing ballet",
    "dancing charleston", "dancing gangnam style", "dancing macarena", "jumpstyle dancing", "krumping",
    "moon walking", "mosh pit dancing", "robot dancing", "salsa dancing", "square dancing", "swing dancing",
    "tango dancing", "tap dancing", "zumba",
)
#: Stand-ins for the 680 other classes (names the crosswalk does not know: not dance).
OTHER = tuple(f"other action {i:03d}" for i in range(680))
_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def make_csv(root: Path, rows: int, dance_share: float, seed: int = 0) -> Path:
    """A Kinetics-600 data folder with one ``train.csv`` of ``rows`` rows and, in
    ``mirror/``, the videos of its first :data:`MIRRORED` dance clips (cached)."""
    folder = root / f"k600-{rows}-{dance_share}"
    done = folder / ".done"
    if done.is_file():
        return folder
    from dance_aggregate.media.synth import write_video

    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    mirrored = 0
    with (folder / "train.csv").open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
        for _ in range(rows):
            label = rng.choice(DANCE) if rng.random() < dance_share else rng.choice(OTHER)
            vid = "".join(rng.choice(_ID_CHARS) for _ in range(11))
            start = rng.randrange(0, 300)
            w.writerow([label, vid, start, start + 10, "train"])
            if label in DANCE and mirrored < MIRRORED:
                write_video(folder / "mirror" / "train" / f"{vid}_{start:06d}_{start + 10:06d}.mp4", mirrored,
                            seconds=10.0, fps=10, width=64, height=48)
                mirrored += 1
    done.touch()
    return folder


#: Dance clips of the CSV given a mirror file, so the config writes a few rows (a config of
#: no row fails the build in later versions, and has no report to read the timings from).
MIRRORED = 3


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    except (OSError, StopIteration, ValueError):
        return 0


def tree_rss_kb(root: int) -> int:
    """RSS of the process tree under ``root`` now, in kB."""
    kids = _children()
    todo, total = [root], 0
    while todo:
        pid = todo.pop()
        todo.extend(kids.get(pid, []))
        total += _rss_kb(pid)
    return total


def _files_under(folder: Path) -> tuple[int, int, int]:
    """Files under ``folder``, their bytes, and the disk space they take (allocated blocks)."""
    n = size = disk = 0
    for dirpath, _, names in os.walk(folder):
        for name in names:
            n += 1
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            size += st.st_size
            disk += st.st_blocks * 512
    return n, size, disk


def run_build(data: Path, out: Path, src: Path, workers: int, timeout: float, timeline: bool) -> dict:
    """One offline build in a subprocess; wall time, peak RSS, files in ``.work``."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "dance_aggregate", "build", "kinetics600", "--data-dir", f"kinetics600={data}",
           "--video-dir", f"kinetics600={data / 'mirror'}", "--offline", "-O", str(out), "-q", "-j", str(workers)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(src), os.environ.get("PYTHONPATH")) if p)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    peak, samples = 0, []
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        last = -1.0
        while not stop.is_set():
            now = tree_rss_kb(proc.pid)
            peak = max(peak, now)
            t = time.monotonic() - t0
            if timeline and t - last >= 1.0:
                samples.append((round(t, 1), round(now / 1024)))
                last = t
            stop.wait(0.1)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        return {"error": f"timed out after {timeout} s", "output": output[-2000:]}
    finally:
        stop.set()
        th.join()
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode:
        return {"error": f"exit code {proc.returncode}", "output": output[-4000:]}
    files, size, disk = _files_under(out / ".work")
    report = json.loads((out / "reports" / "kinetics600.json").read_text())
    acc = report["accounting"]
    res = {
        "wall_s": round(wall, 1),
        "peak_rss_mb": round(peak / 1024),
        # ru_maxrss of RUSAGE_CHILDREN is the largest of any reaped child so far: exact for
        # the build process when it is the largest yet (the first, or a larger build).
        "build_maxrss_mb": round(after / 1024) if after > before else None,
        "work_files": files,
        "work_mb": round(size / 2**20, 1),
        "work_disk_mb": round(disk / 2**20, 1),
        "records_read": acc["records_read"],
        "rows_written": acc["rows_written"],
        "excluded": acc["excluded"],
        "timings": report.get("timings", {}),
    }
    if timeline:
        res["timeline"] = samples
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", default="1000000", help="rows of the CSV, comma-separated for several settings")
    ap.add_argument("--mode", choices=("real", "all-dance"), default="real")
    ap.add_argument("--dance-share", type=float, default=0.03, help="share of dance rows in mode real")
    ap.add_argument("--workers", type=int, default=1, help="-j of the build")
    ap.add_argument("--baseline-rev", default=None, help="git revision of the baseline code (git archive)")
    ap.add_argument("--baseline-src", type=Path, default=None, help="a baseline source tree (holding src/)")
    ap.add_argument("--also", action="append", default=[], metavar="NAME=DIR",
                    help="also build with the tree DIR (holding src/), reported as NAME (repeatable)")
    ap.add_argument("--no-new", action="store_true", help="do not build with this checkout's code")
    ap.add_argument("--timeline", action="store_true", help="print RSS every second")
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per build")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/dance_aggregate_plan"), help="scratch folder")
    ap.add_argument("--keep", action="store_true", help="keep each build's output folder")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    share = 1.0 if args.mode == "all-dance" else args.dance_share
    codes = {} if args.no_new else {"new": REPO / "src"}
    base = baseline_src(args)
    if base is not None:
        codes = {"baseline": base, **codes}
    for item in args.also:
        name, _, tree = item.partition("=")
        codes[name] = Path(tree) / "src"
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; mode {args.mode}", flush=True)
    for n in (int(x) for x in args.rows.split(",")):
        t0 = time.monotonic()
        data = make_csv(args.dir, n, share)
        print(f"{n} rows: CSV ready in {time.monotonic() - t0:.1f} s ({(data / 'train.csv').stat().st_size / 2**20:.0f} MB)",
              flush=True)
        for code, src in codes.items():
            out = args.dir / f"out-{code}-{n}-{args.mode}"
            res = run_build(data, out, src, args.workers, args.timeout, args.timeline)
            res.update({"code": code, "rows": n, "mode": args.mode, "workers": args.workers,
                        "load_avg": round(os.getloadavg()[0], 1)})
            print(json.dumps(res), flush=True)
            if not args.keep:
                shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
