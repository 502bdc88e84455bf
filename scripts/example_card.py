#!/usr/bin/env python3
"""Regenerate docs/example_card.md (and its chart) from a fresh sample build.

    python scripts/example_card.py [--repo-id my-user/dance_aggregate]

Builds ``dance-aggregate build --sample`` into a temporary folder, renders the card for
``--repo-id`` and copies it to ``docs/example_card.md`` with the chart next to it in
``docs/images/`` (the card links ``images/class_distribution.png`` relatively).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from dance_aggregate.hub.card import write_card
from dance_aggregate.hub.chart import CHART_PATH

DOCS = Path(__file__).resolve().parents[1] / "docs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo-id", default="my-user/dance_aggregate")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "dance_aggregate"
        subprocess.run(
            [sys.executable, "-m", "dance_aggregate", "build", "--sample", "--output", str(out), "--cache-dir", str(Path(tmp) / "cache"), "-q"],
            check=True,
        )
        write_card(out, args.repo_id)
        (DOCS / "images").mkdir(parents=True, exist_ok=True)
        shutil.copy(out / "README.md", DOCS / "example_card.md")
        shutil.copy(out / CHART_PATH, DOCS / CHART_PATH)
    print(f"wrote {DOCS / 'example_card.md'} and {DOCS / CHART_PATH}")


if __name__ == "__main__":
    main()
