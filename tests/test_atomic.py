"""Atomic writes: the new content appears whole or not at all, with ordinary permissions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dance_aggregate.files.atomic import (
    TEMP_MARKER,
    atomic_write_json,
    atomic_write_text,
    is_temp_dir,
    make_temp_dir,
    remove_temp_dir,
    replacing,
)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "reports" / "ucf101.json"
    atomic_write_json(path, {"rows": 1})
    with pytest.raises(RuntimeError, match="killed"):
        with replacing(path) as tmp:
            # in a marked temporary folder beside the file, named as the file
            assert tmp.parent.parent == path.parent and tmp.name == "ucf101.json"
            assert tmp.parent.name.startswith(".ucf101.json.") and tmp.parent.suffix == ".tmp"
            assert is_temp_dir(tmp.parent)
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


def test_only_a_folder_with_its_own_marker_is_a_temporary(tmp_path: Path) -> None:
    made = make_temp_dir(tmp_path, ".x.", ".tmp")
    (made / "part").write_bytes(b"half")
    (made / "sub").mkdir()
    (made / "sub" / "f").write_bytes(b"y")
    assert is_temp_dir(made)
    # look-alikes: no marker, a marker naming another folder, a marker that is a link,
    # a link to a marked folder, a file named like a temporary folder
    plain = tmp_path / ".y.0123abcd.tmp"
    plain.mkdir()
    copied = tmp_path / ".z.0123abcd.tmp"
    copied.mkdir()
    (copied / TEMP_MARKER).write_bytes((made / TEMP_MARKER).read_bytes())
    linked_marker = tmp_path / ".w.0123abcd.tmp"
    linked_marker.mkdir()
    (linked_marker / TEMP_MARKER).symlink_to(made / TEMP_MARKER)
    link = tmp_path / ".v.0123abcd.tmp"
    link.symlink_to(made)
    afile = tmp_path / ".u.0123abcd.tmp"
    afile.write_bytes(b"mine")
    for lookalike in (plain, copied, linked_marker, link, afile):
        assert not is_temp_dir(lookalike)
        assert not remove_temp_dir(lookalike)
        assert lookalike.exists() or lookalike.is_symlink()
    assert made.exists()
    assert remove_temp_dir(made) and not made.exists()
    assert not remove_temp_dir(made)  # gone: nothing to do
