"""The dataset card, its chart and summaries, the publish checks and shard counts, on small
folders written by tests/helpers_hub.py (no media encoding)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCard
from PIL import Image

from dance_aggregate.builders import registry
from dance_aggregate.hub.card import render_card, size_category
from dance_aggregate.hub.chart import CHART_PATH, draw_chart
from dance_aggregate.hub.checks import run_checks
from dance_aggregate.output.shards import MIN_ROWS_PER_SHARD, MIN_SHARDS_PER_SPLIT, shard_count
from tests.helpers_hub import fake_rows, make_folder


@pytest.fixture
def two_sources(tmp_path: Path) -> Path:
    ucf = {"train": fake_rows("ucf101", "train", 6), "test": fake_rows("ucf101", "test", 2)}
    kin = {
        "train": fake_rows("kinetics600", "train", 5, "tango") + fake_rows("kinetics600", "train", 2, "waltz", start=100),
        "validation": fake_rows("kinetics600", "validation", 3, "tango"),
    }
    kin["validation"][-1].update(video=None, audio=None, has_audio=False)  # a feature-only row: null media is fine
    for i, row in enumerate(kin["train"][:5]):  # 5 tango clips cut from 2 videos
        row.update(group=f"vid{i % 2}", youtube_id=f"vid{i % 2}")
    alls = {s: ucf.get(s, []) + kin.get(s, []) for s in ("train", "validation", "test")}
    return make_folder(tmp_path / "dance_aggregate", {"ucf101": ucf, "kinetics600": kin, "all": alls}, excluded=1)


def test_card_front_matter(two_sources: Path) -> None:
    card = DatasetCard((two_sources / "README.md").read_text())
    data = card.data
    assert data.license == "other" and data.license_name == "dance-aggregate-source-terms"
    assert data.license_link == "LICENSE.md" and (two_sources / "LICENSE.md").is_file()
    assert data.size_categories == ["n<1K"]
    assert "video-classification" in data.task_categories and data.pretty_name == "Dance Aggregate"
    meta = MetadataConfigs.from_dataset_card_data(data)
    assert meta["all"].get("default") is True and sorted(meta) == ["all", "kinetics600", "ucf101"]
    terms = (two_sources / "LICENSE.md").read_text()
    assert "UCF101" in terms and "Kinetics-600" in terms and "YouTube-8M" not in terms


def test_card_body(two_sources: Path) -> None:
    text = (two_sources / "README.md").read_text()
    assert f"]({CHART_PATH})" in text
    # counts per config, split and label: rows (distinct videos)
    assert "| `kinetics600` | tango | 5 (2) | 3 (3) | 0 (0) | 8 (5) |" in text
    assert "| `all` | salsa | 6 (6) | 0 (0) | 2 (2) | 8 (8) |" in text
    for section in ("## Sources", "## Limitations", "## How to load", "streaming=True", "decode(False)", "## Label schema"):
        assert section in text
    assert "Kinetics-600 | `kinetics600` | yes" in text and "YouTube-8M | `youtube8m` | no" in text
    assert "No download ledger" in text  # degrades when the report is absent
    assert "rows of `all` that list other copies" in text
    # the label tree, and how to read YouTube-8M's features and audio
    assert "| 11 | `salsa` | `latin_dance` | Salsa |" in text and "| 0 | `dance` | - | Dance |" in text
    assert "| 34 | `marching` | - (not dance) |" in text
    assert "## YouTube-8M features" in text and "x * 4/255 + 4/512 - 2" in text and "not sound" in text
    assert "## Pretraining overlap" in text and "--pretraining-ids NAME=FILE" in text  # not checked here


def test_chart_png(two_sources: Path) -> None:
    png = (two_sources / CHART_PATH).read_bytes()
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG" and img.width == 860
    many = {f"label_{i}": {"train": i, "test": 1} for i in range(37)}
    a, b = draw_chart(many, "t"), draw_chart(many, "t")
    assert a == b, "deterministic: an unchanged dataset is not re-uploaded"
    assert Image.open(io.BytesIO(a)).height > 37 * 20


def test_ledger_and_dedup_summaries(two_sources: Path) -> None:
    reports = two_sources / "reports"
    lines = ["source,split,youtube_id,status,reason"]
    lines += [f"kinetics600,train,id{i},downloaded," for i in range(3)]
    lines += ["kinetics600,train,idx,unavailable,video unavailable", "kinetics600,validation,idy,ok,"]
    (reports / "download_ledger.csv").write_text("\n".join(lines) + "\n")
    (reports / "duplicates.csv").write_text("id,duplicate_of,cluster\na,b,1\nc,d,1\ne,f,2\n")
    report = json.loads((reports / "all.json").read_text())
    report["dedup"] = {"clusters": 2, "rows_removed": 3, "nested": {"ignored": 1}}
    (reports / "all.json").write_text(json.dumps(report))
    text = render_card(two_sources, "me/dance")
    assert "| kinetics600 | train | 4 | 3 | 1 | 25.0% | video unavailable 1 |" in text
    assert "| kinetics600 | validation | 1 | 1 | 0 | 0.0% | - |" in text
    assert "| rows removed | 3 |" in text and "| lines in `reports/duplicates.csv` | 3 (2 clusters) |" in text
    assert 'load_dataset("me/dance", "all")' in text
    # a ledger in JSON lines, with `config` instead of `source`, is read the same way
    (reports / "download_ledger.csv").unlink()
    (reports / "yt.ledger.jsonl").write_text('{"config": "activitynet", "split": "train", "status": "private"}\n')
    assert "| activitynet | train | 1 | 0 | 1 | 100.0% | private 1 |" in render_card(two_sources)


def test_checks_pass_on_a_built_folder(two_sources: Path) -> None:
    results = {r.name: r for r in run_checks(two_sources)}
    assert all(r.ok for r in results.values()), [str(r) for r in results.values()]
    assert results["leakage"].status == "ok" and results["accounting"].status == "ok"


def test_card_check_catches_stale_card(two_sources: Path) -> None:
    # a shard added after the card was written: the split counts no longer match
    extra = two_sources / "data/ucf101/train-00000-of-00001.parquet"
    (extra.parent / "train-extra.parquet").write_bytes(extra.read_bytes())
    card = {r.name: r for r in run_checks(two_sources)}["card"]
    assert not card.ok and "split sizes" in card.detail and "Fix:" in card.detail


@pytest.mark.parametrize(
    ("nbytes", "rows", "expected"),
    [
        (0, 0, 1),
        (10**6, 10, 1),
        (10**6, 3 * MIN_ROWS_PER_SHARD, 3),
        (10**6, 100_000, MIN_SHARDS_PER_SPLIT),
        (40 * 500 * 1024**2, 100_000, 40),
        (40 * 500 * 1024**2, 5, 5),
    ],
)
def test_shard_count_for_streaming(nbytes: int, rows: int, expected: int) -> None:
    assert shard_count(nbytes, rows) == expected


def test_write_config_makes_enough_shards(tmp_path: Path) -> None:
    rows = fake_rows("kinetics600", "train", 4 * MIN_ROWS_PER_SHARD)
    folder = make_folder(tmp_path / "d", {"kinetics600": {"train": rows}})
    shards = sorted((folder / "data/kinetics600").glob("train-*.parquet"))
    assert len(shards) == 4 and shards[0].name == "train-00000-of-00004.parquet"
    assert sum(pq.read_metadata(s).num_rows for s in shards) == len(rows)
    assert {r.name: r for r in run_checks(folder)}["streaming"].status == "ok"
    from datasets import load_dataset

    stream = load_dataset(str(folder), "kinetics600", split="train", streaming=True)
    assert stream.num_shards == 4  # what datasets hands out to DataLoader workers / nodes


@pytest.mark.parametrize(("rows", "name"), [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"), (250_000, "100K<n<1M")])
def test_size_category(rows: int, name: str) -> None:
    assert size_category(rows) == name


def test_missing_rates_from_the_fetchers_ledger(tmp_path: Path) -> None:
    """The ledger the fetcher writes has no split: rates come from the config's shards and its
    exclusions, with the ledger's reason for clips that were never fetched."""
    from dance_aggregate.hub.summaries import ledger_summary
    from dance_aggregate.output.shards import write_config
    from dance_aggregate.schema import rows_to_table

    rows = [{"id": f"kinetics600/v{i}", "source": "kinetics600", "label": "zumba", "group": f"v{i}"} for i in range(3)]
    write_config(tmp_path, "kinetics600", {"train": rows_to_table(rows[:2]), "validation": rows_to_table(rows[2:])})
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "kinetics600.download_ledger.csv").write_text(
        "key,youtube_id,status,reason\nm1_000001_000011,m1,missing,offline\nd1_000001_000011,d1,failed,private\n"
    )
    (reports / "kinetics600.excluded.csv").write_text(
        "id,split,source_label,reason,detail,count\n"
        "kinetics600/m1_000001_000011,train,zumba,missing video,not in the mirror,1\n"
        "kinetics600/d1_000001_000011,train,zumba,download failed: private,x,1\n"
        "kinetics600/z,train,abseiling,not a dance class,,1\n"
    )
    got = {(r["source"], r["split"]): r for r in ledger_summary(tmp_path)}
    assert got[("kinetics600", "train")] == {
        "source": "kinetics600", "split": "train", "requested": 4, "downloaded": 2, "missing": 2,
        "rate": "50.0%", "reasons": "missing video 1, private 1",  # a ledger's old "offline": the reports' name
    }
    assert got[("kinetics600", "validation")]["rate"] == "0.0%"


