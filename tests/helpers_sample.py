"""What a build of the generated sample must produce, read from the sample's raw files.

The counts the tests assert are derived here from what the sample generator wrote (split
lists, CSVs, JSON, TFRecords, mirror files) and the taxonomy, never copied from the
generator's tables: changing the sample changes the expectations with it, and a test still
asserts an exact count. What is restated is each source's documented format (fold lists,
mirror naming, segment windows, the README's rules for negative times and for media shorter
than its range, read with PyAV from the mirror files), not the builders' code (the one
borrowed function is ActivityNet's documented window spread). Two assumptions, true of the
generated sample: no clip is a copy of another within one config (dedup removes nothing
there; across configs the Kinetics-600 and Kinetics-700 samples share one clip, which `all`
keeps once), and every clip on disk decodes. Anything the sample holds that these readers do not model (a missing listed
file, a repeated row) fails loudly instead of giving a wrong count.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from dance_aggregate.builders import registry
from dance_aggregate.builders.youtube8m.tfrecord import parse_record, read_records

#: The exclusion reason of a clip that is neither local nor fetched (``--offline``).
MISSING = "missing video"
#: The exclusion reason of a clip whose media holds less than half its range (README).
SHORT = "media shorter than range"
#: Reasons found out only by the build, not by the plan.
BUILD_REASONS = (MISSING, SHORT)


@dataclass
class Expected:
    """The expected result of building one config of the sample.

    Attributes:
        rows: Split -> rows written.
        excluded: Reason -> records excluded (those of an offline build included).
        labels: Split -> canonical label -> rows (where the primary label is simple to know).
        missing: Youtube ids of kept records whose video is not in the local mirror.
        truncated: Rows stored shorter than their annotated range (media ends early).
    """

    rows: Counter[str] = field(default_factory=Counter)
    excluded: Counter[str] = field(default_factory=Counter)
    labels: dict[str, Counter[str]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    truncated: int = 0

    @property
    def rows_written(self) -> int:
        return sum(self.rows.values())

    @property
    def records_read(self) -> int:
        return self.rows_written + sum(self.excluded.values())

    @property
    def plan_exclusions(self) -> Counter[str]:
        """The reasons the plan gives (a missing or short video is found out only by the build)."""
        return Counter({k: v for k, v in self.excluded.items() if k not in BUILD_REASONS})

    @property
    def planned(self) -> int:
        """Records the plan keeps: rows, and those the build then excludes for their media."""
        return self.rows_written + sum(self.excluded[r] for r in BUILD_REASONS)

    def summary(self, config: str) -> str:
        """The start of the build's accounting line."""
        return f"{config}: {self.records_read} records read = {self.rows_written} rows written"

    def _keep(self, split: str, label: str) -> None:
        self.rows[split] += 1
        self.labels.setdefault(split, Counter())[label] += 1


def _mirror_files(video_dir: Path | None) -> dict[str, Path]:
    return {p.stem: p for p in video_dir.rglob("*") if p.is_file()} if video_dir else {}


def _media_seconds(path: Path) -> float:
    """How long a mirror file is, as its container says."""
    import av

    with av.open(str(path)) as container:
        return float(container.duration) / av.time_base


def _keep_window(exp: Expected, split: str, label: str, start: float, end: float, media: float) -> None:
    """The README's rule for a clip ``[start, end)`` of a file ``media`` seconds long: at
    least half of the range present is a (maybe truncated) row, less is excluded."""
    held = min(end, media) - start
    if held < 0.5 * (end - start):
        exp.excluded[SHORT] += 1
        return
    if held < end - start - 0.05:
        exp.truncated += 1
    exp._keep(split, label)


def expected_ucf101(data_dir: Path, fold: int = 1) -> Expected:
    """From ``ucfTrainTestlist/{train,test}list0<fold>.txt`` (``Class/v_Class_gNN_cNN.avi``)."""
    taxonomy = registry.taxonomy()
    exp = Expected()
    for split in ("train", "test"):
        lines = (data_dir / "ucfTrainTestlist" / f"{split}list0{fold}.txt").read_text().split()
        for rel in (x for x in lines if x.endswith(".avi")):
            assert (data_dir / "UCF-101" / rel).is_file(), f"listed but not generated: {rel}"
            mapping = taxonomy.map("ucf101", rel.split("/")[0])
            if mapping is None:
                exp.excluded["not a dance class"] += 1
            else:
                exp._keep(split, mapping.label)
    return exp


#: The Kinetics-600 sample's lists (the plain official names).
K600_FILES = (("train.csv", "train"), ("validate.csv", "validation"), ("test.csv", "test"))
#: The Kinetics-700 sample's lists (CVDF's layout).
K700_FILES = (("annotations/train.csv", "train"), ("annotations/val.csv", "validation"), ("annotations/test.csv", "test"))


