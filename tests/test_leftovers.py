"""What a build removes from an existing output folder: the temporaries a killed build left
(recognised by the marker the build writes into each), and nothing else.

A user's files named like every temporary the build makes are planted in the places the
build writes (``data/``, ``data/<config>/``, ``reports/``, ``.work/`` and deeper), in folders
of their own and next to the output; real leftovers come from the real writers, killed
with SIGKILL in a subprocess at the moment their temporary exists. One build must remove
every real leftover, keep every planted file byte for byte, and name the look-alikes in
a warning.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import dance_aggregate as da
from dance_aggregate.files.atomic import TEMP_MARKER, is_temp_dir, make_temp_dir

ROOT = Path(__file__).resolve().parents[1]

#: Each kind of temporary the build makes, left by its real writer killed mid-way. The
#: script prints the temporaries it made (one per line) before it dies.
_KILLED = r"""
import os, signal, sys
from pathlib import Path
out, what = Path(sys.argv[1]), sys.argv[2]

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

def made(path):
    print(path, flush=True)

if what == "report":  # the atomic writer, mid-write
    from dance_aggregate.files.atomic import replacing
    with replacing(out / "reports" / "ucf101.json") as tmp:
        tmp.write_text("half")
        made(tmp.parent)
        die()
elif what == "staged reports":
    from dance_aggregate.files.atomic import staged_writes
    import dance_aggregate.files.atomic as atomic
    with staged_writes({out / "reports" / "ucf101.excluded.csv": b"a", out / "reports" / "x.json": b"b"}):
        for p in (out / "reports").iterdir():
            if p.name.startswith((".ucf101.excluded.csv.", ".x.json.")):
                made(p)
        die()
elif what == "part":
    from dance_aggregate.files.atomic import atomic_write_bytes
    import dance_aggregate.files.atomic as atomic
    real = atomic._write_synced
    def write(tmp, data):
        real(tmp, data)
        made(tmp.parent)
        die()
    atomic._write_synced = write
    atomic_write_bytes(out / ".work" / "parts" / "ucf101" / "train-0011223344556677.parquet", b"PAR1")
elif what == "staging":  # shards being written
    from dance_aggregate.output.shards import _config_swap
    with _config_swap(out, "ucf101") as staging:
        (staging / "train-00000-of-00001.parquet").write_bytes(b"half")
        made(staging.parent)
        die()
elif what == "old":  # the new shards swapped in, the old copy not yet removed
    import dance_aggregate.output.shards as shards
    real = shards._carry_foreign
    def carry(old, new):
        real(old, new)
        shards.mark_temp_dir(old.parent)
        made(old.parent)
        die()
    shards._carry_foreign = carry
    with shards._config_swap(out, "ucf101") as staging:
        for p in (out / "data" / "ucf101").glob("*.parquet"):
            (staging / p.name).write_bytes(p.read_bytes())
elif what == "download":  # yt-dlp writing its .part file
    from dance_aggregate.fetch.fetcher import ClipFetcher, ClipRequest
    from dance_aggregate.fetch.options import FetchOptions
    import dance_aggregate.fetch.ytdlp as ytdlp
    def download(url, dest, *args, **kwargs):
        (dest / "video.mp4.part").write_bytes(b"half")
        made(dest.parent)
        die()
    ytdlp.download = download
    fetcher = ClipFetcher(out / ".work" / "fetch" / "kinetics600", FetchOptions(url_template="http://127.0.0.1:9/{youtube_id}"))
    fetcher.get(ClipRequest("aaaaaaaaaaa", 0, 2))
elif what == "ffmpeg link":
    from dance_aggregate.fetch.ytdlp import ffmpeg_bin_dir
    real = Path.symlink_to
    def symlink_to(self, target, *args):
        real(self, target, *args)
        made(self.parent)
        die()
    Path.symlink_to = symlink_to
    ffmpeg_bin_dir(out / ".work" / "fetch")
elif what == "clip":  # a clip being encoded, in the system temporary folder
    from fractions import Fraction
    from dance_aggregate.media.encode import ClipWriter, EncodeOptions
    w = ClipWriter(Fraction(25), 64, 48, None, 1, EncodeOptions())
    made(Path(w._path).parent)
    die()
"""

KILLS = ["report", "staged reports", "part", "staging", "old", "download", "ffmpeg link", "clip"]


def killed(out: Path, what: str) -> list[Path]:
    """Run the writer of ``what`` into ``out`` and kill it; the temporaries it left."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", _KILLED, str(out), what], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == -9, (what, proc.returncode, proc.stderr[-2000:])
    left = [Path(line) for line in proc.stdout.split()]
    assert left and all(is_temp_dir(p) for p in left), (what, left)
    return left


def plant(path: Path, data: bytes = b"the user's own file") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def tree(path: Path) -> dict[str, bytes | str]:
    """What a planted path holds: file bytes, link targets, folder contents."""
    if path.is_symlink():
        return {".": f"-> {os.readlink(path)}"}
    if path.is_file():
        return {".": path.read_bytes()}
    return {str(p.relative_to(path)): p.read_bytes() if p.is_file() else "dir" for p in sorted(path.rglob("*"))}


