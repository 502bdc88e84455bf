"""The code blocks of the Markdown docs, and a runner that executes them in document order.

A block is run when its language is Python or a shell. The line right above its opening
fence may mark it (an HTML comment, invisible once rendered):

- ``<!-- docs-test: skip (why) -->``: not run, because it needs what a test cannot have (the
  real UCF101, YouTube, a Ray cluster, a package install); the reason is required, and the
  docs test lists every skipped block with it;
- ``<!-- docs-test: torch -->``: needs torch, so it runs in the torch run (``pytest -m torch``)
  and not in the default, torch-free one.

Python blocks of one section (``## `` heading) of a document share one interpreter (a later
block uses the names of an earlier one, as a reader would); shell blocks run with
``bash -euo pipefail``. Both run in a
work folder holding a copy of the sample build as ``dance_aggregate/``, with the documented
stand-ins substituted (:data:`SUBSTITUTIONS`: the sample's raw trees, which have the real
layouts, for ``/data/...``).
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN_LANGS = {"python": "python", "py": "python", "bash": "bash", "sh": "bash", "shell": "bash", "console": "bash"}
_FENCE = re.compile(r"^(\s*)```\s*([\w+-]*)\s*$")
_MARK = re.compile(r"^\s*<!--\s*docs-test:\s*(skip|torch)\s*(?:\((.*)\))?\s*-->\s*$")
#: Lines the docs test adds to pytest's closing summary (conftest prints them).
SKIPPED_REPORT: list[str] = []
_NEEDS_TORCH = re.compile(r"^\s*(import torch|from torch[\s.]|torchrun\b)|\bas_tensor=True", re.M)


@dataclass
class Snippet:
    """One code block of a document."""

    doc: str
    line: int
    lang: str
    code: str
    mark: str | None = None  # None, "skip" or "torch"
    reason: str = ""
    section: str = ""  # the "## " heading above it

    @property
    def where(self) -> str:
        return f"{self.doc}:{self.line}"

    @property
    def needs_torch(self) -> bool:
        """What the code itself shows: it imports torch, runs torchrun or asks for tensors."""
        return bool(_NEEDS_TORCH.search(self.code))


def parse(text: str, doc: str) -> list[Snippet]:
    """Every fenced Python or shell block of a Markdown text, with its mark."""
    lines = text.splitlines()
    out: list[Snippet] = []
    section = ""
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            if lines[i].startswith("## "):
                section = lines[i][3:].strip()
            i += 1
            continue
        indent, lang = m.group(1), m.group(2).lower()
        start = i
        i += 1
        body = []
        while i < len(lines) and not re.match(rf"^{re.escape(indent)}```\s*$", lines[i]):
            body.append(lines[i])
            i += 1
        i += 1
        if lang not in RUN_LANGS:
            continue
        above = next((lines[k] for k in range(start - 1, -1, -1) if lines[k].strip()), "")
        mark = _MARK.match(above)
        out.append(
            Snippet(
                doc=doc,
                line=start + 1,
                lang=RUN_LANGS[lang],
                code=textwrap.dedent("\n".join(body)) + "\n",
                mark=mark.group(1) if mark else None,
                reason=(mark.group(2) or "").strip() if mark else "",
                section=section,
            )
        )
    return out


def substitute(code: str, table: dict[str, str]) -> str:
    """Replace each stand-in (longest first, so ``/data/k600/videos`` wins over ``/data/k600``)."""
    for key in sorted(table, key=len, reverse=True):
        code = code.replace(key, table[key])
    return code


# Replies go over a private copy of fd 1; fd 1 itself then points at the log (stderr), so
# whatever a snippet or a child process prints never mixes with them.
_DRIVER = r"""
import json, os, sys, traceback
channel = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
scope = {"__name__": "__main__"}
for line in sys.stdin:
    msg = json.loads(line)
    try:
        exec(compile(msg["code"], msg["name"], "exec"), scope)
        reply = {"ok": True}
    except BaseException:
        reply = {"ok": False, "error": traceback.format_exc()}
    print("\n" + msg["name"], file=sys.stderr, flush=True)
    channel.write(json.dumps(reply) + "\n")
    channel.flush()
"""


class DocRunner:
    """Runs one document's snippets in order: Python blocks in one interpreter, shell
    blocks in bash; all in ``cwd`` with ``env``."""

    def __init__(self, cwd: Path, env: dict[str, str], log: Path, timeout: float = 300) -> None:
        self.cwd, self.env, self.log, self.timeout = cwd, env, log, timeout
        self._log = open(log, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._python: subprocess.Popen[str] | None = None
        self.timings: list[tuple[str, float]] = []

    def run(self, snippet: Snippet, code: str) -> str | None:
        """Run ``code`` (the snippet after substitution); the error text, or ``None``."""
        self._log.write(f"\n===== {snippet.where} ({snippet.lang})\n{code}\n")
        self._log.flush()
        t0 = time.monotonic()
        error = self._bash(code) if snippet.lang == "bash" else self._exec_python(code, snippet.where)
        self.timings.append((snippet.where, time.monotonic() - t0))
        self._log.write(f"===== {snippet.where}: {time.monotonic() - t0:.1f} s\n")
        return error

    def _bash(self, code: str) -> str | None:
        proc = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", code], cwd=self.cwd, env=self.env, capture_output=True, text=True,
            timeout=self.timeout,
        )
        self._log.write(proc.stdout + proc.stderr)
        self._log.flush()
        if proc.returncode:
            return f"exit code {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
        return None

    def _exec_python(self, code: str, name: str) -> str | None:
        if self._python is None:
            self._python = subprocess.Popen(
                [sys.executable, "-u", "-c", _DRIVER], cwd=self.cwd, env=self.env, text=True,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
            )
        proc = self._python
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps({"code": code, "name": name}) + "\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], self.timeout)
        if not ready:
            proc.kill()
            return f"timed out after {self.timeout} s"
        line = proc.stdout.readline()
        if not line:
            return f"the interpreter died (exit code {proc.wait()})"
        reply = json.loads(line)
        return None if reply["ok"] else reply["error"]

    def close(self) -> None:
        if self._python is not None:
            if self._python.stdin:
                self._python.stdin.close()
            try:
                self._python.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._python.kill()
        self._log.close()


def env_for(base: dict[str, str], **extra: str) -> dict[str, str]:
    """The environment of the snippets: this interpreter's scripts first on ``PATH`` (the
    ``dance-aggregate`` command of the package under test), plus ``extra``."""
    env = dict(base)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env
