"""The shared features: one schema for every config, documented in README and card."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dance_aggregate.schema import (
    COLUMNS,
    NO_LABEL,
    arrow_schema,
    decode_id_list,
    decode_labels,
    encode_id_list,
    features,
    rows_to_table,
)

ROOT = Path(__file__).parents[1]


def test_every_column_is_documented():
    assert list(COLUMNS) == list(features())
    readme = (ROOT / "README.md").read_text()
    for name in features():
        assert f"| `{name}` |" in readme, f"README does not document column {name}"


def test_card_documents_every_column(built_ucf):
    card = (built_ucf / "README.md").read_text()
    for name in features():
        assert f"| `{name}` |" in card


def test_rows_to_table_fills_nulls_and_encodes_labels():
    t = rows_to_table([{"id": "ucf101/a", "source": "ucf101", "label": "salsa", "labels": ["salsa", "dance"]}])
    assert t.schema.equals(arrow_schema())
    row = t.to_pylist()[0]
    assert row["source"] == 0 and row["label"] == features()["label"].str2int("salsa")
    # labels gets every ancestor in the label tree, in order, without repeats
    n = len(features()["label"].names)
    assert row["labels"] == [11, 2, 0] + [NO_LABEL] * (n - 3)  # salsa, latin_dance, dance, then padding
    assert decode_labels(row["labels"]) == [11, 2, 0]
    t = rows_to_table([{"id": "letsdance/a", "source": "letsdance", "label": "latin_dance"},
                       {"id": "youtube8m/b", "source": "youtube8m", "label": "tango", "labels": ["tango", "cha_cha"]}])
    names = features()["label"].names
    assert [[names[i] for i in decode_labels(r)] for r in t.column("labels").to_pylist()] == [
        ["latin_dance", "dance"], ["tango", "ballroom_dance", "dance", "cha_cha", "latin_dance"]]
    assert row["video"] is None and row["youtube_id"] is None and row["duplicate_ids"] == ""
    assert row["pretraining_overlap"] is None


def test_unknown_label_is_refused():
    with pytest.raises(ValueError):
        rows_to_table([{"id": "x", "source": "ucf101", "label": "not_a_label"}])


def test_no_module_imports_torch_at_import_time():
    """Importing every module of the package never pulls in torch (even where it is installed)."""
    import subprocess
    import sys

    code = (
        "import importlib, pkgutil, sys, dance_aggregate\n"
        "for m in pkgutil.walk_packages(dance_aggregate.__path__, 'dance_aggregate.'):\n"
        "    importlib.import_module(m.name)\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_readme_documents_every_column_as_the_schema_does() -> None:
    """The README's "Columns" table lists every feature, in order, with the text of
    ``schema.COLUMNS`` (which the card renders too): a new column cannot go undocumented."""
    from pathlib import Path

    from dance_aggregate.schema import COLUMNS

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    table = text.split("\n## Columns\n", 1)[1].split("\n## ", 1)[0]
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| `")]
    names = [r[0].removeprefix("| `").rstrip("`") for r in rows]
    assert names == list(features()), "README Columns table and the schema differ"
    for r, name in zip(rows, names, strict=True):
        assert r[2].rstrip(" |") == COLUMNS[name], name


@given(st.lists(st.text(min_size=1).filter(lambda t: "\x00" not in t), max_size=6))
def test_id_lists_come_back_exactly_from_their_text(ids):
    """``duplicate_ids`` / ``pretraining_overlap`` are text (the viewer's statistics fail on
    variable lists): any ids, spaces, tabs, newlines and ``%`` inside them included, come back
    as the same list; none is ``""``; unknown (``None``) stays ``None``."""
    text = encode_id_list(ids)
    assert isinstance(text, str) and decode_id_list(text) == ids
    assert (text == "") == (not ids)
    assert not any(c in text for c in "\t\n\r") and text.count(" ") == max(0, len(ids) - 1)
    assert encode_id_list(None) is None and decode_id_list(None) is None
    assert decode_id_list(list(ids)) == ids  # a folder built before the text form holds lists
