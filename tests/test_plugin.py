"""A source is a plug-in: a tiny source defined here, registered at run time, builds end to
end (its config, the card and ``all``) with no change to the package, in worker processes too.

It is the smallest source the README's "Adding a source" describes: a builder that reads a
CSV list of local clips and plans a :class:`~dance_aggregate.records.LocalCut` for each, a
crosswalk, card facts and a sample maker.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import dance_aggregate as da
from dance_aggregate.builders import registry
from dance_aggregate.builders.annotations import per_record, read_csv
from dance_aggregate.builders.base import Config, SampleSource, Source, SourceBuilder, SourceOptions
from dance_aggregate.errors import ConfigError, RecordError
from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.media.synth import write_video
from dance_aggregate.records import ClipRecord, Exclusion, LocalCut, Plan
from dance_aggregate.schema import features

NAME = "tinydance"


@dataclass
class TinyOptions(SourceOptions):
    """Options of the tiny source."""

    seconds: float = 1.0


class TinyBuilder(SourceBuilder):
    """Plans ``clips.csv`` (``file,label,split``): one local cut per listed clip."""

    source = NAME
    config_name = NAME
    layout = "PATH/clips.csv  (file,label,split)\nPATH/<file>.mp4"
    Options = TinyOptions

    def plan(self) -> Plan:
        listing = self.data_dir / "clips.csv"
        if not listing.is_file():
            raise self.layout_error(f"no clips.csv in {self.data_dir}")
        _, rows = read_csv(listing, ("file", "label", "split"), "file,label,split")
        records, exclusions = [], []
        for row in rows:
            out = per_record(lambda row=row: self._plan_row(row), f"{NAME}/{row.get('file')}", row.where)
            (records if isinstance(out, ClipRecord) else exclusions).append(out)
        return Plan(records, exclusions)

    def _plan_row(self, row) -> ClipRecord | Exclusion:
        if row.error:
            raise RecordError(f"{row.where}: {row.error}", "malformed line")
        stem, label, split = row.get("file"), row.get("label"), row.get("split")
        mapping = self.taxonomy.map(NAME, label)
        if mapping is None:
            return Exclusion(f"{NAME}/{stem}", "not a dance class", label, split, label)
        return ClipRecord(
            id=f"{NAME}/{stem}", source=NAME, source_id=stem, split=split, label=mapping.label, source_label=label,
            family=mapping.family, group=stem, media=LocalCut(str(self.data_dir / f"{stem}.mp4"), 0.0, self.options.seconds),
        )


def make_sample(root: Path) -> SampleSource:
    """Three clips (two dance, one not) and the list."""
    base = root / NAME
    base.mkdir(parents=True, exist_ok=True)
    rows = [("a", "Salsa", "train"), ("b", "Salsa", "test"), ("c", "juggling", "train")]
    for i, (stem, _, _) in enumerate(rows):
        write_video(base / f"{stem}.mp4", seed=900 + i, seconds=1.5, width=96, height=64)
    with (base / "clips.csv").open("w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows([("file", "label", "split"), *rows])
    return SampleSource(NAME, base)


SOURCE = Source(
    name=NAME,
    title="Tiny Dance",
    homepage="https://example.org/tinydance",
    license="CC BY 4.0",
    license_id="cc-by-4.0",
    citation="Nobody. A Tiny Dance Dataset. 2026.",
    has_pixels=True,
    configs=(Config(NAME, TinyBuilder),),
    dedup_priority=99,
    crosswalk={"version": "tiny 1.0", "labels": {"Salsa": {"label": "salsa", "match": "exact"}}},
    make_sample=make_sample,
)


@pytest.fixture
def tiny():
    registry.register(SOURCE)
    try:
        yield SOURCE
    finally:
        registry.unregister(NAME)


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_a_source_defined_here_builds_end_to_end(tiny, tmp_path: Path, workers: int) -> None:
    src = make_sample(tmp_path / "raw")
    out = tmp_path / "dance_aggregate"
    result = da.build(configs=[NAME], data_dirs={NAME: src.data_dir}, output=out, progress=False, workers=workers,
                      fetch=FetchOptions(offline=True))
    assert result.ok, result.failures
    acc = result.accounting()
    assert acc[NAME].records_read == 3 and acc[NAME].rows_written == 2
    assert acc[NAME].excluded == {"not a dance class": 1}
    assert acc["all"].rows_written == 2  # the tiny source has pixels: its rows are in `all`
    # The shards carry its name in the `source` ClassLabel, after the built-in sources.
    names = features()["source"].names
    assert names[-1] == NAME and names[:-1] == [s.name for s in registry.BUILT_IN]
    table = pq.read_table(next((out / "data" / NAME).glob("train-*.parquet")))
    assert table.column("source").to_pylist() == [names.index(NAME)]
    assert table.column("source_label").to_pylist() == ["Salsa"]
    assert table.column("video").to_pylist()[0]["path"] == f"{NAME}-a.mp4"
    # The card cites it, and the folder loads with plain datasets.
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "Tiny Dance" in card and "Nobody. A Tiny Dance Dataset. 2026." in card
    from datasets import Audio, Video, load_dataset

    ds = load_dataset(str(out), NAME, split="test")
    ds = ds.cast_column("video", Video(decode=False)).cast_column("audio", Audio(decode=False))
    assert ds.features["source"].names[-1] == NAME and ds[0]["id"] == f"{NAME}/b"


def test_registering_checks_names_and_the_crosswalk(tiny) -> None:
    with pytest.raises(ConfigError, match="already registered"):
        registry.register(SOURCE)
    assert registry.get_config(NAME).builder is TinyBuilder and registry.taxonomy().map(NAME, "salsa").label == "salsa"
    from dance_aggregate.errors import TaxonomyError

    bad = Source(**{**SOURCE.__dict__, "name": "tiny2", "configs": (),
                    "crosswalk": {"labels": {"X": {"label": "no_such_label", "match": "exact"}}}})
    with pytest.raises(TaxonomyError, match="no_such_label"):
        registry.register(bad)
    with pytest.raises(ConfigError, match="built-in"):
        registry.unregister("ucf101")