# -- citation, terms, counts, reason names, streaming sentence ---------------------------------


def _bibtex_entries(text: str) -> list[tuple[str, str, str]]:
    """``(kind, key, body)`` of each entry; the braces of every entry must balance."""
    entries = []
    for m in re.finditer(r"@(\w+)\{([^,\s]+),", text):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        assert depth == 0, f"unbalanced braces in {m.group(2)}"
        entries.append((m.group(1), m.group(2), text[m.end():i - 1]))
    return entries


def test_every_source_has_its_bibtex() -> None:
    """One or more entries per source, with the authors and year of its citation in words."""
    keys = []
    for source in registry.sources():
        entries = _bibtex_entries(source.bibtex)
        assert entries, f"{source.name}: no BibTeX"
        kind, key, body = entries[0]
        assert kind in ("article", "inproceedings", "techreport", "misc") and re.search(r"title\s*=", body)
        year = re.findall(r"\b(19|20)\d\d\b", source.citation)
        first_year = re.search(r"\b((?:19|20)\d\d)\b", source.citation).group(1)
        assert year and re.search(rf"year\s*=\s*\{{{first_year}\}}", body), f"{source.name}: year {first_year}"
        surname = source.citation.split(",")[0].split(".")[0].split()[-1]
        assert surname in body, f"{source.name}: first author {surname}"
        keys += [k for _, k, _ in entries]
    assert len(keys) == len(set(keys)), "BibTeX keys are unique"
    aist = registry.source("aist").bibtex
    assert "Tsuchida" in aist and "ISMIR" in aist and "AIST++" in aist


