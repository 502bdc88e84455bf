"""Atomic writes: the new content appears whole or not at all, with ordinary permissions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dance_aggregate.files.atomic import atomic_write_json, atomic_write_text, replacing


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "reports" / "ucf101.json"
    atomic_write_json(path, {"rows": 1})
    with pytest.raises(RuntimeError, match="killed"):
        with replacing(path) as tmp:
            assert tmp.parent == path.parent and tmp.name.startswith(".ucf101.json.") and tmp.suffix == ".tmp"
            tmp.write_text("half of a rep")
            raise RuntimeError("killed")
    assert json.loads(path.read_text()) == {"rows": 1}
    assert [p.name for p in path.parent.iterdir()] == ["ucf101.json"]


def test_a_write_replaces_the_file_whole(tmp_path: Path) -> None:
    path = tmp_path / "new" / "card.md"
    atomic_write_text(path, "first")
    atomic_write_text(path, "second")
    assert path.read_text() == "second"
    assert [p.name for p in path.parent.iterdir()] == ["card.md"]
