"""The failure cap (:class:`FailureCap`): one bad record costs only itself, but when most
records of a config fail for the *same* reason, the cause is not the data: a missing codec,
a bug, a blocked network, expired cookies. Once ``min_records`` plan records have been
tried, if more than ``max_share`` of them failed with one reason (``unexpected error``, one
media error reason, one download failure), the config stops with
:class:`~dance_aggregate.errors.TooManyFailures` instead of writing a near-empty dataset.
Reasons that are facts about single records (a removed or private video, a clip missing
from an offline mirror: :meth:`~.execute.ProduceContext.expected_failure`)
never count. The same cap applies to ``unexpected error`` exclusions of the plan.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from dance_aggregate.errors import TooManyFailures
from dance_aggregate.pipeline.defaults import DEFAULT_FAILURE_MIN_RECORDS, DEFAULT_MAX_FAILURE_SHARE


@dataclass(frozen=True)
class FailureCap:
    """When a config stops early because most of its records fail for one reason.

    Attributes:
        min_records: Plan records tried before the cap is looked at (small configs are
            never stopped by it).
        max_share: Stop when more than this share of the records tried failed with one
            reason; ``1.0`` turns the cap off.
    """

    min_records: int = DEFAULT_FAILURE_MIN_RECORDS
    max_share: float = DEFAULT_MAX_FAILURE_SHARE

    def __post_init__(self) -> None:
        if self.min_records < 1:
            raise ValueError(f"the failure cap's min_records must be >= 1, got {self.min_records}")
        if not 0.0 < self.max_share <= 1.0:
            raise ValueError(f"the failure cap's max_share must be in (0, 1], got {self.max_share}")

    def check(self, config: str, tried: int, failed: Counter[str], examples: dict[str, str], total: int, noun: str) -> None:
        """Raise :class:`TooManyFailures` when ``failed`` (reason -> records) crosses the cap."""
        if tried < self.min_records or not failed:
            return
        reason, n = failed.most_common(1)[0]
        if n / tried <= self.max_share:
            return
        raise TooManyFailures(
            f"{config}: stopped after {tried} of {total} {noun}s: {n} ({100 * n / tried:.0f}%) failed with "
            f"{reason!r}, e.g. {examples.get(reason, '')[:300]}\n"
            f"So many failures for one reason are not bad records but a broken setup (a missing codec, a bug, "
            f"a blocked network, expired cookies). Fix the cause and run the same command again (finished "
            f"{noun}s are kept), or raise the cap: --max-failure-share 1 turns it off"
        )