def test_a_build_removes_only_the_temporaries_it_made(
    built_ucf: Path, ucf_sample: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "dance_aggregate"
    shutil.copytree(built_ucf, out, symlinks=True)
    shards = {p.name: p.read_bytes() for p in (out / "data" / "ucf101").glob("*.parquet")}

    # A user's files and folders named like every temporary, where the build writes and elsewhere.
    elsewhere = make_temp_dir(tmp_path / "elsewhere", ".theirs.", ".tmp")  # marked, but outside the folder
    plant(elsewhere / "keep.txt")
    copied = out / ".work" / ".copied.0123abcd.tmp"  # a marker copied from another folder proves nothing
    plant(copied / TEMP_MARKER, (elsewhere / TEMP_MARKER).read_bytes())
    planted = [
        plant(out / "data" / ".ucf101.deadbeef.staging" / "train-00000-of-00001.parquet").parent,
        plant(out / "data" / ".ucf101.cafebabe.old" / "train-00000-of-00001.parquet").parent,
        plant(out / "data" / ".notes.0123abcd.tmp"),
        plant(out / "data" / "ucf101" / "notes.txt"),
        plant(out / "data" / "ucf101" / ".draft.0123abcd.tmp" / "x.txt").parent,
        plant(out / "reports" / ".ucf101.json.0123abcd.tmp"),
        plant(out / "reports" / "mine" / ".deep.0123abcd.tmp"),
        plant(out / ".hidden.0123abcd.tmp"),
        plant(out / ".ffmpeg.mine"),
        plant(out / ".work" / "parts" / "ucf101" / ".train-0011223344556677.parquet.89abcdef.tmp"),
        plant(out / ".work" / "fetch" / "kinetics600" / ".dl-x1y2z3" / "video.mp4.part").parent,
        plant(out / ".work" / "fetch" / "kinetics600" / "ledger" / ".k.json.00000000.tmp"),
        plant(out / ".work" / "fetch" / "bin" / ".ffmpeg.12345"),
        plant(out / ".work" / "mine" / "deep" / ".dl-keep" / "a.txt").parent,
        plant(out / ".work" / "notes.txt"),
        plant(out / "mystuff" / "nested" / ".a.0123abcd.tmp"),
        plant(out / "mystuff" / ".dl-zz" / "b.txt").parent,
        plant(tmp_path / ".beside.0123abcd.tmp"),
        copied,
        elsewhere,
    ]
    (out / ".work" / ".link.0123abcd.tmp").symlink_to(elsewhere)  # never followed
    planted.append(out / ".work" / ".link.0123abcd.tmp")
    media = Path(tempfile.gettempdir())
    old_time = time.time() - 7 * 3600
    user_media = [plant(media / f"dance_aggregate-user{os.getpid()}.mp4"), plant(media / f"dance_aggregate-user{os.getpid()}.tmp" / "x.mp4").parent]
    planted += user_media
    before = {p: tree(p) for p in planted}

    left = {what: killed(out, what) for what in KILLS}
    fresh_clip = left.pop("clip")[0]
    stale_clip = killed(out, "clip")[0]
    try:
        for p in [*user_media, stale_clip]:
            os.utime(p, (old_time, old_time))
        assert not (out / "data" / "ucf101").exists() or (out / "data" / "ucf101" / "notes.txt").exists()
        caplog.set_level(logging.INFO, logger="dance_aggregate")
        res = da.build(configs=["ucf101"], data_dirs={"ucf101": ucf_sample}, output=out, progress=False)
        assert res.ok

        # every real leftover is gone, in the output and (old enough) in the system temporary folder
        assert {what: [p for p in paths if os.path.lexists(p)] for what, paths in left.items()} == {w: [] for w in left}
        assert not os.path.lexists(stale_clip)
        assert fresh_clip.exists()  # another build may be encoding that one
        assert [p for p in out.rglob("*") if is_temp_dir(p) and p != copied] == []
        # every planted file survives as it was
        assert {p: tree(p) if os.path.lexists(p) else "REMOVED" for p in planted} == before
        assert {p.name: p.read_bytes() for p in (out / "data" / "ucf101").glob("*.parquet")} == shards
        # the look-alikes where the build writes are named in a warning
        warned = "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
        assert "left alone" in warned
        for name in [".ucf101.deadbeef.staging", ".notes.0123abcd.tmp", ".hidden.0123abcd.tmp", ".dl-x1y2z3", ".ffmpeg.12345",
                     ".k.json.00000000.tmp", ".dl-keep", ".copied.0123abcd.tmp", ".link.0123abcd.tmp"]:
            assert name in warned, name
        assert ".beside.0123abcd.tmp" not in warned and "mystuff" not in warned  # not where the build writes
    finally:
        for p in (*user_media, fresh_clip, stale_clip):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
