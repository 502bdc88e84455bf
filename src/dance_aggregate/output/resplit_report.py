"""The report of a ``--resplit`` (:func:`dance_aggregate.dedup.resplit.resplit`): per label and
split the groups and rows, the fractions reached, and what was kept out of evaluation and why.

A *group* is a joined component (rows sharing a ``group``, a YouTube id or a dedup cluster).
Group counts are by each group's label (the label most of its rows carry); row counts are by
each row's own label, so a row in a group of another label is counted under its own label
(``rows_in_other_groups`` says how many).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dance_aggregate.records import SPLITS

TRAIN, VALIDATION, TEST = SPLITS


def _per_split() -> dict[str, int]:
    return dict.fromkeys(SPLITS, 0)


def _fraction(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


@dataclass
class LabelResplit:
    """What the resplit did for one label.

    Attributes:
        label: The canonical label.
        groups: Groups of this label per split.
        rows: Rows of this label per split (whatever their group's label).
        pretraining_groups: Groups of this label kept in train because a row of theirs is in
            a pretraining set.
        pretraining_rows: Rows of this label in such groups (of any group label).
        mixed_groups: Groups of this label that also hold rows of other labels.
        rows_in_other_groups: Rows of this label in groups of another label.
        asked: Groups asked for validation and test (the rounded shares, at least one each
            from 3 groups), before the eligible groups capped them.
        note: Why the label got fewer evaluation groups than asked, or ``""``.
    """

    label: str
    groups: dict[str, int] = field(default_factory=_per_split)
    rows: dict[str, int] = field(default_factory=_per_split)
    pretraining_groups: int = 0
    pretraining_rows: int = 0
    mixed_groups: int = 0
    rows_in_other_groups: int = 0
    asked: dict[str, int] = field(default_factory=dict)
    note: str = ""

    @property
    def total_groups(self) -> int:
        """Groups of this label in all splits."""
        return sum(self.groups.values())

    @property
    def total_rows(self) -> int:
        """Rows of this label in all splits."""
        return sum(self.rows.values())

    @property
    def eligible_groups(self) -> int:
        """Groups of this label free to go to validation or test."""
        return self.total_groups - self.pretraining_groups

    def group_fraction(self, split: str) -> float:
        """Share of this label's groups in ``split``."""
        return _fraction(self.groups[split], self.total_groups)

    def row_fraction(self, split: str) -> float:
        """Share of this label's rows in ``split``."""
        return _fraction(self.rows[split], self.total_rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "label": self.label,
            "groups": dict(self.groups),
            "rows": dict(self.rows),
            "group_fraction": {s: round(self.group_fraction(s), 4) for s in SPLITS},
            "row_fraction": {s: round(self.row_fraction(s), 4) for s in SPLITS},
            "eligible_groups": self.eligible_groups,
            "kept_in_train": {"reason": "pretraining overlap", "groups": self.pretraining_groups, "rows": self.pretraining_rows},
            "asked": dict(self.asked),
            "mixed_groups": self.mixed_groups,
            "rows_in_other_groups": self.rows_in_other_groups,
            "note": self.note,
        }


@dataclass
class ResplitReport:
    """The whole resplit: options, one :class:`LabelResplit` per label (sorted by label).

    Attributes:
        options: The fractions and seed (``ResplitOptions.to_dict()``).
        labels: Per label.
        unkept_groups: Groups made only of rows not kept (removed copies); they go to train
            and are counted nowhere else.
    """

    options: dict[str, Any]
    labels: list[LabelResplit]
    unkept_groups: int = 0

    def groups(self) -> dict[str, int]:
        """Groups per split (each group counted once, under its label)."""
        return {s: sum(e.groups[s] for e in self.labels) for s in SPLITS}

    def rows(self) -> dict[str, int]:
        """Kept rows per split."""
        return {s: sum(e.rows[s] for e in self.labels) for s in SPLITS}

    def short_labels(self) -> list[LabelResplit]:
        """Labels that got fewer evaluation groups than asked (too few groups, or too many in
        pretraining)."""
        return [e for e in self.labels if e.note]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (for ``reports/all.json``)."""
        groups, rows = self.groups(), self.rows()
        return {
            "options": dict(self.options),
            "groups": groups,
            "rows": rows,
            "group_fraction": {s: round(_fraction(groups[s], sum(groups.values())), 4) for s in SPLITS},
            "row_fraction": {s: round(_fraction(rows[s], sum(rows.values())), 4) for s in SPLITS},
            "kept_in_train": {
                "reason": "pretraining overlap",
                "groups": sum(e.pretraining_groups for e in self.labels),
                "rows": sum(e.pretraining_rows for e in self.labels),
            },
            "unkept_groups": self.unkept_groups,
            "labels": [e.to_dict() for e in self.labels],
        }

    def markdown(self) -> str:
        """The per-label table: groups and rows, validation and test counts with the share
        reached, groups kept in train for pretraining, and the note."""
        head = (
            "| label | groups | rows | val groups | test groups | val rows | test rows | "
            "kept in train: pretraining groups (rows) | note |"
        )
        lines = [head, "| --- |" + " ---: |" * 7 + " --- |"]

        def cells(name: str, g: dict[str, int], r: dict[str, int], pg: int, pr: int, note: str) -> str:
            tg, tr = sum(g.values()), sum(r.values())
            share = [f"{g[s]} ({100 * _fraction(g[s], tg):.0f} %)" for s in (VALIDATION, TEST)]
            share += [f"{r[s]} ({100 * _fraction(r[s], tr):.0f} %)" for s in (VALIDATION, TEST)]
            return f"| {name} | {tg} | {tr} | " + " | ".join(share) + f" | {pg} ({pr}) | {note} |"

        for e in self.labels:
            lines.append(cells(e.label, e.groups, e.rows, e.pretraining_groups, e.pretraining_rows, e.note))
        total = self.to_dict()["kept_in_train"]
        lines.append(cells("**total**", self.groups(), self.rows(), total["groups"], total["rows"], ""))
        return "\n".join(lines)


def report_from_dict(data: dict[str, Any]) -> ResplitReport:
    """The report back from its JSON form (:meth:`ResplitReport.to_dict`, as
    ``reports/all.json`` keeps it), for the card and ``stats``."""
    labels = [
        LabelResplit(
            label=d["label"],
            groups={s: int(d["groups"].get(s, 0)) for s in SPLITS},
            rows={s: int(d["rows"].get(s, 0)) for s in SPLITS},
            pretraining_groups=int(d.get("kept_in_train", {}).get("groups", 0)),
            pretraining_rows=int(d.get("kept_in_train", {}).get("rows", 0)),
            mixed_groups=int(d.get("mixed_groups", 0)),
            rows_in_other_groups=int(d.get("rows_in_other_groups", 0)),
            asked=dict(d.get("asked", {})),
            note=str(d.get("note", "")),
        )
        for d in data.get("labels", [])
    ]
    return ResplitReport(dict(data.get("options", {})), labels, int(data.get("unkept_groups", 0)))
