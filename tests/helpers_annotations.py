"""Annotation files written by tests: the smallest ActivityNet JSON the builder accepts."""

from __future__ import annotations

import json
from pathlib import Path

#: Root -> Dancing -> Tango: the one dance leaf the tests' segments are labelled with.
ANET_TAXONOMY = [
    {"nodeId": 0, "nodeName": "Root", "parentId": None, "parentName": None},
    {"nodeId": 136, "nodeName": "Dancing", "parentId": 0, "parentName": "Root"},
    {"nodeId": 141, "nodeName": "Tango", "parentId": 136, "parentName": "Dancing"},
]


def write_activitynet_json(folder: Path, database: object, **extra: object) -> Path:
    """``folder/activity_net.v1-3.min.json`` with :data:`ANET_TAXONOMY` and ``database``
    (``extra`` adds or replaces top-level keys); returns ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    doc = {"version": "VERSION 1.3", "taxonomy": ANET_TAXONOMY, "database": database, **extra}
    (folder / "activity_net.v1-3.min.json").write_text(json.dumps(doc), encoding="utf-8")
    return folder
