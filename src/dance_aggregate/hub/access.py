"""Can this machine publish to this repo? Reachability of the Hub and the token's rights.

Run by ``publish`` and by ``publish --dry-run`` before anything is sent, so a dry run says
what the real run would hit: no token, a refused token, a read-only token, a token of a
user who cannot write to the namespace, or no network at all.

- **Reachability** is one request without retries (``dataset_info``): offline, it fails
  in well under a second instead of the ~24 s of retries a listing makes, and the message
  says to set ``HF_HUB_OFFLINE=1`` for a dry run of the local checks only.
- **The token** (``HF_TOKEN`` or the ``hf auth login`` cache) is sent to ``whoami-v2``:
  the answer names its user, the user's organisations and the token's role (``read``,
  ``write``, or ``fineGrained`` with per-namespace permissions). It is never printed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx
from huggingface_hub import HfApi, get_token
from huggingface_hub import constants as hf_constants
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

from dance_aggregate.hub.checks import FAIL, OK, WARN, CheckResult

logger = logging.getLogger(__name__)

#: Organisation roles that may create and write repos.
_WRITE_ROLES = frozenset({"admin", "write", "contributor"})
_LOGIN = "run `hf auth login` with a token that has write access (or export HF_TOKEN=hf_...)"


@dataclass
class HubAccess:
    """What publishing to ``repo_id`` would meet on the Hub.

    Attributes:
        checks: ``hub`` (reachable, offline) and ``token`` check results.
        reachable: The Hub answered (``False`` offline or unreachable).
        exists: The repo exists (``None``: unknown).
    """

    checks: list[CheckResult]
    reachable: bool
    exists: bool | None


def hub_offline() -> bool:
    """``HF_HUB_OFFLINE`` is set (``huggingface_hub`` then refuses every request)."""
    return bool(hf_constants.HF_HUB_OFFLINE)


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def check_access(api: HfApi, repo_id: str, token: str | None, *, dry_run: bool) -> HubAccess:
    """Reachability, repo existence and the token's right to write to ``repo_id``.

    Args:
        api: The Hub client (its endpoint is the one checked).
        repo_id: ``NAMESPACE/NAME``.
        token: An explicit token, or ``None`` for the one ``huggingface_hub`` finds.
        dry_run: Offline (``HF_HUB_OFFLINE``) is then a warning, not a failure.
    """
    if hub_offline():
        detail = "HF_HUB_OFFLINE is set: the token, the repository and its files were not checked"
        if dry_run:
            return HubAccess([CheckResult("hub", WARN, detail)], False, None)
        return HubAccess([CheckResult("hub", FAIL, f"{detail}.\n  Fix: unset HF_HUB_OFFLINE to publish")], False, None)
    try:
        api.dataset_info(repo_id, token=token)
        exists: bool | None = True
    except RepositoryNotFoundError:
        exists = False  # also a private repo this token cannot see: the token check says more
    except HfHubHTTPError as exc:
        logger.warning("cannot read %s on %s: %s", repo_id, api.endpoint, _error_text(exc))
        exists = None
    except (httpx.HTTPError, OSError) as exc:
        return HubAccess([_unreachable(api, repo_id, exc)], False, None)
    reach = CheckResult("hub", OK, f"{api.endpoint} answers; {repo_id} " + _exists_text(exists))
    return HubAccess([reach, check_token(api, repo_id, token)], True, exists)


def _exists_text(exists: bool | None) -> str:
    return {True: "exists", False: "does not exist yet (publish creates it)", None: "could not be read"}[exists]


def _unreachable(api: HfApi, repo_id: str, exc: BaseException) -> CheckResult:
    return CheckResult(
        "hub",
        FAIL,
        f"cannot reach {api.endpoint}: {_error_text(exc)}\n"
        "  Fix: check the network (and HF_ENDPOINT, if set); offline, check only the folder with\n"
        f"       HF_HUB_OFFLINE=1 dance-aggregate publish --repo-id {repo_id} --dry-run",
    )


def check_token(api: HfApi, repo_id: str, token: str | None = None) -> CheckResult:
    """Whether the token exists, is accepted, and may write to ``repo_id``'s namespace."""
    token = token or get_token()
    if not token:
        return CheckResult("token", FAIL, f"no Hugging Face token found.\n  Fix: {_LOGIN}, then rerun the same command")
    try:
        who = api.whoami(token=token)
    except HfHubHTTPError as exc:
        code = getattr(getattr(exc, "response", None), "status_code", None)
        if code == 401:
            return CheckResult("token", FAIL, f"the Hub refused the token (invalid or expired).\n  Fix: {_LOGIN}")
        return CheckResult("token", WARN, f"cannot check the token: {_error_text(exc)}")
    except (httpx.HTTPError, OSError) as exc:
        return CheckResult("token", WARN, f"cannot check the token: {_error_text(exc)}")
    return _write_access(who, repo_id)


def _write_access(who: dict[str, Any], repo_id: str) -> CheckResult:
    """The ``token`` check from a ``whoami-v2`` answer."""
    namespace = repo_id.split("/", 1)[0]
    user = who.get("name") or "?"
    auth = (who.get("auth") or {}).get("accessToken") or {}
    role = auth.get("role")
    orgs = {o.get("name"): (o.get("roleInOrg") or "") for o in who.get("orgs") or []}
    fix = f"  Fix: {_LOGIN}"
    if role == "read":
        return CheckResult("token", FAIL, f"the token of {user} is read-only: it cannot create or write {repo_id}.\n{fix}")
    if role == "fineGrained":
        if _fine_grained_writes(auth.get("fineGrained") or {}, namespace, repo_id):
            return CheckResult("token", OK, f"fine-grained token of {user} can write to {namespace}")
        return CheckResult(
            "token", FAIL, f"the fine-grained token of {user} has no repo write permission on {namespace}.\n{fix}"
        )
    if namespace != user and namespace not in orgs:
        known = ", ".join([user, *orgs]) or user
        return CheckResult(
            "token",
            FAIL,
            f"the token belongs to {user}, who cannot write to the namespace {namespace!r} (it can write to: {known}).\n"
            f"  Fix: publish under your namespace (--repo-id {user}/{repo_id.split('/', 1)[1]}) or log in as a member of {namespace}",
        )
    if namespace != user and orgs[namespace] and orgs[namespace] not in _WRITE_ROLES:
        return CheckResult("token", FAIL, f"{user} has the role {orgs[namespace]!r} in {namespace}: no write access.\n{fix}")
    if role is None:
        return CheckResult("token", WARN, f"token of {user}; the Hub did not say its role, so write access is unchecked")
    return CheckResult("token", OK, f"token of {user} ({role}) can write to {namespace}")


def _fine_grained_writes(fine: dict[str, Any], namespace: str, repo_id: str) -> bool:
    """A fine-grained token's scoped permissions include repo writes on the namespace or repo."""
    for scope in fine.get("scoped") or []:
        entity = scope.get("entity") or {}
        name = entity.get("name")
        if name in (namespace, repo_id) and "repo.write" in (scope.get("permissions") or []):
            return True
    return False
