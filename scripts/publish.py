#!/usr/bin/env python3
"""Publish a built dance_aggregate folder to the Hugging Face Hub (the library's
:func:`dance_aggregate.publish`, as ``dance-aggregate publish`` does)::

    python scripts/publish.py --repo-id NAMESPACE/NAME [--folder ./dance_aggregate] [--private] [--dry-run] [--tag vX.Y]

The token comes from ``HF_TOKEN`` or ``hf auth login``; it is never printed. The exit code is
non-zero when a check failed or nothing could be published.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import dance_aggregate as da


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/publish.py", description=__doc__.split("::")[0].strip())
    parser.add_argument("--repo-id", required=True, metavar="NAMESPACE/NAME", help="dataset repo, e.g. my-user/dance_aggregate")
    parser.add_argument("--folder", type=Path, default=Path("dance_aggregate"), help="the built folder (default: ./dance_aggregate)")
    parser.add_argument("--private", action="store_true", help="create the repo private")
    parser.add_argument("--dry-run", action="store_true", help="run the checks and show what would be uploaded; send nothing")
    parser.add_argument("--tag", default=None, metavar="vX.Y", help="tag the published version")
    parser.add_argument("--allow-sample", action="store_true",
                        help="publish a build of the built-in sample (synthetic clips) anyway; its card says so")
    parser.add_argument("--include-restricted", action="append", default=[], metavar="SOURCE",
                        help="publish SOURCE's media although its terms forbid redistribution (only with its owners' "
                             "written authorisation); repeatable")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars, warnings only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    try:
        if args.dry_run:
            plan = da.publish(args.repo_id, args.folder, private=args.private, dry_run=True, tag=args.tag,
                              progress=not args.quiet, include_restricted=tuple(args.include_restricted),
                              allow_sample=args.allow_sample)
            print(plan.describe())
            failed = [c.name for c in plan.checks if not c.ok]
            if failed:
                print(f"Error: dry run: {len(failed)} check(s) failed ({', '.join(failed)}); fix them before publishing",
                      file=sys.stderr)
                return 1
            print("Dry run: nothing was uploaded.")
            return 0
        result = da.publish(args.repo_id, args.folder, private=args.private, tag=args.tag, progress=not args.quiet,
                            include_restricted=tuple(args.include_restricted), allow_sample=args.allow_sample)
    except da.DanceAggregateError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        from dance_aggregate.cli import AFTER_CTRL_C, INTERRUPTED_EXIT_CODE

        print(f"\nInterrupted (Ctrl-C). {AFTER_CTRL_C['publish']}", file=sys.stderr)
        return INTERRUPTED_EXIT_CODE
    print(result.plan.describe())
    print(f"Published in {result.commits} commit(s): {result.url}")
    if result.tag_url:
        print(f"Version {args.tag}: {result.tag_url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
