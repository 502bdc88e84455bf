"""AIST splits: the AIST++ cross-modal lists when present, else the rule that reproduces them.

Layout read under ``--data-dir aist=DIR`` (AIST++'s ``splits.zip`` and ``ignore_list.txt``)::

    DIR/splits/crossmodal_train.txt   980 sequence names, one a line (cAll names)
    DIR/splits/crossmodal_test.txt    20
    DIR/splits/crossmodal_val.txt     not public: absent from every known copy
    DIR/ignore_list.txt               45 names (or DIR/splits/ignore_list.txt, as copies have it)

Lines are read leniently (UTF-8 with or without BOM, LF/CRLF/CR, surrounding spaces such as
the real ``gHO_sFM_cAll_d20_mHO5_ch13 ``, blank lines, no final newline); a line that is not a
sequence name costs only itself (an :class:`~dance_aggregate.records.Exclusion` with its
``file:line`` and ``count=0``: it stands for no video).

Rules, per name (:func:`assign_splits`); the performance is the AIST++ sequence and the group
:attr:`~.names.AistName.group` (see :mod:`.names`):

1. **Ignore list.** A sequence on it is excluded (``ignore list``, with the list's line).
2. **Lists present** (``crossmodal_train.txt`` and ``crossmodal_test.txt``): a listed
   sequence takes its list's split. ``crossmodal_val.txt`` is not public; without it, an
   unlisted sBM/sFM sequence that the cross-modal rule (3) puts in validation goes there,
   marked as inferred; any other unlisted sBM/sFM sequence is excluded (``not in a
   cross-modal split``): AIST++ holds it out on purpose (see 3).
3. **No lists: the cross-modal rule** of google-research/mint
   ``tools/aist_preprocess/split_setting.py``, which reproduces both public lists exactly:
   held-out music :data:`HELD_OUT_MUSIC` (one piece per genre); test = sBM ch02 with held-out
   music, validation = sBM ch01 with held-out music (the inference: mint puts ch01 and ch02
   in "val or test" and the public test list is ch02), train = every sequence neither sBM
   ch01/ch02 nor with held-out music. The rest is held out and excluded as in 2: giving it a
   split would put a test or validation choreography or piece of music into train. So a
   build with or without the lists gives the same splits.
4. **Other situations** (sGR, sBA, showcase, cypher, battle: not in AIST++, so in no list):
   a hash of the group, 80 / 10 / 10 (the first 8 bytes of its SHA-1, modulo 100, as
   Let's Dance's hash split).

All views of one sequence share its split (the rules read only the sequence's fields), and
a group whose members still got two splits (possible only with dancers in two orders, or a
sequence in two lists) moves whole to the most held-out one (test, then validation).
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dance_aggregate.builders.aist.names import AISTPP_SITUATIONS, AistName, parse_sequence_name, parse_video_name
from dance_aggregate.builders.aist.rows import source_label
from dance_aggregate.builders.annotations import MALFORMED_LINE, display_id, read_text, split_lines
from dance_aggregate.errors import AnnotationError, RecordError
from dance_aggregate.records import Exclusion

logger = logging.getLogger(__name__)

#: Split -> AIST++ list file (in ``DIR/splits/``).
LIST_FILES: dict[str, str] = {"train": "crossmodal_train.txt", "validation": "crossmodal_val.txt", "test": "crossmodal_test.txt"}
IGNORE_FILE = "ignore_list.txt"
#: One held-out piece of music per genre (mint ``MUSIC_ID_TESTVAL``).
HELD_OUT_MUSIC = frozenset({"mBR0", "mPO1", "mLO2", "mMH3", "mLH4", "mHO5", "mWA0", "mKR2", "mJS3", "mJB5"})
#: Most held-out first: where a group given several splits goes.
HELD_OUT_ORDER = ("test", "validation", "train")

IGNORE_LIST = "ignore list"
NOT_IN_SPLITS = "not in a cross-modal split"
DUPLICATE_VIDEO = "duplicate video"
DUPLICATE_LINE = "duplicate line"
SPLIT_CONFLICT = "split conflict"
INFERRED_VALIDATION = "inferred validation (cross-modal rule; crossmodal_val.txt is not public)"
CROSS_MODAL_RULE = "cross-modal rule"
HASH_RULE = "hash of the group"


@dataclass
class AistLists:
    """The AIST++ lists found in a data folder.

    Attributes:
        splits: Split -> sequence -> ``file:line`` (``splits/crossmodal_train.txt:12``, the
            path under the data folder); empty when no cross-modal lists are present.
        ignore: Sequence -> ``file:line`` of the ignore list(s).
        issues: Lines that are not sequence names, or repeat one (``count=0``).
    """

    splits: dict[str, dict[str, str]] = field(default_factory=dict)
    ignore: dict[str, str] = field(default_factory=dict)
    issues: list[Exclusion] = field(default_factory=list)

    @property
    def present(self) -> bool:
        """Whether the cross-modal lists decide (train and test lists read)."""
        return bool(self.splits)

    @property
    def has_validation(self) -> bool:
        """Whether a ``crossmodal_val.txt`` was read."""
        return "validation" in self.splits


@dataclass(frozen=True)
class Assignment:
    """The split of one name, or its exclusion.

    Attributes:
        name: The parsed name.
        group: The split group (all views and repeats of one performance).
        split: ``train``, ``validation`` or ``test``; ``None`` when excluded.
        rule: What decided: ``splits/crossmodal_train.txt:12``, :data:`CROSS_MODAL_RULE`,
            :data:`INFERRED_VALIDATION`, :data:`HASH_RULE` (plus a note when the group moved).
        exclusion: Why the name does not become a row (for the ignore list, its ``split`` is
            the one it would have had).
    """

    name: AistName
    group: str
    split: str | None
    rule: str
    exclusion: Exclusion | None = None


def find_lists(root: Path) -> dict[str, list[Path]]:
    """The list files under ``root``: ``splits/`` (or ``root`` itself) for the cross-modal
    lists, ``root`` and ``splits/`` for the ignore list. Keys: ``train``, ``validation``,
    ``test``, ``ignore``; a missing file has no key.

    Raises:
        AnnotationError: one of the train and test lists is present without the other.
    """
    out: dict[str, list[Path]] = {}
    for split, file_name in LIST_FILES.items():
        found = next((p for p in (root / "splits" / file_name, root / file_name) if p.is_file()), None)
        if found is not None:
            out[split] = [found]
    ignore = [p for p in (root / IGNORE_FILE, root / "splits" / IGNORE_FILE) if p.is_file()]
    if ignore:
        out["ignore"] = ignore
    if ("train" in out) != ("test" in out) or ("validation" in out and "train" not in out):
        have = sorted(LIST_FILES[s] for s in LIST_FILES if s in out)
        raise AnnotationError(
            f"{root}: found {have} but not all of crossmodal_train.txt and crossmodal_test.txt; the cross-modal "
            f"splits need both (from AIST++ splits.zip, into {root / 'splits'}), or neither for the documented rule"
        )
    return out


def read_lists(root: Path) -> AistLists:
    """Read the AIST++ lists under ``root`` (see :func:`find_lists`).

    Raises:
        AnnotationError: a partial set of lists, or a file that is not UTF-8 text.
    """
    files = find_lists(root)
    lists = AistLists()
    for split in LIST_FILES:
        for path in files.get(split, []):
            entries = lists.splits.setdefault(split, {})
            for where, seq in _sequences(path, root, lists.issues):
                if seq in entries:
                    lists.issues.append(Exclusion(f"aist/{seq}", DUPLICATE_LINE, f"{where}: {seq} also at {entries[seq]}", count=0))
                    continue
                entries[seq] = where
    listed: dict[str, list[str]] = defaultdict(list)
    for entries in lists.splits.values():
        for seq, where in entries.items():
            listed[seq].append(where)
    for seq, wheres in listed.items():
        if len(wheres) > 1:
            lists.issues.append(Exclusion(f"aist/{seq}", SPLIT_CONFLICT, f"{seq} is listed in {' and '.join(wheres)}", count=0))
    for path in files.get("ignore", []):
        for where, seq in _sequences(path, root, lists.issues):
            lists.ignore.setdefault(seq, where)
    if lists.present and not lists.has_validation:
        logger.info("AIST++ crossmodal_val.txt not found (it is not public): validation is inferred by the cross-modal rule")
    return lists


def _sequences(path: Path, root: Path, issues: list[Exclusion]) -> list[tuple[str, str]]:
    """``(file:line, sequence)`` of every line of a list that is a sequence name; ``file`` is
    the path under ``root`` (``splits/crossmodal_train.txt``)."""
    out = []
    for n, raw in enumerate(split_lines(read_text(path)), start=1):
        text = raw.strip()
        if not text:
            continue
        where = f"{path.relative_to(root).as_posix()}:{n}"
        try:
            out.append((where, parse_sequence_name(text).stem))
        except RecordError as exc:
            issues.append(Exclusion(f"aist/{display_id(text)}", MALFORMED_LINE, f"{where}: {exc}", count=0))
    return out


def cross_modal_rule(name: AistName) -> str | None:
    """The AIST++ cross-modal split of an sBM or sFM name by mint's rule, ``None`` when it is
    held out of every split (see the module doc; ``validation`` is the documented inference)."""
    basic_tested = name.situation == "sBM" and name.choreography in ("ch01", "ch02")
    if name.music in HELD_OUT_MUSIC:
        if basic_tested:
            return "test" if name.choreography == "ch02" else "validation"
        return None
    return None if basic_tested else "train"


def hash_split(group: str, train_percent: int = 80, validation_percent: int = 10) -> str:
    """Deterministic split of a group from its key (stable across runs and machines)."""
    bucket = int.from_bytes(hashlib.sha1(group.encode()).digest()[:8], "big") % 100
    if bucket < train_percent:
        return "train"
    return "validation" if bucket < train_percent + validation_percent else "test"


def assign_splits(names: Sequence[AistName], lists: AistLists | None = None) -> list[Assignment]:
    """The split or exclusion of every name, in order (see the module doc for the rules).

    Args:
        names: Parsed video names (views), any number per sequence.
        lists: The AIST++ lists (:func:`read_lists`); ``None`` or empty: the rules alone.
    """
    lists = lists or AistLists()
    decided = [_decide(name, lists) for name in names]
    by_group: dict[str, set[str]] = defaultdict(set)
    for name, (split, _rule) in zip(names, decided, strict=True):
        if split is not None:
            by_group[name.group].add(split)
    out = []
    for name, (split, rule) in zip(names, decided, strict=True):
        splits = by_group.get(name.group, set())
        if split is not None and len(splits) > 1:
            moved = next(s for s in HELD_OUT_ORDER if s in splits)
            rule = f"{rule}; group {name.group} had splits {sorted(splits)}, moved whole to {moved}"
            split = moved
        out.append(_exclusion_or_split(name, split, rule, lists))
    return out


def _decide(name: AistName, lists: AistLists) -> tuple[str | None, str]:
    seq = name.sequence
    found = [(split, entries[seq]) for split, entries in lists.splits.items() if seq in entries]
    if found:
        split = next(s for s in HELD_OUT_ORDER if any(f == s for f, _ in found))
        wheres = " and ".join(w for _, w in found)
        return split, wheres if len(found) == 1 else f"listed in {wheres}: the most held-out, {split}"
    if name.situation not in AISTPP_SITUATIONS:
        return hash_split(name.group), HASH_RULE
    rule = cross_modal_rule(name)
    if not lists.present:
        return rule, CROSS_MODAL_RULE
    if rule == "validation" and not lists.has_validation:
        return rule, INFERRED_VALIDATION
    return None, "in none of the AIST++ lists"


def _exclusion_or_split(name: AistName, split: str | None, rule: str, lists: AistLists) -> Assignment:
    rid, label = f"aist/{name.stem}", source_label(name)
    ignored = lists.ignore.get(name.sequence)
    if ignored is not None:
        detail = f"{ignored}: {name.sequence} is on AIST++'s ignore list (poorly reconstructed 3D keypoints)"
        return Assignment(name, name.group, None, rule, Exclusion(rid, IGNORE_LIST, detail, split, label))
    if split is None:
        why = _held_out_why(name)
        detail = f"{name.sequence}: {rule}; AIST++ holds it out of its cross-modal splits ({why})"
        return Assignment(name, name.group, None, rule, Exclusion(rid, NOT_IN_SPLITS, detail, None, label))
    return Assignment(name, name.group, split, rule)


def _held_out_why(name: AistName) -> str:
    if name.music in HELD_OUT_MUSIC:
        return f"{name.music} is a test/validation piece of music, {name.situation} {name.choreography} is not a test choreography"
    if name.situation == "sBM" and name.choreography in ("ch01", "ch02"):
        return f"sBM {name.choreography} is a validation/test choreography, {name.music} is training music"
    return "listed in no cross-modal list"


def plan_names(texts: Iterable[str], lists: AistLists | None = None) -> list[Assignment | Exclusion]:
    """Parse video names and assign their splits: one result per text, in order.

    A text that is not an official name is an :class:`Exclusion` (``unreadable name`` or
    ``unknown code``); a name met a second time (the same video in two sub-folders) is one
    (``duplicate video``); every other is an :class:`Assignment` (which may carry its own
    exclusion, see :func:`assign_splits`).
    """
    results: list[Assignment | Exclusion | None] = []
    parsed: list[tuple[int, AistName]] = []
    seen: set[str] = set()
    for i, text in enumerate(texts):
        try:
            name = parse_video_name(text)
        except RecordError as exc:
            results.append(Exclusion(f"aist/{display_id(str(text))}", exc.reason, str(exc)))
            continue
        if name.stem in seen:
            results.append(Exclusion(f"aist/{name.stem}", DUPLICATE_VIDEO, f"{text}: {name.file_name} met twice", None, source_label(name)))
            continue
        seen.add(name.stem)
        results.append(None)
        parsed.append((i, name))
    for (i, _name), assignment in zip(parsed, assign_splits([n for _, n in parsed], lists), strict=True):
        results[i] = assignment
    return [r for r in results if r is not None]
