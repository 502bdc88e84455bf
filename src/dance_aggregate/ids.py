"""What an identifier from a source file may be, checked before it is used anywhere.

Sources check ids while parsing (a record with a bad id is excluded as ``invalid id``); the
fetcher checks again before an id goes into a URL. Both ask this module.
"""

from __future__ import annotations

import re

#: What a YouTube video id is: 11 characters of ``A-Za-z0-9_-`` (it may begin with ``-``).
YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")


def is_youtube_id(value: object) -> bool:
    """Whether ``value`` can be a YouTube video id."""
    return isinstance(value, str) and YOUTUBE_ID.fullmatch(value) is not None
