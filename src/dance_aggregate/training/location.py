"""Where a dataset is read from: a folder (by its path) or a Hub repo id, never a bare name.

``datasets.load_dataset("dance_aggregate", ...)`` reads a folder only when ``./dance_aggregate``
exists in the current directory. From anywhere else the same name is a Hub lookup: it retries
for about 26 s, then fails, or loads a copy of some Hub dataset cached earlier, which may be
stale or not this one. :func:`dataset_location` tells the two kinds apart before anything is
loaded, gives a folder as its absolute path (so no later lookup depends on the current
directory), and refuses a name that is neither.
"""

from __future__ import annotations

import re
from pathlib import Path

from dance_aggregate.errors import DanceAggregateError

#: A Hub repo id: ``NAMESPACE/NAME`` (letters, digits, ``-``, ``_``, ``.``; no leading ``.`` or ``-``).
HUB_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")


class DatasetLocationError(DanceAggregateError):
    """A dataset location is neither an existing folder nor a Hub repo id."""


def dataset_location(value: str | Path) -> str:
    """The location to hand ``datasets.load_dataset``: a folder's absolute path, or a Hub repo id.

    Args:
        value: The dataset folder (a :class:`~pathlib.Path`, or a string path; a relative one
            is read from the current directory), or a Hub repo id ``NAMESPACE/NAME``.

    Returns:
        The folder's absolute path when ``value`` is an existing folder, else the repo id.

    Raises:
        DatasetLocationError: ``value`` is a path with no folder there, or a bare name (no
            ``/``) that is no folder of the current directory: such a name would make
            ``datasets`` look it up on the Hub.
    """
    text = str(value)
    path = Path(text).expanduser()
    if path.is_dir():
        return str(path.resolve())
    first = text.split("/", 1)[0]
    looks_like_path = (
        isinstance(value, Path) or text.startswith(("/", ".", "~")) or (bool(first) and Path(first).is_dir())
    )
    if HUB_REPO_ID.match(text) and not looks_like_path:
        return text
    if looks_like_path or "/" in text:
        raise DatasetLocationError(
            f"no dataset folder at {path.absolute()} (from {value!r}); expected the path of a folder that "
            f"`dance-aggregate build --output DIR` wrote (it holds README.md and data/), or a Hub repo id "
            f"NAMESPACE/NAME such as my-user/dance_aggregate"
        )
    raise DatasetLocationError(
        f"{text!r} is not a folder of the current directory ({Path.cwd()}) and not a Hub repo id: a bare name "
        f"would make datasets look it up on the Hub (retrying, then failing or loading a stale cached copy). "
        f"Give the folder's path, e.g. {Path.cwd() / text} (a build prints it), or a repo id NAMESPACE/NAME "
        f"such as my-user/{text}"
    )
