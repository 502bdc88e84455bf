"""Benchmark how the local runner scales with workers: clips/s, CPU per clip, efficiency and
memory per worker, for 1..N workers, the current code side by side with a baseline tree.

Usage::

    python benchmarks/bench_scaling.py                              # ucf and real, 1 and 2 workers
    python benchmarks/bench_scaling.py --workers 1,2,4,8,16 --baseline-rev 34e856c
    python benchmarks/bench_scaling.py --workload real --baseline-src /tmp/base   # a tree with src/

Two workloads, each built by ``dance-aggregate build`` in a fresh subprocess per setting:

- ``ucf``: UCF101-style clips (Xvid + MP3 in AVI, 320x240, 25 fps, ``--ucf-seconds`` long),
  the workload of ``bench_runners.py``;
- ``real``: Kinetics-600 built from a local mirror of full-length sources, close to the real
  build: 10 s clips cut out of ``--source-seconds`` long H.264 + AAC MP4s (High profile with
  B-frames, a keyframe every 5 s, like a YouTube download), a share ``--hd-share`` of them
  1280x720 and the rest 640x360, 30 fps, with a panned texture, a moving block and grain.

Sources are made with PyAV alone, ``--jobs`` at a time (no ffmpeg binary needed). Each
setting runs in its own process with its own ``--timeout``; every result is appended to
``--out`` (JSON lines) as soon as it is known, so a setting that fails or times out costs
only itself. Per setting: wall time, clips/s (rows written / wall), CPU seconds per clip of
the whole process tree (sampled from /proc every 0.1 s, and the build's own ``wait4`` usage:
the larger of the two), efficiency (clips/s over N times the same code's 1-worker clips/s),
peak PSS of the process tree, and the PSS each extra worker adds over the 1-worker build.
Also the build's own timings (plan, units, final shards, the ``all`` config) from its
reports. Rows, media bytes and shard files of every setting of a workload must be identical.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_runners import _digests, baseline_src, make_tree, tree_sample  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LABEL = "salsa dancing"  # a Kinetics-600 dance class


# -- workloads -------------------------------------------------------------------------------
def write_source(path: Path, seed: int, width: int, height: int, seconds: float, fps: int = 30) -> None:
    """A YouTube-like source with PyAV alone: H.264 High (libx264 veryfast, B-frames, a
    keyframe every 5 s) + AAC stereo 44.1 kHz in MP4. The content is a texture panned over
    time with grain and a moving block, made directly in YUV 4:2:0 (cheap to make; x264
    finds it somewhat easier than camera footage, see docs/scaling.md)."""
    import av
    import numpy as np

    from dance_aggregate.media.synth import pattern_frame, tone

    rng = np.random.default_rng(seed)
    tex = av.VideoFrame.from_ndarray(pattern_frame(seed, 0, width, height), format="rgb24")
    tex = tex.reformat(width=2 * width, height=2 * height, format="yuv420p", threads=1).to_ndarray()
    ys, us, vs = tex[: 2 * height], tex[2 * height : 2 * height + height // 2], tex[2 * height + height // 2 :]
    grain = [np.clip(ys.astype(np.int16) + rng.integers(-4, 5, ys.shape), 0, 255).astype(np.uint8) for _ in range(5)]
    buf = np.empty((height * 3 // 2, width), np.uint8)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(tmp), mode="w", format="mp4") as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        v.codec_context.thread_count = 1
        v.options = {"preset": "veryfast", "crf": "23", "threads": "1", "x264-params": f"keyint={5 * fps}"}
        a = out.add_stream("aac", rate=44100)
        a.layout = "stereo"
        s = max(16, height // 5) // 2 * 2
        for i in range(int(seconds * fps)):
            x = int(width * (0.5 + 0.5 * np.sin(i * 0.011 + seed))) // 2 * 2
            y = int(height * (0.5 + 0.5 * np.cos(i * 0.007 + seed))) // 2 * 2
            buf[:height] = grain[i % 5][y : y + height, x : x + width]
            # the two chroma planes, each (height/2) x (width/2), packed two rows per row
            for k, plane in enumerate((us, vs)):
                crop = plane.reshape(height, width)[y // 2 : y // 2 + height // 2, x // 2 : x // 2 + width // 2]
                buf[height + k * height // 4 : height + (k + 1) * height // 4] = crop.reshape(height // 4, width)
            cx = int((width - s) * (0.5 + 0.45 * np.sin(i * 0.09 + seed))) // 2 * 2
            cy = int((height - s) * (0.5 + 0.45 * np.cos(i * 0.05 + seed))) // 2 * 2
            buf[cy : cy + s, cx : cx + s] = 255 - buf[cy : cy + s, cx : cx + s]
            frame = av.VideoFrame.from_ndarray(buf, format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for p in v.encode(frame):
                out.mux(p)
        for p in v.encode(None):
            out.mux(p)
        samples = tone(seed, seconds, 44100, 2)
        for i in range(0, samples.shape[1], 1024):
            fr = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, i : i + 1024]), format="fltp", layout="stereo")
            fr.sample_rate, fr.pts, fr.time_base = 44100, i, Fraction(1, 44100)
            for p in a.encode(fr):
                out.mux(p)
        for p in a.encode(None):
            out.mux(p)
    tmp.replace(path)


def make_real(root: Path, clips: int, hd_share: float, source_seconds: float, jobs: int) -> tuple[Path, Path]:
    """A Kinetics-600 tree (CSV of ``clips`` 10 s clips) and its mirror of full sources (cached)."""
    data, mirror = root / "k600", root / "mirror"
    marker = root / f".done-{clips}-{hd_share}-{source_seconds}"
    if marker.is_file():
        return data, mirror
    todo, rows = [], []
    n_hd = round(clips * hd_share)
    for n in range(clips):
        ytid = f"bench{n:05d}x"  # 11 characters, like a YouTube id
        w, h = (1280, 720) if n < n_hd else (640, 360)
        start = 2 + (n * 7) % max(1, int(source_seconds - 12))
        split = "validate" if n % 10 == 9 else "train"
        rows.append((split, [LABEL, ytid, start, start + 10, split.replace("validate", "val")]))
        path = mirror / split / f"{ytid}.mp4"
        if not path.is_file():
            todo.append((path, 9000 + n, w, h, source_seconds))
    if todo:
        with multiprocessing.get_context("spawn").Pool(jobs) as pool:
            pool.starmap(write_source, todo)
    data.mkdir(parents=True, exist_ok=True)
    for split in ("train", "validate"):
        with (data / f"{split}.csv").open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
            w.writerows(r for s, r in rows if s == split)
    marker.touch()
    return data, mirror


# -- one build -------------------------------------------------------------------------------
def _role(pid: int, root: int) -> str:
    """``driver`` (the build), ``helper`` (forkserver, resource tracker) or ``worker``."""
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return "worker"
    if pid == root:
        return "driver"
    if b"resource_tracker" in cmd or (b"forkserver" in cmd and ppid == root):
        return "helper"
    return "worker"


def run_build(cmd: list[str], env: dict[str, str], timeout: float) -> dict:
    """Run one build; wall, CPU and memory of its process tree."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    cpu: dict[int, float] = {}
    pss: dict[int, int] = {}
    roles: dict[int, str] = {}
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, tree_sample(proc.pid, cpu, pss, roles, lambda pid: _role(pid, proc.pid)))
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
    if proc.returncode:
        return {"error": f"exit code {proc.returncode}", "output": output[-4000:]}
    workers = [p for p in pss if roles.get(p) == "worker"]
    by_role = {role: round(sum(c for p, c in cpu.items() if roles.get(p, "worker") == role), 2) for role in ("driver", "helper", "worker")}
    return {
        "wall_s": round(wall, 2),
        "cpu_sampled_s": round(sum(cpu.values()), 2),
        "cpu_driver_s": by_role["driver"],
        "cpu_helpers_s": by_role["helper"],
        "cpu_workers_s": by_role["worker"],
        "peak_pss_mb": round(peak / 1024, 1),
        "driver_pss_mb": round(pss.get(proc.pid, 0) / 1024, 1),
        "helpers_pss_mb": round(sum(pss[p] for p in pss if roles.get(p) == "helper") / 1024, 1),
        "worker_pss_mb": round(sum(pss[p] for p in workers) / max(1, len(workers)) / 1024, 1),
        "processes": len(pss),
    }


