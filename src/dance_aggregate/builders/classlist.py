"""Each source's full class list, and the warning about labels that are not in it.

A source label that does not map to a dance label is either a class of the source that is
not dance (excluded as ``not a dance class``) or no class of the source at all (excluded as
``unknown class``: a typo such as ``salsa dancin``, or a label of another release, such as a
Kinetics-700 class in a Kinetics-600 file). Counting the second kind as the first would hide
mapping gaps, so each source declares its class list in its ``crosswalk.yaml``::

    classes: classes.txt                              # a file beside it, one class a line
    classes: {file: classInd.txt, numbered: true}     # "<index> <name>" lines (UCF101)
    classes: action_name.csv                          # a CSV: its first column, after the header
    classes: [ballet, break, ...]                     # or the names themselves

:func:`read_class_list` reads it (``builders.base.load_crosswalk`` calls it), and the
taxonomy answers :meth:`~dance_aggregate.taxonomy.Taxonomy.is_class`. A source whose
classes are only known from its raw files (YouTube-8M: ``vocabulary.csv``) declares none
and checks its labels itself.

:func:`warn_unknown_classes` is the one warning per config that names examples; the pipeline
calls it with the config's exclusions once its records are all read.
"""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from collections.abc import Iterable
from importlib import resources
from typing import Any

from dance_aggregate.builders.annotations import display_id
from dance_aggregate.errors import TaxonomyError
from dance_aggregate.records import Exclusion
from dance_aggregate.taxonomy import UNKNOWN_CLASS

logger = logging.getLogger(__name__)

#: How many distinct unknown labels the warning names.
EXAMPLES = 3
_FORMS = "a file name, {file: NAME, numbered: true} or a list of names"


def read_class_list(package: str, spec: Any) -> list[str]:
    """The class names a crosswalk's ``classes`` entry gives (see the module doc).

    Args:
        package: The source package holding the file (``dance_aggregate.builders.ucf101``).
        spec: The ``classes`` value of its ``crosswalk.yaml``.

    Raises:
        TaxonomyError: the entry has another form, or its file is missing, empty or has a
            line that is not a class.
    """
    if isinstance(spec, list):
        names = [str(x) for x in spec]
        where = f"{package}/crosswalk.yaml: classes"
    else:
        if isinstance(spec, str):
            name, numbered = spec, False
        elif isinstance(spec, dict) and isinstance(spec.get("file"), str) and set(spec) <= {"file", "numbered"}:
            name, numbered = spec["file"], bool(spec.get("numbered", False))
        else:
            raise TaxonomyError(f"{package}/crosswalk.yaml: classes {spec!r}; expected {_FORMS}")
        where = f"{package}/{name}"
        try:
            text = resources.files(package).joinpath(name).read_text(encoding="utf-8-sig")
        except (FileNotFoundError, ModuleNotFoundError, UnicodeDecodeError) as exc:
            raise TaxonomyError(f"{where}: cannot read the class list named in crosswalk.yaml ({exc})") from None
        names = _names(text, name, numbered, where)
    names = [" ".join(n.split()) for n in names]
    if not names or not all(names):
        raise TaxonomyError(f"{where}: an empty class list or class name; expected one name per class")
    return names


def _names(text: str, name: str, numbered: bool, where: str) -> list[str]:
    if name.lower().endswith(".csv"):
        rows = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)]
        return [r[0] for r in rows[1:]]
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if numbered:
            index, _, rest = line.strip().partition(" ")
            if not index.isdigit() or not rest.strip():
                raise TaxonomyError(f"{where}:{n}: {line!r} is not '<index> <class>'")
            line = rest
        out.append(line)
    return out


def unknown_class_warning(config: str, title: str, exclusions: Iterable[Exclusion]) -> str | None:
    """The warning about the records of ``config`` excluded as ``unknown class``, naming the
    commonest labels with their counts (``None`` when there are none)."""
    counts: Counter[str] = Counter()
    for e in exclusions:
        if e.reason == UNKNOWN_CLASS:
            counts[e.source_label if e.source_label is not None else ""] += e.count
    if not counts:
        return None
    total = sum(counts.values())
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:EXAMPLES]
    shown = ", ".join(f"{display_id(label, 60)!r} x{n}" for label, n in top)
    distinct = f"{len(counts)} distinct labels, e.g. " if len(counts) > len(top) else ""
    records = "1 record has" if total == 1 else f"{total} records have"
    return (
        f"{config}: {records} a label that is not a class of {title} ({distinct}{shown}): typos, or another release's file? "
        f"They are excluded as {UNKNOWN_CLASS!r} (each is in reports/{config}.excluded.csv)"
    )


def warn_unknown_classes(config: str, title: str, exclusions: Iterable[Exclusion]) -> str | None:
    """Log :func:`unknown_class_warning` (one WARNING) when there is one; return it."""
    message = unknown_class_warning(config, title, exclusions)
    if message:
        logger.warning("%s", message)
    return message