def test_card_citation_section(two_sources: Path) -> None:
    text = (two_sources / "README.md").read_text()
    section = text.split("\n## Citation\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bibtex\n(.*?)```", section, flags=re.S)
    keys = [key for block in blocks for _, key, _ in _bibtex_entries(block)]
    assert keys == ["dance_aggregate", "soomro2012ucf101", "carreira2018kinetics600"], keys  # the sources in the build
    assert "howpublished = {\\url{https://github.com/dance-aggregate/dance_aggregate}}" in blocks[0]
    published = render_card(two_sources, "my-user/dance_aggregate")
    assert "\\url{https://huggingface.co/datasets/my-user/dance_aggregate}" in published


def test_terms_in_short_and_removal_requests(two_sources: Path) -> None:
    local = (two_sources / "README.md").read_text()
    head = local.split("## How to load", 1)[0]
    assert "**Terms in short:** for research use; every row stays under the terms of its `source`" in head
    assert "**Removal requests:**" in head and "https://github.com/dance-aggregate/dance_aggregate/issues" in head
    published = render_card(two_sources, "my-user/dance_aggregate").split("## How to load", 1)[0]
    assert "open a discussion at https://huggingface.co/datasets/my-user/dance_aggregate/discussions" in published


def test_header_says_what_it_counts(two_sources: Path, tmp_path: Path) -> None:
    from dance_aggregate.output.folder import BuiltFolder

    built = BuiltFolder.open(two_sources)
    rows_all = built.total_rows("all")
    together = sum(built.total_rows(c) for c in built.configs)
    assert rows_all < together
    head = (two_sources / "README.md").read_text().split("## How to load", 1)[0]
    assert f"{rows_all} rows (clips) in `all`, the default config: every source with video, duplicates removed." in head
    assert f"The 3 configs together hold {together} rows" in head and "from the rows of `all`" in head
    single = make_folder(tmp_path / "one", {"ucf101": {"train": fake_rows("ucf101", "train", 4)}})
    head = (single / "README.md").read_text().split("## How to load", 1)[0]
    assert "4 rows (clips) in its 1 config(s) together (size category `n<1K`)." in head


def test_single_shard_sentence_agrees_with_the_streaming_check(two_sources: Path) -> None:
    """Small splits are one shard each: the card says one worker reads each, and publish's
    check says the same, not that they stream in parallel."""
    from dance_aggregate.hub.checks import check_shard_counts

    card = (two_sources / "README.md").read_text()
    assert "Each split is a single shard in this build, so streaming reads it with one `DataLoader` worker" in card
    check = check_shard_counts(two_sources)
    assert check.status == "ok" and "are a single shard, read by one DataLoader worker" in check.detail
    assert "parallel" not in check.detail


@pytest.mark.slow
def test_one_cause_one_reason_name(sample_build: Path) -> None:
    """A clip not in the mirror while offline is `missing video` in the summary, the excluded
    reports, the ledger CSV and both tables of the card; `offline` is no reason anywhere."""
    from dance_aggregate.files.csvfiles import read_rows

    ledger = list(read_rows(sample_build / "reports" / "kinetics600.download_ledger.csv"))
    missing = [r for r in ledger if r["status"] == "missing"]
    assert missing and {r["reason"] for r in missing} == {"missing video"}
    excluded = {r["reason"] for r in read_rows(sample_build / "reports" / "kinetics600.excluded.csv")}
    assert "missing video" in excluded
    card = (sample_build / "README.md").read_text()
    ledger_table = card.split("## Download ledger", 1)[1].split("\n## ", 1)[0]
    assert "| kinetics600 | train | 3 | 2 | 1 | 33.3% | missing video 1 |" in ledger_table
    for table in (ledger_table, card.split("## Build accounting", 1)[1].split("\n## ", 1)[0]):
        assert not re.search(r"\boffline\b", table)