def one_setting(args: argparse.Namespace, workload: str, code: str, src: Path, workers: int, tree: dict) -> dict:
    out = args.dir / f"out-{workload}-{code}-{workers}"
    shutil.rmtree(out, ignore_errors=True)
    config = "ucf101" if workload == "ucf" else "kinetics600"
    cmd = [sys.executable, "-m", "dance_aggregate", "build", config, "-O", str(out), "-q", "-j", str(workers),
           "--part-size", str(args.part_size), "--offline", "--data-dir", f"{config}={tree['data']}"]
    if tree.get("mirror"):
        cmd += ["--video-dir", f"{config}={tree['mirror']}"]
    if args.max_short_side:
        cmd += ["--max-short-side", str(args.max_short_side)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(src), os.environ.get("PYTHONPATH")) if p)}
    before = os.times()
    res = run_build(cmd, env, args.timeout)
    after = os.times()
    res.update({"workload": workload, "code": code, "workers": workers, "part_size": args.part_size,
                "load_avg": round(os.getloadavg()[0], 1), "cpus": os.cpu_count()})
    if "error" in res:
        return res
    # CPU of the build as its reaped process tree reports it (wait4): a floor for processes
    # that ended between two samples; the larger of the two estimates is kept.
    reaped = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    res["cpu_reaped_s"] = round(reaped, 2)
    cpu = max(res["cpu_sampled_s"], reaped)
    report = json.loads((out / "reports" / f"{config}.json").read_text())
    rows = report["accounting"]["rows_written"]
    if not rows:
        res["error"] = f"no row written: {report['accounting'].get('excluded')}"
        return res
    all_report = out / "reports" / "all.json"
    timings = report.get("timings", {})
    all_s = json.loads(all_report.read_text()).get("elapsed_seconds", 0.0) if all_report.is_file() else 0.0
    res.update({
        "rows": rows,
        "clips_per_s": round(rows / res["wall_s"], 3),
        "cpu_s": round(cpu, 2),
        "cpu_per_clip_s": round(cpu / max(rows, 1), 3),
        "config_s": report["elapsed_seconds"],
        "units_s": timings.get("units_seconds"),
        "split_rule_s": timings.get("split_rule_seconds"),
        "all_s": all_s,
        "other_s": round(res["wall_s"] - report["elapsed_seconds"] - all_s, 2),
        **_digests(out, config),
    })
    return res


