#!/usr/bin/env python3
"""Publish a built dance_aggregate folder to the Hugging Face Hub.

A thin wrapper over the library, the same as ``dance-aggregate publish``::

    python scripts/publish.py --repo-id NAMESPACE/NAME [--folder ./dance_aggregate] [--private] [--dry-run] [--tag vX.Y]
"""

from dance_aggregate.cli import publish

if __name__ == "__main__":
    publish.main(prog_name="scripts/publish.py")