def expected_kinetics600(
    data_dir: Path, video_dir: Path | None, *, offline: bool = True, source: str = "kinetics600",
    files: tuple[tuple[str, str], ...] = K600_FILES,
) -> Expected:
    """From ``{train,validate,test}.csv`` and a mirror named ``<id>_<start:06d>_<end:06d>.<ext>``
    (or ``<id>.<ext>`` for a whole video). A negative ``time_start`` is excluded (README).
    ``source`` and ``files`` name another Kinetics release (the same format)."""
    taxonomy = registry.taxonomy()
    mirror = _mirror_files(video_dir)
    exp = Expected()
    seen = set()
    for name, split in files:
        with (data_dir / name).open(encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                stem = f"{row['youtube_id']}_{int(float(row['time_start'])):06d}_{int(float(row['time_end'])):06d}"
                assert stem not in seen, f"a repeated row: {stem}"
                seen.add(stem)
                mapping = taxonomy.map(source, row["label"]) if row.get("label") else None
                if float(row["time_start"]) < 0:
                    exp.excluded["negative time"] += 1
                elif not row.get("label"):
                    exp.excluded["no label"] += 1
                elif mapping is None:
                    exp.excluded["not a dance class"] += 1
                elif stem not in mirror and row["youtube_id"] not in mirror and offline:
                    exp.excluded[MISSING] += 1
                    exp.missing.append(row["youtube_id"])
                else:
                    exp._keep(split, mapping.label)
    return exp


def expected_kinetics700(data_dir: Path, video_dir: Path | None, *, offline: bool = True) -> Expected:
    """The Kinetics-700 sample: CVDF's ``annotations/{train,val,test}.csv``, Kinetics' format."""
    return expected_kinetics600(data_dir, video_dir, offline=offline, source="kinetics700", files=K700_FILES)


def expected_activitynet(
    data_dir: Path, video_dir: Path | None, max_window: float, *, offline: bool = True, max_windows_per_segment: int = 3
) -> Expected:
    """From ``activity_net.v1-3.min.json`` and a mirror named ``v_<id>.<ext>``.

    Each dance segment, clamped to the video, gives ``ceil(length / max_window)`` equal
    windows; at most ``max_windows_per_segment`` of them, spread evenly, are records (the
    others one ``window cap`` line per segment); shorter than 0.5 s it is degenerate."""
    from dance_aggregate.builders.activitynet import spread_windows

    taxonomy = registry.taxonomy()
    mirror = _mirror_files(video_dir)
    doc = json.loads((data_dir / "activity_net.v1-3.min.json").read_text(encoding="utf-8"))
    exp = Expected()
    for yid, video in doc["database"].items():
        if video["subset"] == "testing":
            exp.excluded["testing subset has no labels"] += 1
            continue
        split = {"training": "train", "validation": "validation"}[video["subset"]]
        for ann in video["annotations"]:
            mapping = taxonomy.map("activitynet", ann["label"])
            start, end = max(0.0, ann["segment"][0]), min(ann["segment"][1], video["duration"])
            if mapping is None:
                exp.excluded["not a dance class"] += 1
            elif start >= video["duration"]:
                exp.excluded["segment beyond the video"] += 1
            elif end - start < 0.5:
                exp.excluded["degenerate segment"] += 1
            else:
                n = math.ceil((end - start) / max_window - 1e-9)
                kept = spread_windows(n, max_windows_per_segment)
                if len(kept) < n:
                    exp.excluded["window cap"] += 1
                if f"v_{yid}" not in mirror and offline:
                    exp.excluded[MISSING] += len(kept)
                    exp.missing.append(yid)
                    continue
                media = _media_seconds(mirror[f"v_{yid}"])
                step = (end - start) / n
                for j in kept:
                    _keep_window(exp, split, mapping.label, start + j * step, start + (j + 1) * step, media)
    return exp


def expected_youtube8m(data_dir: Path, level: str = "both") -> Expected:
    """From ``vocabulary.csv`` and the ``<level>/<split>NNNN.tfrecord`` shards (one video a
    record). A video is kept when one of its entities maps; its primary label follows the
    builder's umbrella rule, so ``labels`` stays empty."""
    taxonomy = registry.taxonomy()
    with (data_dir / "vocabulary.csv").open(encoding="utf-8", newline="") as f:
        names = {int(r["Index"]): r["Name"] for r in csv.DictReader(f)}
    exp = Expected()
    for shard in sorted(youtube8m_shards(data_dir, level)):
        prefix = re.match(r"[a-z]+", shard.name)
        split = {"train": "train", "validate": "validation", "test": "test"}[prefix.group(0) if prefix else ""]
        for record in read_records(shard):
            labels = parse_record(record.data).context["labels"]
            if len(labels) == 0:
                exp.excluded["unlabelled"] += 1
            elif any(taxonomy.map("youtube8m", names.get(int(i), "")) for i in labels):
                exp.rows[split] += 1
            else:
                exp.excluded["not a dance class"] += 1
    return exp


def expected_letsdance(data_dir: Path, max_missing: float = 0.1) -> Expected:
    """From a frame tree ``<class>/<youtube_id>_<start>_<relFrame:04d>.jpg`` (README): one clip
    per ``<youtube_id>_<start>``, expected to hold frames 1 to its highest number; one missing
    more than ``max_missing`` of them is excluded. The split is the documented hash of the id."""
    from dance_aggregate.builders.letsdance import hash_split

    taxonomy = registry.taxonomy()
    frames: dict[tuple[str, str], list[int]] = {}
    for path in sorted(data_dir.glob("*/*.jpg")):
        key, number = path.stem.rsplit("_", 1)
        frames.setdefault((path.parent.name, key), []).append(int(number))
    exp = Expected()
    for (cls, key), numbers in frames.items():
        expected = max(numbers)
        mapping = taxonomy.map("letsdance", cls)
        if mapping is None:
            exp.excluded["not a dance class"] += 1
        elif expected - len(set(numbers)) > max_missing * expected:
            exp.excluded["too many missing frames"] += 1
        else:
            exp._keep(hash_split(key.rsplit("_", 1)[0]), mapping.label)
    return exp


def youtube8m_shards(data_dir: Path, level: str = "both") -> list[Path]:
    """The shards of ``level`` (``video``, ``frame`` or ``both``) under ``data_dir``."""
    levels = ("video", "frame") if level == "both" else (level,)
    return sorted(p for lv in levels for p in (data_dir / lv).glob("*.tfrecord"))