# -- main ------------------------------------------------------------------------------------
def _row(r: dict | None) -> list[str]:
    if not r or "error" in r:
        return ["-"] * 5 if not r else [r["error"][:28], "", "", "", ""]
    return [f"{r['clips_per_s']:.2f}", f"{r['cpu_per_clip_s']:.3f}", f"{r['efficiency']:.0%}",
            f"{r['extra_pss_mb']:.0f}" if r.get("extra_pss_mb") is not None else "-", f"{r['peak_pss_mb']:.0f}"]


def print_table(results: list[dict], codes: list[str]) -> None:
    ok = [r for r in results if "error" not in r]
    nan = float("nan")
    for r in ok:
        same = sorted((o for o in ok if o["workload"] == r["workload"] and o["code"] == r["code"]), key=lambda o: o["workers"])
        one = next((o for o in same if o["workers"] == 1), None)
        prev = next((o for o in reversed(same) if o["workers"] < r["workers"]), None)
        r["efficiency"] = r["clips_per_s"] / (r["workers"] * one["clips_per_s"]) if one else nan
        r["units_efficiency"] = one["units_s"] / (r["workers"] * r["units_s"]) if one and r.get("units_s") and one.get("units_s") else nan
        r["cpu_vs_1"] = r["cpu_per_clip_s"] / one["cpu_per_clip_s"] - 1 if one else nan
        r["extra_pss_mb"] = (r["peak_pss_mb"] - one["peak_pss_mb"]) / (r["workers"] - 1) if one and r["workers"] > 1 else None
        r["marginal_pss_mb"] = (r["peak_pss_mb"] - prev["peak_pss_mb"]) / (r["workers"] - prev["workers"]) if prev else nan
        multi = next((o for o in same if o["workers"] > 1 and o.get("cpu_driver_s") is not None), None)
        if r["workers"] > 1 and r.get("cpu_workers_s") is not None:
            r["unit_cpu_per_clip_s"] = r["cpu_workers_s"] / r["rows"]
        elif multi is not None and r.get("cpu_driver_s") is not None:
            r["unit_cpu_per_clip_s"] = (r["cpu_driver_s"] - multi["cpu_driver_s"]) / r["rows"]
        else:
            r["unit_cpu_per_clip_s"] = nan
    head = ["clips/s", "CPU s/clip", "eff.", "MB/extra worker", "peak MB"]
    for workload in dict.fromkeys(r["workload"] for r in results):
        print(f"\n{workload}: " + " | ".join(f"{c}: {' / '.join(head)}" for c in codes))
        for n in sorted({r["workers"] for r in results if r["workload"] == workload}):
            cells = []
            for c in codes:
                r = next((x for x in results if x["workload"] == workload and x["code"] == c and x["workers"] == n), None)
                cells.append(" ".join(f"{v:>8}" for v in _row(r)))
            print(f"  {n:>3} workers  " + "  |  ".join(cells))
        for c in codes:
            for r in (x for x in ok if x["workload"] == workload and x["code"] == c):
                extra = ""
                if r.get("cpu_driver_s") is not None:
                    extra = (f"CPU s: driver {r['cpu_driver_s']}, forkserver+tracker {r['cpu_helpers_s']}, workers "
                             f"{r['cpu_workers_s']}; in units {r['unit_cpu_per_clip_s']:.3f} s/clip; ")
                busy = r["cpu_s"] / r["wall_s"]
                print(f"    {c:<8} {r['workers']:>3}w: CPU/clip {r['cpu_vs_1']:+.0%} vs 1 worker; {busy:.2f} cores busy "
                      f"({busy / r['workers']:.2f} per worker); {extra}units phase efficiency "
                      f"{r['units_efficiency']:.0%}; PSS {r['marginal_pss_mb']:.0f} MB per worker added since the previous count; "
                      f"wall {r['wall_s']} s = "
                      f"plan+units+split rule {r['config_s']} (units {r['units_s']}) + all {r['all_s']} "
                      f"+ final shards, card, start-up {r['other_s']}; peak PSS: driver {r['driver_pss_mb']} MB, helpers {r['helpers_pss_mb']} MB, "
                      f"workers {r['worker_pss_mb']} MB each ({r['processes']} processes); load {r['load_avg']} on {r['cpus']} CPUs")
        digests = {(r["rows_sha"], r["media_sha"], r["files_sha"]) for r in ok if r["workload"] == workload}
        print(f"    output identical across settings: {'yes' if len(digests) == 1 else 'NO: ' + str(digests)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workload", default="ucf,real", help="ucf, real or both (comma-separated)")
    ap.add_argument("--workers", default="1,2", help="worker counts, e.g. 1,2,4,8,16")
    ap.add_argument("--ucf-clips", type=int, default=48)
    ap.add_argument("--ucf-seconds", type=float, default=4.0)
    ap.add_argument("--real-clips", type=int, default=16)
    ap.add_argument("--hd-share", type=float, default=0.5, help="share of 1280x720 sources in the real workload")
    ap.add_argument("--source-seconds", type=float, default=20.0, help="length of each real-workload source")
    ap.add_argument("--part-size", type=int, default=2, help="clips per unit of work")
    ap.add_argument("--max-short-side", type=int, default=None, help="passed to the build")
    ap.add_argument("--baseline-rev", default=None, help="git revision of the baseline code (git archive)")
    ap.add_argument("--baseline-src", type=Path, default=None, help="a baseline source tree (holding src/)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per setting")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes generating sources")
    ap.add_argument("--dir", type=Path, default=Path("/tmp/dance_aggregate_scaling"), help="scratch folder")
    ap.add_argument("--out", type=Path, default=None, help="JSON lines of results (default: DIR/results.jsonl)")
    args = ap.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    out = args.out or args.dir / "results.jsonl"
    codes = {"new": REPO / "src"}
    base = baseline_src(args)
    if base is not None:
        codes = {"baseline": base, **codes}
    trees = {}
    for workload in args.workload.split(","):
        t0 = time.monotonic()
        if workload == "ucf":
            trees[workload] = {"data": make_tree(args.dir / f"ucf-{args.ucf_clips}", args.ucf_clips, args.ucf_seconds, args.jobs)}
        elif workload == "real":
            data, mirror = make_real(args.dir / f"real-{args.real_clips}", args.real_clips, args.hd_share, args.source_seconds, args.jobs)
            trees[workload] = {"data": data, "mirror": mirror}
        else:
            raise SystemExit(f"unknown workload {workload!r}: ucf or real")
        print(f"{workload}: sources ready in {time.monotonic() - t0:.1f} s", file=sys.stderr, flush=True)
    results = []
    for workload, tree in trees.items():
        for n in (int(x) for x in args.workers.split(",")):
            for code, src in codes.items():
                res = one_setting(args, workload, code, src, n, tree)
                results.append(res)
                with out.open("a") as f:
                    f.write(json.dumps(res) + "\n")
                print(json.dumps({k: v for k, v in res.items() if k != "output"}), file=sys.stderr, flush=True)
    print_table(results, list(codes))
    print(f"\nresults: {out}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end", flush=True)


if __name__ == "__main__":
    main()
