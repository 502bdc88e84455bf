"""Commits to the Hub that respect its limits: paced, retried, and described without secrets.

The Hub allows about 128 commits per hour and repo and answers 429 (or a 5xx) when busy;
:class:`Committer` paces and retries, and :func:`status_text` turns a failed call into one
line (its status and first message line) for an error that names what failed.
"""

from __future__ import annotations

import logging
import time
from collections import deque

from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
from huggingface_hub.errors import HfHubHTTPError

logger = logging.getLogger(__name__)

REPO_TYPE = "dataset"
#: HTTP statuses retried around a commit (rate limit, transient server errors).
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def status_text(exc: BaseException) -> str:
    code = getattr(getattr(exc, "response", None), "status_code", None)
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"HTTP {code}: {first}" if code else first


def _retry_after(exc: HfHubHTTPError) -> float | None:
    resp = getattr(exc, "response", None)
    value = resp.headers.get("Retry-After") if resp is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class Committer:
    """Commits to one dataset repo, paced to ``max_per_hour`` commits in any hour, each
    retried up to ``retries`` times on 429 / 5xx after ``Retry-After`` or an exponential
    backoff from ``backoff`` seconds (capped at 10 minutes)."""

    def __init__(self, api: HfApi, repo_id: str, max_per_hour: int, retries: int, backoff: float) -> None:
        self.api = api
        self.repo_id = repo_id
        self.max_per_hour = max_per_hour
        self.retries = retries
        self.backoff = backoff
        self.times: deque[float] = deque()
        self.count = 0

    def _pace(self) -> None:
        now = time.monotonic()
        while self.times and now - self.times[0] > 3600:
            self.times.popleft()
        if len(self.times) >= self.max_per_hour:
            wait = 3600 - (now - self.times[0])
            logger.warning("%d commits in the last hour: waiting %.0f s for the Hub's commit-rate limit", len(self.times), wait)
            time.sleep(max(0.0, wait))

    def commit(self, additions: list[tuple[str, str | bytes]], deletions: list[str], message: str) -> str | None:
        """One commit of ``additions`` ((path in repo, local path or bytes)) and ``deletions``."""
        attempt = 0
        while True:
            self._pace()
            # Operations are single-use in huggingface_hub: build them for each attempt.
            ops: list[CommitOperationAdd | CommitOperationDelete] = [CommitOperationAdd(p, src) for p, src in additions]
            ops += [CommitOperationDelete(p) for p in deletions]
            try:
                info = self.api.create_commit(self.repo_id, ops, commit_message=message, repo_type=REPO_TYPE)
            except HfHubHTTPError as exc:
                code = getattr(getattr(exc, "response", None), "status_code", None)
                if code not in RETRY_STATUSES or attempt >= self.retries:
                    raise
                wait = _retry_after(exc)
                if wait is None:
                    wait = min(600.0, self.backoff * 2**attempt)
                attempt += 1
                logger.warning("commit %r answered %s; retry %d/%d in %.1f s", message, code, attempt, self.retries, wait)
                time.sleep(wait)
                continue
            self.times.append(time.monotonic())
            self.count += 1
            return info.oid
