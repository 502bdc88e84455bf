"""The shared dance label schema: canonical labels, families and per-source crosswalks.

The schema lives in ``taxonomy/taxonomy.yaml`` inside the package. Its ``labels`` order is the
index order of the ``label`` ClassLabel in every config and is part of the published
contract (append only).

Example:
    >>> from dance_aggregate.taxonomy import load_taxonomy
    >>> tax = load_taxonomy()
    >>> tax.map("kinetics600", "salsa dancing").label
    'salsa'
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


@dataclass(frozen=True)
class Label:
    """One canonical label."""

    id: str
    name: str
    family: str
    umbrella: bool = False

    @property
    def is_motion(self) -> bool:
        """True for the non-dance body-motion labels."""
        return self.family == MOTION_FAMILY


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
    """The crosswalk of one source."""

    source: str
    version: str
    labels: dict[str, Mapping]
    exclude: dict[str, str] = field(default_factory=dict)
    taxonomy_roots: tuple[str, ...] = ()


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
                Label(id=d["id"], name=d["name"], family=d["family"], umbrella=bool(d.get("umbrella", False)))
                for d in data["labels"]
            ]
            raw_crosswalk = data["crosswalk"]
        except (KeyError, TypeError) as exc:
            raise TaxonomyError(f"{origin}: missing or malformed section {exc}; expected families, labels, crosswalk") from exc
        self._by_id = {label.id: label for label in self.labels}
        if len(self._by_id) != len(self.labels):
            raise TaxonomyError(f"{origin}: duplicate label ids")
        for label in self.labels:
            if label.family not in self.families:
                raise TaxonomyError(f"{origin}: label {label.id!r} has unknown family {label.family!r}")
        self.crosswalks: dict[str, SourceCrosswalk] = {}
        for source, spec in raw_crosswalk.items():
            mappings: dict[str, Mapping] = {}
            for source_label, m in (spec.get("labels") or {}).items():
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
            self.crosswalks[source] = SourceCrosswalk(
                source=source,
                version=str(spec.get("version", "")),
                labels=mappings,
                exclude={str(k): str(v) for k, v in (spec.get("exclude") or {}).items()},
                taxonomy_roots=tuple(spec.get("taxonomy_roots") or ()),
            )

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
            source_label: The label exactly as the source spells it.
            include_motion: Also map the non-dance body-motion labels.

        Returns:
            The mapping, or ``None`` when the label is not dance (excluded by rule).
        """
        m = self.crosswalk(source).labels.get(source_label)
        if m is None:
            return None
        if m.family == MOTION_FAMILY and not include_motion:
            return None
        return m

    def table(self) -> list[dict[str, Any]]:
        """Rows of the label table: index, id, name, family and the source strings that map."""
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
