"""Ray's token authentication, as seen by a driver joining a cluster (``--ray-address``).

Ray 2.5x and later turn token authentication on by themselves in two places (read in
``ray/_private/authentication/authentication_token_setup.py`` and checked by experiment with
Ray 2.60): ``ray start --head`` when the head finds a token (``~/.ray/auth_token``, or the file
named by ``RAY_AUTH_TOKEN_PATH``, or ``RAY_AUTH_TOKEN`` itself), and ``ray.init()`` starting a
new local instance (which writes ``~/.ray/auth_token`` when there is none). A process given an
explicit address (a driver's ``ray.init(address="HEAD:6379")``, a worker node's
``ray start --address``) never turns it on: without ``RAY_AUTH_MODE=token`` in its environment
it sends no token, the head answers ``InvalidAuthToken``, and Ray retries for 20 s before
raising a ``ConnectionError`` that only says it could not connect.

This module asks the head once, before ``ray.init``, whether it accepts this process (0.01 s
instead of those 20 s), and recognises the same refusal in what ``ray.init`` raises, so the
build can say what to set. A token is never logged or put in a message: only where it is read
from.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from dance_aggregate.errors import DanceAggregateError

logger = logging.getLogger(__name__)

#: The variables Ray reads (a token in the environment wins over a file; a file named by
#: RAY_AUTH_TOKEN_PATH over ~/.ray/auth_token).
AUTH_MODE_VAR = "RAY_AUTH_MODE"
TOKEN_VAR = "RAY_AUTH_TOKEN"
TOKEN_PATH_VAR = "RAY_AUTH_TOKEN_PATH"
#: How long the check may wait for an answer before leaving the rest to ``ray.init``.
PROBE_TIMEOUT_MS = 5000

# What Ray says when it refuses or cannot find a token (ray/_private/authentication/
# authentication_constants.py and the GCS's gRPC status), in a message or a traceback's text.
_REFUSED = re.compile(r"InvalidAuthToken: [^.\n]*|Token authentication is enabled but [^.\n]*")


def default_token_path() -> Path:
    """Where Ray reads the token when neither ``RAY_AUTH_TOKEN`` nor ``RAY_AUTH_TOKEN_PATH``
    is set: ``~/.ray/auth_token`` of the user running the process."""
    return Path.home() / ".ray" / "auth_token"


def token_source() -> str:
    """Where this process reads its token from (never the token itself)."""
    if os.environ.get(TOKEN_VAR):
        return f"the {TOKEN_VAR} environment variable"
    named = os.environ.get(TOKEN_PATH_VAR)
    if named:
        return f"{named} (named by {TOKEN_PATH_VAR})"
    return str(default_token_path())


def is_token_auth_failure(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) is Ray refusing this process's
    token, or not finding one: Ray's ``AuthenticationError``, or a ``ConnectionError`` whose
    cause's text holds it (what ``ray.init`` raises after its retries)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if type(current).__name__ == "AuthenticationError" or _REFUSED.search(str(current)):
            return True
        current = current.__cause__ or current.__context__
    return False


def token_auth_error(address: str, exc: BaseException | str) -> DanceAggregateError:
    """The error for a cluster that refused this process's token (or found none): what Ray
    said, the ``RAY_AUTH_MODE`` this process runs with, where its token is read from, and
    the commands that fix it."""
    said = _what_ray_said(exc if isinstance(exc, str) else _chain_text(exc))
    mode = os.environ.get(AUTH_MODE_VAR)
    source = token_source()
    has_token = bool(os.environ.get(TOKEN_VAR)) or Path(os.environ.get(TOKEN_PATH_VAR) or default_token_path()).is_file()
    if (mode or "").lower() != "token":
        why = (
            f"This process runs with {AUTH_MODE_VAR}={mode or '(unset)'}, so it sends no token. "
            "`ray start --head` turns token authentication on by itself when the head has a token file "
            "(~/.ray/auth_token), but a driver or a `ray start --address` node given an explicit address "
            f"never does: it needs {AUTH_MODE_VAR}=token in its environment."
        )
        if has_token:
            why += f" This machine has a token in {source}: if it is the head's, {AUTH_MODE_VAR}=token is all that is missing."
    elif not has_token or "no authentication token" in said:
        why = f"This process runs with {AUTH_MODE_VAR}=token but has no token: it looked in {source}."
    else:
        why = (
            f"This process runs with {AUTH_MODE_VAR}=token and sends the token in {source}, which is not "
            "this cluster's (another cluster's, or the head made a new one)."
        )
    return DanceAggregateError(
        f"cannot join the Ray cluster at --ray-address {address} (token authentication): Ray says {said}.\n"
        f"{why}\n"
        "Fix: copy the head's token (`ray get-auth-token` prints it on the head; it is the head's ~/.ray/auth_token) "
        f"to {default_token_path()} on this machine, or to any file named by {TOKEN_PATH_VAR}, and run with "
        f"{AUTH_MODE_VAR}=token, e.g.\n"
        f"  {AUTH_MODE_VAR}=token dance-aggregate build ... --runner ray --ray-address {address}\n"
        "Every node that joins with `ray start --address` needs the same: "
        f"{AUTH_MODE_VAR}=token ray start --address {address}   (docs/scaling.md, 'Token authentication')."
    )


def check_token_auth(address: str) -> None:
    """Ask the Ray cluster at ``HOST:PORT`` once whether it accepts this process's token.

    Raises the error of :func:`token_auth_error` at once when it refuses. Anything else (the
    cluster accepts, another failure, a Ray without token authentication or whose private
    client changed) is left to ``ray.init``, which reports it itself.

    Raises:
        DanceAggregateError: the cluster refused this process's token (or its missing token).
    """
    try:
        from ray._raylet import (  # private, so any change of Ray's only skips the check
            AuthenticationMode,
            AuthenticationTokenLoader,
            InnerGcsClient,
            get_authentication_mode,
        )
        from ray.exceptions import AuthenticationError
    except ImportError:
        return  # a Ray before token authentication
    try:
        if get_authentication_mode() == AuthenticationMode.TOKEN and not AuthenticationTokenLoader.instance().has_token(
            ignore_auth_mode=True
        ):
            # Token mode and no token: Ray's client aborts the process here (a failed C++
            # check), while ray.init raises AuthenticationError at once.
            return
        InnerGcsClient.standalone(address, None, PROBE_TIMEOUT_MS)
    except AuthenticationError as exc:
        raise token_auth_error(address, exc) from None
    except Exception as exc:  # noqa: BLE001 - the check only speeds up one diagnosis
        logger.debug("token authentication check of %s left to ray.init: %s: %s", address, type(exc).__name__, exc)


def _chain_text(exc: BaseException) -> str:
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None and len(parts) < 8:
        parts.append(str(current))
        current = current.__cause__ or current.__context__
    return "\n".join(parts)


def _what_ray_said(text: str) -> str:
    """Ray's reason, without its long generic advice: the refusal, else its first sentence."""
    found = _REFUSED.search(text)
    if found:
        return found.group(0).strip()
    first = text.strip().splitlines()[0] if text.strip() else "refused"
    return first.split(". ")[0]
