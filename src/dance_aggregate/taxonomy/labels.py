"""The shared dance label schema: canonical labels, families and per-source crosswalks.

The labels live in ``taxonomy/taxonomy.yaml`` inside the package; each source's crosswalk
ships in its own package and is added with :meth:`Taxonomy.with_crosswalks` (the source
registry does it: ``dance_aggregate.builders.registry.taxonomy()``). Its ``labels`` order is the
index order of the ``label`` ClassLabel in every config and is part of the published
contract (append only). Every label names its parent: the labels form a tree whose root
``dance`` is the ancestor of every dance label (non-dance ``motion`` labels are roots of
their own), and a row's ``labels`` holds its label and all its ancestors
(:meth:`Taxonomy.with_ancestors`). Source label lookups ignore case and spacing
(:func:`normalize_label`); rows keep the source's own string in ``source_label``.

A source label that does not map is one of two things: a class of the source that is not
dance (:data:`NOT_DANCE`), or not a class of the source at all (:data:`UNKNOWN_CLASS`: a
typo, or a label of another release of the source). A crosswalk tells them apart when it
declares the source's full class list (``classes``; :meth:`SourceCrosswalk.is_class`);
without one, every label counts as a class.

Example:
    >>> from dance_aggregate.builders.registry import taxonomy
    >>> tax = taxonomy()
    >>> tax.map("kinetics600", "salsa dancing").label
    'salsa'
    >>> tax.map("kinetics600", " Salsa  Dancing ").label
    'salsa'
    >>> tax.with_ancestors(["salsa"])
    ['salsa', 'latin_dance', 'dance']
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from dance_aggregate.errors import TaxonomyError

#: Match kinds allowed in the crosswalk (see the header of ``taxonomy.yaml``).
MATCH_KINDS = ("exact", "alias", "broader", "narrower")
#: The family of non-dance body-motion labels (off by default).
MOTION_FAMILY = "motion"
#: The root of every dance label.
DANCE_ROOT = "dance"
#: Exclusion reason of a record whose label is a class of its source that is not dance.
NOT_DANCE = "not a dance class"
#: Exclusion reason of a record whose label is no class of its source (a typo, or a label
#: of another release): never counted as "not a dance class", which would hide mapping gaps.
UNKNOWN_CLASS = "unknown class"


def normalize_label(text: str) -> str:
    """The lookup key of a source label: case folded, surrounding and repeated whitespace
    removed (``" Salsa  Dancing "`` -> ``"salsa dancing"``)."""
    return " ".join(str(text).split()).casefold()


@dataclass(frozen=True)
class Label:
    """One canonical label."""

    id: str
    name: str
    family: str
    umbrella: bool = False
    parent: str | None = None


@dataclass(frozen=True)
class Mapping:
    """How one source label string maps onto a canonical label."""

    source: str
    source_label: str
    label: str
    match: str
    family: str
    index: int | None = None


@dataclass
class SourceCrosswalk:
    """The crosswalk of one source.

    Attributes:
        classes: Every class of the source, as it spells them (``None``: not declared, so
            every label counts as a class; see :meth:`is_class`).
    """

    source: str
    version: str
    labels: dict[str, Mapping]
    exclude: dict[str, str] = field(default_factory=dict)
    taxonomy_roots: tuple[str, ...] = ()
    classes: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        self._lookup = {normalize_label(k): m for k, m in self.labels.items()}
        self._excluded = {normalize_label(k): v for k, v in self.exclude.items()}
        self._classes = None if self.classes is None else frozenset(normalize_label(c) for c in self.classes)

    @property
    def class_keys(self) -> frozenset[str] | None:
        """The lookup keys (:func:`normalize_label`) of the declared classes (``None``: none declared)."""
        return self._classes

    def is_class(self, source_label: str, extra: frozenset[str] = frozenset()) -> bool:
        """Whether ``source_label`` is a class of the source, ignoring case and spacing: in
        the declared class list, in ``extra`` (lookup keys of classes the builder found in
        the raw files, such as the leaves of a taxonomy tree), or named in ``labels`` or
        ``exclude`` (a deliberate entry, such as Kinetics-400's ``swinging legs``). Always
        true when the crosswalk declares no class list."""
        if self._classes is None:
            return True
        key = normalize_label(source_label)
        return key in self._classes or key in extra or key in self._lookup or key in self._excluded

    def find(self, source_label: str) -> Mapping | None:
        """The mapping of ``source_label``, ignoring case and spacing (``None`` when unmapped)."""
        return self._lookup.get(normalize_label(source_label))

    def exclusion(self, source_label: str) -> str | None:
        """Why ``source_label`` is deliberately not dance, when the crosswalk says so."""
        return self._excluded.get(normalize_label(source_label))


class Taxonomy:
    """Canonical labels plus the crosswalk of every source.

    Args:
        data: The parsed YAML document.
        origin: Where it came from, for error messages.
    """

    def __init__(self, data: dict[str, Any], origin: str = "taxonomy.yaml") -> None:
        self.origin = origin
        try:
            self.families: dict[str, dict[str, str]] = {f["id"]: f for f in data["families"]}
            self.labels: list[Label] = [
                Label(
                    id=d["id"],
                    name=d["name"],
                    family=d["family"],
                    umbrella=bool(d.get("umbrella", False)),
                    parent=d["parent"],
                )
                for d in data["labels"]
            ]
        except (KeyError, TypeError) as exc:
            raise TaxonomyError(
                f"{origin}: missing or malformed section {exc}; expected families and labels (each with id, name, "
                f"family and parent, null for a root)"
            ) from exc
        self._by_id = {label.id: label for label in self.labels}
        if len(self._by_id) != len(self.labels):
            raise TaxonomyError(f"{origin}: duplicate label ids")
        for label in self.labels:
            if label.family not in self.families:
                raise TaxonomyError(f"{origin}: label {label.id!r} has unknown family {label.family!r}")
        self._check_tree()
        self.crosswalks: dict[str, SourceCrosswalk] = {}
        for source, spec in (data.get("crosswalk") or {}).items():
            self.crosswalks[source] = self._crosswalk(source, spec, origin)

    def with_crosswalks(self, crosswalks: dict[str, dict[str, Any]], origin: str = "source packages") -> Taxonomy:
        """A copy of this taxonomy with these sources' crosswalks added (each source's part
        ships in its package, see :mod:`dance_aggregate.builders.base`).

        Raises:
            TaxonomyError: a crosswalk names an unknown label or match kind, or is malformed.
        """
        out = object.__new__(Taxonomy)
        out.__dict__.update(self.__dict__)
        out.crosswalks = dict(self.crosswalks)
        for source, spec in crosswalks.items():
            out.crosswalks[source] = self._crosswalk(source, spec, f"{origin}: {source}")
        return out

    def _crosswalk(self, source: str, spec: Any, origin: str) -> SourceCrosswalk:
        """One source's crosswalk, checked against the labels."""
        if not isinstance(spec, dict):
            raise TaxonomyError(f"{origin}: the crosswalk of {source!r} is not a mapping (version, labels, exclude)")
        mappings: dict[str, Mapping] = {}
        for source_label, m in (spec.get("labels") or {}).items():
            if not isinstance(m, dict) or "label" not in m or "match" not in m:
                raise TaxonomyError(f"{origin}: crosswalk {source}/{source_label!r} needs label and match, got {m!r}")
            if m["label"] not in self._by_id:
                raise TaxonomyError(
                    f"{origin}: crosswalk {source}/{source_label!r} points at unknown label {m['label']!r}"
                )
            if m["match"] not in MATCH_KINDS:
                raise TaxonomyError(
                    f"{origin}: crosswalk {source}/{source_label!r} has match {m['match']!r}; "
                    f"expected one of {MATCH_KINDS}"
                )
            mappings[str(source_label)] = Mapping(
                source=source,
                source_label=str(source_label),
                label=m["label"],
                match=m["match"],
                family=self._by_id[m["label"]].family,
                index=m.get("index"),
            )
        classes = spec.get("classes")
        if classes is not None and (not isinstance(classes, list) or not all(isinstance(c, str) for c in classes)):
            raise TaxonomyError(
                f"{origin}: `classes` of {source!r} is {type(classes).__name__}; expected a list of the source's "
                f"class names (a file name in crosswalk.yaml is read by builders.base.load_crosswalk)"
            )
        return SourceCrosswalk(
            source=source,
            version=str(spec.get("version", "")),
            labels=mappings,
            exclude={str(k): str(v) for k, v in (spec.get("exclude") or {}).items()},
            taxonomy_roots=tuple(spec.get("taxonomy_roots") or ()),
            classes=None if classes is None else tuple(classes),
        )

    def _check_tree(self) -> None:
        for label in self.labels:
            if label.parent is not None and label.parent not in self._by_id:
                raise TaxonomyError(f"{self.origin}: label {label.id!r} has unknown parent {label.parent!r}")
            seen = {label.id}
            node = label
            while node.parent is not None:
                if node.parent in seen:
                    raise TaxonomyError(f"{self.origin}: the parents of {label.id!r} form a cycle through {node.parent!r}")
                seen.add(node.parent)
                node = self._by_id[node.parent]

    # -- labels -------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """Label ids in ClassLabel order (the published contract)."""
        return [label.id for label in self.labels]

    def label(self, label_id: str) -> Label:
        """Return the canonical label ``label_id``.

        Raises:
            TaxonomyError: if there is no such label.
        """
        try:
            return self._by_id[label_id]
        except KeyError:
            raise TaxonomyError(
                f"unknown label {label_id!r}; run `dance-aggregate taxonomy` to list the labels"
            ) from None

    def index(self, label_id: str) -> int:
        """ClassLabel index of ``label_id``."""
        return self.names.index(self.label(label_id).id)

    # -- the tree -----------------------------------------------------------------------
    def ancestors(self, label_id: str) -> list[str]:
        """The ancestors of ``label_id``, nearest first (``[]`` for a root)."""
        out = []
        node = self.label(label_id)
        while node.parent is not None:
            out.append(node.parent)
            node = self._by_id[node.parent]
        return out

    def children(self, label_id: str) -> list[str]:
        """The labels whose parent is ``label_id``, in ClassLabel order."""
        self.label(label_id)
        return [label.id for label in self.labels if label.parent == label_id]

    def root(self, label_id: str) -> str:
        """The root of ``label_id``'s tree (``dance`` for every dance label)."""
        chain = self.ancestors(label_id)
        return chain[-1] if chain else self.label(label_id).id

    def is_dance(self, label_id: str) -> bool:
        """Whether ``label_id`` is dance (its root is ``dance``); the same in every source."""
        return self.root(label_id) == DANCE_ROOT

    def with_ancestors(self, label_ids: list[str]) -> list[str]:
        """``label_ids``, each followed by its ancestors not already listed, in order
        (``["salsa"]`` -> ``["salsa", "latin_dance", "dance"]``): a row's ``labels``."""
        out: list[str] = []
        for label_id in label_ids:
            for x in (label_id, *self.ancestors(label_id)):
                if x not in out:
                    out.append(x)
        return out

    # -- crosswalk ----------------------------------------------------------------------
    def crosswalk(self, source: str) -> SourceCrosswalk:
        """The crosswalk of ``source``."""
        try:
            return self.crosswalks[source]
        except KeyError:
            raise TaxonomyError(f"no crosswalk for source {source!r}; known: {sorted(self.crosswalks)}") from None

    def map(self, source: str, source_label: str, *, include_motion: bool = False) -> Mapping | None:
        """Map a source's own label string to a canonical label.

        Args:
            source: Source name (``ucf101``, ``kinetics600``, ...).
            source_label: The label as the source spells it; case and surrounding or
                repeated whitespace are ignored (``"Salsa Dancing "`` maps like
                ``"salsa dancing"``). Keep the source's own string in ``source_label``.
            include_motion: Also map the non-dance labels (the ``motion`` family).

        Returns:
            The mapping, or ``None`` when the label is not dance (excluded by rule) or not a
            class of the source (:meth:`is_class` tells which).
        """
        m = self.crosswalk(source).find(source_label)
        if m is None:
            return None
        if not self.is_dance(m.label) and not include_motion:
            return None
        return m

    def is_class(self, source: str, source_label: str, extra: frozenset[str] = frozenset()) -> bool:
        """Whether ``source_label`` is a class of ``source`` (see :meth:`SourceCrosswalk.is_class`):
        an unmapped label that is not is excluded as :data:`UNKNOWN_CLASS`, one that is as
        :data:`NOT_DANCE`.

        Example:
            >>> from dance_aggregate.builders.registry import taxonomy
            >>> taxonomy().is_class("kinetics600", "Abseiling"), taxonomy().is_class("kinetics600", "salsa dancin")
            (True, False)
        """
        return self.crosswalk(source).is_class(source_label, extra)

    def table(self) -> list[dict[str, Any]]:
        """Rows of the label table: index, id, name, family, parent, whether it is dance, its
        children, and the source strings that map."""
        rows = []
        for i, label in enumerate(self.labels):
            sources = {
                src: sorted(m.source_label for m in cw.labels.values() if m.label == label.id)
                for src, cw in self.crosswalks.items()
            }
            rows.append(
                {
                    "index": i,
                    "id": label.id,
                    "name": label.name,
                    "family": label.family,
                    "umbrella": label.umbrella,
                    "parent": label.parent,
                    "ancestors": self.ancestors(label.id),
                    "children": self.children(label.id),
                    "dance": self.is_dance(label.id),
                    "sources": {k: v for k, v in sources.items() if v},
                }
            )
        return rows


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load the label schema (the packaged one unless ``path`` is given)."""
    if path is None:
        return _packaged_taxonomy()
    path = Path(path)
    with path.open(encoding="utf-8") as f:
        return Taxonomy(yaml.safe_load(f), origin=str(path))


@functools.lru_cache(maxsize=1)
def _packaged_taxonomy() -> Taxonomy:
    text = resources.files("dance_aggregate").joinpath("taxonomy/taxonomy.yaml").read_text(encoding="utf-8")
    return Taxonomy(yaml.safe_load(text), origin="dance_aggregate/taxonomy/taxonomy.yaml")
