"""Golden shard digests: the bytes every shard of a build must keep while the code is
reorganised (README, "Development": a refactor must not change what users get).

Two builds are digested, each a folder of Parquet shards:

- ``sample``: ``dance-aggregate build --sample`` (every config of the built-in sample);
- ``real-media``: real media files (a folder such as ``tests/data/media`` or
  ``../shared/data/real/media``) laid out as a UCF101 tree (each AVI as a SalsaSpin clip),
  a Kinetics mirror (whole videos, one 2 s clip each) and an ActivityNet mirror (a segment
  cut into windows in one pass), built offline.

The digests recorded are in ``tests/data/golden/shard_digests.json``. When the output
changes **on purpose** (a new column, another encoder setting), re-record them and say why
in the commit::

    python -m tests.golden --record              # rebuilds both and rewrites the JSON

``python -m tests.golden --media ../shared/data/real/media`` prints the digests of a build
from other real media (compare two revisions by running it on each).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
import tempfile
from pathlib import Path

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden" / "shard_digests.json"
MEDIA = DATA / "media"
#: Kinetics-style ids given to the media files (11 characters, as the id check wants).
_IDS = ["gOLdEn00001", "gOLdEn00002", "gOLdEn00003", "gOLdEn00004", "gOLdEn00005", "gOLdEn00006"]


def digests(folder: Path) -> dict[str, str]:
    """``data/<config>/<shard>`` -> SHA-256 of its bytes, for every shard of ``folder``."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((folder / "data").rglob("*.parquet"))
    }


def real_media_sources(media: Path, root: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Raw trees around the media files of ``media`` under ``root``:
    ``(data_dirs, video_dirs)`` for ucf101, kinetics600 and activitynet."""
    files = sorted(p for p in media.iterdir() if p.suffix.lower() in (".avi", ".mp4", ".mkv", ".webm", ".mov"))
    if not files:
        raise SystemExit(f"no media files in {media}")
    # UCF101: every AVI is a SalsaSpin clip of its own group; groups 1-7 are fold-1 test.
    ucf = root / "ucf101"
    lists = ucf / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    (lists / "classInd.txt").write_bytes(b"77 SalsaSpin\r\n")
    train, test = [], []
    for g, src in enumerate((p for p in files if p.suffix.lower() == ".avi"), start=1):
        name = f"v_SalsaSpin_g{g:02d}_c01.avi"
        dst = ucf / "UCF-101" / "SalsaSpin" / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(src.read_bytes())
        (test if g % 2 else train).append(f"SalsaSpin/{name}")
    for fold in (1, 2, 3):
        (lists / f"trainlist0{fold}.txt").write_bytes("".join(f"{x} 77\r\n" for x in train).encode())
        (lists / f"testlist0{fold}.txt").write_bytes("".join(f"{x}\r\n" for x in test).encode())
    # Kinetics-600: each file is a whole mirrored video; one 2 s clip from 1 s.
    k600 = root / "kinetics600"
    kmirror = k600 / "videos"
    rows = []
    for yid, src in zip(_IDS, files, strict=False):
        split = "val" if len(rows) % 2 else "train"
        dst = kmirror / split / f"{yid}{src.suffix.lower()}"
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(src.read_bytes())
        rows.append(["salsa dancing", yid, 1, 3, split])
    with (k600 / "validate.csv").open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["label", "youtube_id", "time_start", "time_end", "split"])
        w.writerows(rows)
    # ActivityNet: each file untrimmed, one Tango segment [0.5, 6.5] in 2 s windows (one pass).
    anet = root / "activitynet"
    amirror = anet / "videos"
    amirror.mkdir(parents=True)
    database = {}
    for yid, src in zip(_IDS, files, strict=False):
        (amirror / f"v_{yid}{src.suffix.lower()}").write_bytes(src.read_bytes())
        database[yid] = {"duration": 30.0, "subset": "training", "resolution": "", "url": "",
                         "annotations": [{"segment": [0.5, 6.5], "label": "Tango"}]}
    taxonomy = [
        {"nodeId": 0, "nodeName": "Root", "parentId": None, "parentName": None},
        {"nodeId": 136, "nodeName": "Dancing", "parentId": 0, "parentName": "Root"},
        {"nodeId": 141, "nodeName": "Tango", "parentId": 136, "parentName": "Dancing"},
    ]
    (anet / "activity_net.v1-3.min.json").write_text(
        json.dumps({"version": "VERSION 1.3", "taxonomy": taxonomy, "database": database}), encoding="utf-8"
    )
    data_dirs = {"ucf101": str(ucf), "kinetics600": str(k600), "activitynet": str(anet)}
    video_dirs = {"kinetics600": str(kmirror), "activitynet": str(amirror)}
    return data_dirs, video_dirs


def build_real_media(media: Path, work: Path) -> Path:
    """Build the real-media folder under ``work``; returns the output folder."""
    import dance_aggregate as da
    from dance_aggregate.fetch.options import FetchOptions

    data_dirs, video_dirs = real_media_sources(media, work / "raw")
    out = work / "dance_aggregate"
    result = da.build(
        data_dirs=data_dirs,
        video_dirs=video_dirs,
        options={"activitynet": {"max_window": "2", "max_windows_per_segment": "0"}},
        output=out,
        progress=False,
        fetch=FetchOptions(offline=True),
    )
    if not result.ok:
        raise RuntimeError(f"real-media build failed: {result.failures}")
    return out


def build_sample(work: Path, cache: Path | None = None) -> Path:
    """``dance-aggregate build --sample`` into ``work``; returns the output folder."""
    import dance_aggregate as da

    out = work / "dance_aggregate"
    result = da.build(sample=True, output=out, progress=False, cache_dir=cache or work / "cache")
    if not result.ok:
        raise RuntimeError(f"sample build failed: {result.failures}")
    return out


def recorded() -> dict[str, dict[str, str]]:
    """The recorded digests: build name -> shard -> SHA-256."""
    return json.loads(GOLDEN.read_text(encoding="utf-8"))["builds"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--record", action="store_true", help=f"rewrite {GOLDEN.relative_to(DATA.parent.parent)}")
    parser.add_argument("--media", type=Path, help="print the digests of a build from this media folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.media:
            print(json.dumps(digests(build_real_media(args.media, Path(tmp))), indent=1))
            return 0
        builds = {
            "sample": digests(build_sample(Path(tmp) / "sample")),
            "real-media": digests(build_real_media(MEDIA, Path(tmp) / "real")),
        }
    if args.record:
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        doc = {"how_to_rerecord": "python -m tests.golden --record (only when the output changes on purpose)",
               "builds": builds}
        GOLDEN.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"recorded {sum(len(v) for v in builds.values())} shard digests in {GOLDEN}")
        return 0
    old = recorded()
    bad = [f"{b}/{k}" for b in builds for k in set(builds[b]) | set(old.get(b, {})) if builds[b].get(k) != old.get(b, {}).get(k)]
    print("\n".join(bad) or "every shard matches")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
