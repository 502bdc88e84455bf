"""The dataset card as a Hub visitor reads it: loading first, a first snippet that needs only
``datasets``, types that survive Markdown, captions and tables that say what they show,
and no local path of the builder's machine in anything published.

The snippets themselves run in tests/test_docs.py (on the sample build's card).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dance_aggregate.hub.card import render_card
from dance_aggregate.hub.publish import local_files
from dance_aggregate.schema import features
from tests.docs_snippets import parse
from tests.helpers_hub import fake_rows, make_folder

pytestmark = pytest.mark.slow  # most read the session's sample build (built on first use)


def _sections(card: str) -> list[str]:
    return re.findall(r"^## (.+)$", card, flags=re.M)


def test_loading_comes_right_after_the_introduction(sample_build: Path) -> None:
    card = (sample_build / "README.md").read_text()
    sections = _sections(card)
    assert sections[0] == "How to load", sections
    assert sections.index("Configs") > 0 and sections.index("Columns") > sections.index("How to load")


def test_first_snippet_needs_only_datasets(sample_build: Path) -> None:
    card = (sample_build / "README.md").read_text()
    snippets = parse(card, "card")
    first = snippets[0]
    assert first.lang == "python" and first.mark is None
    imports = set(re.findall(r"^(?:from|import) (\w+)", first.code, flags=re.M))
    assert imports == {"datasets"}, imports
    assert 'Video(decode=False)' in first.code and ".decode(False)" in first.code
    # the torchcodec path comes after, with its install line first, and is marked for the torch run
    torch_block = next(s for s in snippets if s.mark == "torch")
    install = next(s for s in snippets if "pip install torch" in s.code)
    assert snippets.index(install) < snippets.index(torch_block) and install.mark == "skip"
    pyav = snippets[1]
    assert set(re.findall(r"^(?:from|import) (\w+)", pyav.code, flags=re.M)) == {"io", "av", "numpy"}
    assert "pip install dance-aggregate" not in card


def test_column_types_survive_markdown(sample_build: Path) -> None:
    card = (sample_build / "README.md").read_text()
    table = card.split("## Columns", 1)[1].split("\n## ", 1)[0]
    rows = [ln for ln in table.splitlines() if ln.startswith("| `")]
    assert len(rows) >= 20
    for row in rows:
        kind = row.split("|")[2].strip()
        assert kind.startswith("`") and kind.endswith("`"), row
    assert f"| `labels` | `list<ClassLabel>[{len(features()['label'].names)}]` |" in table


def test_chart_caption_table_headers_and_shard_sentence(sample_build: Path, tmp_path: Path) -> None:
    card = (sample_build / "README.md").read_text()
    assert "The chart shows the `all` config; the table counts every config." in card
    assert not re.search(r"^\|\s*\|\s*\|\s*$", card, flags=re.M), "a table with an empty header row"
    assert "| measure | value |" in card
    # the sample writes one shard per split: the card must not claim several
    assert "Each split is a single shard in this build" in card and "several shards" not in card
    many = make_folder(
        tmp_path / "dance_aggregate",
        {"ucf101": {"train": fake_rows("ucf101", "train", 64), "test": fake_rows("ucf101", "test", 64)}},
    )
    text = render_card(many)
    assert "Each split is stored in 2 shards or more" in text and "single shard" not in text


def test_youtube8m_only_folder_loads_without_media_snippets(tmp_path: Path) -> None:
    rows = fake_rows("youtube8m", "train", 3)
    for r in rows:
        r.update(video=None, audio=None, has_audio=False)
    folder = make_folder(tmp_path / "dance_aggregate", {"youtube8m": {"train": rows}})
    card = render_card(folder)
    assert '"youtube8m"' in card and "av.open" not in card, "no frame decoding shown for a config without video"


def test_nothing_published_holds_a_local_path(sample_build: Path, sample_cache: Path) -> None:
    """Reports and the card are published: no path of the machine that built them."""
    local = [str(sample_cache), str(sample_build.parent), str(Path.home())]
    for f in local_files(sample_build) + [*(sample_build / n for n in ("README.md",))]:
        path = getattr(f, "abspath", f)
        if path.suffix in (".parquet", ".png"):
            continue
        text = path.read_text(encoding="utf-8")
        for prefix in local:
            assert prefix not in text, f"{path.name} holds the local path {prefix}"
    report = (sample_build / "reports" / "ucf101.json").read_text()
    assert '"data_dir": "ucf101"' in report


def test_report_details_lose_local_folders_but_keep_what_they_name(tmp_path: Path) -> None:
    from dance_aggregate.files.names import without_local_paths

    data = tmp_path / "mirror" / "activitynet"
    text = f"{data}/videos/v_x.mp4 (activitynet/x_w03): ends early; see {Path.home()}/notes and {tmp_path}/other"
    out = without_local_paths(text, [data, tmp_path])
    assert out == f"activitynet/videos/v_x.mp4 (activitynet/x_w03): ends early; see ~/notes and {tmp_path.name}/other"
