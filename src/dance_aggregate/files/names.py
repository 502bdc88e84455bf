"""Names and text safe to publish.

- :func:`safe_stem`: an identifier from a source file (a YouTube id, an ActivityNet key, a
  file stem) as a file-name stem that can name nothing outside its folder;
- :func:`without_local_paths`: report text with the builder's local folders reduced to their
  names (reports are published with the dataset).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

#: Longest stem :func:`safe_stem` returns (suffixes such as ``.json`` come on top; file
#: systems allow 255 bytes).
MAX_STEM = 120
_PLAIN = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.")


def safe_stem(text: str, max_len: int = MAX_STEM) -> str:
    """A file-name stem made from an identifier, safe to join to any folder.

    Letters, digits, ``_``, ``-`` and ``.`` are kept; every other character (``/``, ``%``,
    NUL, spaces, non-ASCII...) is written as ``%XX`` per UTF-8 byte, and so is a leading
    ``.`` or ``-``: the stem is never ``.`` or ``..``, never hidden, never read as an
    option, and distinct identifiers give distinct stems. A stem longer than ``max_len``
    is cut and ends with ``~`` and 16 hex digits of the identifier's SHA-256 (still
    distinct). The empty identifier gives ``%``.

    Args:
        text: The identifier (any string).
        max_len: Longest stem returned (at least 32).
    """
    out = []
    for i, ch in enumerate(text):
        if ch in _PLAIN and not (i == 0 and ch in ".-"):
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
    stem = "".join(out) or "%"
    if len(stem) <= max_len:
        return stem
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    head = stem[: max(0, max(32, max_len) - 17)]
    cut = head.rfind("%", len(head) - 2)
    if cut != -1:  # never split a %XX escape
        head = head[:cut]
    return f"{head}~{digest}"


def without_local_paths(text: str, roots: Sequence[str | Path]) -> str:
    """``text`` with every local folder of ``roots`` replaced by its last component
    (``/home/ann/data/ucf101/x.avi`` -> ``ucf101/x.avi``); the home folder becomes ``~``.

    Reports are published with the dataset: the details of an exclusion name files (a
    video that ends early, an unreadable frame), and the machine that built them is
    nobody's business. Longer roots are replaced first, so a data folder under the home
    folder keeps its own name.
    """
    names: dict[str, str] = {}
    for root in roots:
        for form in {str(root), str(Path(root).resolve())}:
            if form not in ("", "/", "."):
                names[form.rstrip("/")] = Path(form).name
    names[str(Path.home())] = "~"
    for form in sorted(names, key=len, reverse=True):
        text = text.replace(form, names[form])
    return text
