"""Symbolic links in a folder to publish: refused, never followed.

A link inside the dataset folder (``reports/notes.txt -> /home/me/secret``) would make
the publisher upload a file from outside the folder; a link to a file inside it would
upload a second copy, and could be pointed elsewhere between the check and the upload.
So every link where the publisher reads is refused, whatever it points to, before
anything is read or sent (in a dry run too), with each link and its target named.

Where the publisher reads: ``README.md``, ``LICENSE.md`` and the whole ``data/``,
``reports/`` and ``images/`` trees. Links elsewhere in the folder (the build's own
``.work/`` holds one to the ffmpeg binary) are never read, never published, and not
refused. The folder itself may be a link: it is what the user named.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable
from pathlib import Path

from dance_aggregate.hub.checks import PublishError

#: Top-level entries of the folder the publisher reads (trees are walked in full).
READ_ENTRIES: tuple[str, ...] = ("README.md", "LICENSE.md", "data", "reports", "images")


def links_in(folder: Path) -> list[tuple[str, str]]:
    """Every symbolic link where the publisher reads, as ``(path in the folder, target)``.

    Folders are walked without following links, so a linked folder is reported, never
    entered.
    """
    folder = Path(folder)
    found: list[tuple[str, str]] = []
    stack = [folder / name for name in READ_ENTRIES]
    while stack:
        path = stack.pop()
        if path.is_symlink():
            found.append((path.relative_to(folder).as_posix(), _target(path)))
        elif path.is_dir():
            try:
                stack.extend(sorted((Path(e.path) for e in os.scandir(path)), reverse=True))
            except OSError:
                continue
    return sorted(found)


def linked_paths(folder: Path, paths: Iterable[str]) -> list[tuple[str, str]]:
    """Which of ``paths`` (relative to ``folder``, with ``/``) pass through a link: the
    file itself or a folder on its way. A last check right before an upload."""
    folder = Path(folder)
    found: dict[str, str] = {}
    for rel in paths:
        current = folder
        for part in rel.split("/"):
            current = current / part
            if current.is_symlink():
                found[current.relative_to(folder).as_posix()] = _target(current)
                break
    return sorted(found.items())


def refuse_links(folder: Path, links: list[tuple[str, str]] | None = None) -> None:
    """Raise :class:`PublishError` naming every link where the publisher reads (``links``
    when given, else :func:`links_in`); nothing was uploaded when it raises."""
    folder = Path(folder)
    links = links_in(folder) if links is None else links
    if not links:
        return
    shown = "\n".join(f"    {rel} -> {target}" for rel, target in links[:20])
    more = f"\n    ... and {len(links) - 20} more" if len(links) > 20 else ""
    first = shlex.quote(str(folder / links[0][0]))
    raise PublishError(
        f"{folder}: {len(links)} symbolic link(s) where the publisher reads; a link is never followed (it could "
        f"upload a file from outside the folder), so nothing was uploaded:\n{shown}{more}\n"
        f"  Fix: replace each link with a copy of what it points to (for a file: "
        f'cp --remove-destination "$(readlink -f {first})" {first}) or remove it, then run the same command again'
    )


def _target(path: Path) -> str:
    try:
        return os.readlink(path)
    except OSError as exc:
        return f"(unreadable: {exc.strerror})"
