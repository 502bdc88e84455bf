"""A small Hugging Face Hub API server on 127.0.0.1 for the publish tests.

The REAL ``huggingface_hub`` client and ``datasets.load_dataset`` talk to it when
``HF_ENDPOINT`` points at it and ``HF_HUB_DISABLE_XET=1`` is set (no Xet storage here).
It implements only what they use (see FACTS.md): repo create and info, ``validate-yaml``,
``preupload`` (``lfs`` for binary data files), the git-LFS batch API and PUT, the NDJSON
``commit`` endpoint, ``tree``, ``paths-info``, ``refs``, tags, and ``resolve`` with HTTP Range.

Every request is recorded (method, path, whether it writes, its Authorization token) so
tests can assert what was sent: LFS PUTs per object, commits, no write at all in a dry run.
Knobs: ``fail_commits_after`` (the next commits answer 500: an interrupted upload),
``rate_limit_commits`` (the next N commits answer 429 with ``Retry-After: 0``) and
``required_token`` (writes, and ``whoami-v2``, with another token answer 401), ``users`` (what
``whoami-v2`` says of a token: its user, organisations and role), ``hang_lfs_after`` (LFS PUTs
hang, so the client process can be killed mid-upload).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_LFS_SUFFIXES = (".parquet", ".png", ".jpg", ".mp4", ".flac", ".arrow", ".bin")
_PREFIX = {"datasets": "dataset", "spaces": "space", "models": "model"}


def git_blob_sha1(data: bytes) -> str:
    """Git object id of a blob."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class StoredFile:
    """A file at one commit of a repo."""

    data: bytes
    lfs: bool

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def pointer(self) -> bytes:
        return f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {len(self.data)}\n".encode()

    @property
    def oid(self) -> str:
        """Git blob id (of the pointer for LFS files)."""
        return git_blob_sha1(self.pointer if self.lfs else self.data)


@dataclass
class Repo:
    """One repo: commits (sha -> files), branches, tags, LFS store."""

    repo_type: str
    repo_id: str
    private: bool = False
    commits: dict[str, dict[str, StoredFile]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    branches: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    lfs: dict[str, bytes] = field(default_factory=dict)

    def resolve(self, rev: str) -> str | None:
        if rev in self.branches:
            return self.branches[rev]
        if rev in self.tags:
            return self.tags[rev]
        if rev in self.commits:
            return rev
        return None

    def files(self, rev: str) -> dict[str, StoredFile] | None:
        sha = self.resolve(rev)
        return None if sha is None else self.commits[sha]

    def commit(self, files: dict[str, StoredFile], message: str, branch: str = "main") -> str:
        sha = hashlib.sha1(f"{self.repo_id}{len(self.order)}{message}{time.time_ns()}".encode()).hexdigest()
        self.commits[sha] = files
        self.order.append(sha)
        self.branches[branch] = sha
        return sha


@dataclass
class Request:
    """One request the server saw."""

    method: str
    path: str
    write: bool
    token: str | None


class HubState:
    """Everything the server holds, shared by its handler threads."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.repos: dict[tuple[str, str], Repo] = {}
        self.requests: list[Request] = []
        self.lfs_puts: Counter[str] = Counter()
        self.commits_ok = 0
        #: Paths added or deleted by each successful commit, in order.
        self.commit_paths: list[list[str]] = []
        self.fail_commits_after: int | None = None
        self.rate_limit_commits = 0
        self.rate_limited = 0
        #: When set, write requests with another token get 401.
        self.required_token: str | None = None
        #: When set, LFS PUTs after this many stored objects hang until ``release`` is set
        #: (then answer 500): the client can be killed mid-upload.
        self.hang_lfs_after: int | None = None
        self.hanging = threading.Event()
        self.release = threading.Event()
        #: ``whoami-v2``: token -> {"name", "role" (read/write/fineGrained), "orgs": {org: role},
        #: "scoped": fine-grained scopes}; tokens not listed are ``default_user``'s.
        self.users: dict[str, dict[str, Any]] = {}
        self.default_user: dict[str, Any] = {"name": "tester", "role": "write", "orgs": {}}

    @property
    def writes(self) -> list[Request]:
        return [r for r in self.requests if r.write]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HubServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        pass

    # -- plumbing -------------------------------------------------------------------------
    @property
    def state(self) -> HubState:
        return self.server.state

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            return self.rfile.read(n)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        return b""

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None, head: bool = False) -> None:
        self.send_response(status)
        headers = dict(headers or {})
        headers.setdefault("Content-Type", "application/json")
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(obj).encode(), headers)

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message}, {"X-Error-Message": message})

    def _record(self, write: bool) -> None:
        auth = self.headers.get("Authorization") or ""
        token = auth[7:] if auth.startswith("Bearer ") else None
        with self.state.lock:
            self.state.requests.append(Request(self.command, self.path, write, token))

    def _repo(self, kind: str, ns: str, name: str) -> Repo | None:
        return self.state.repos.get((_PREFIX.get(kind, kind), f"{ns}/{name}"))

    # -- dispatch -------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802
        self._dispatch(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch(head=True)

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch()

    def _dispatch(self, head: bool = False) -> None:
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        query = urllib.parse.parse_qs(url.query)
        method = self.command
        body = self._body() if method in ("POST", "PUT") else b""
        read_only_post = re.search(r"/(preupload|paths-info)/", path) or path in ("/api/validate-yaml",) or path.endswith(
            "/info/lfs/objects/batch"
        )
        write = method in ("PUT", "DELETE") or (method == "POST" and not read_only_post)
        self._record(write)
        required = self.state.required_token
        presigned = path.startswith("/lfs-upload/")  # like the Hub's presigned storage URLs: no token
        if write and not presigned and required is not None and self.headers.get("Authorization") != f"Bearer {required}":
            return self._send(401, b'{"error":"Invalid credentials in Authorization header"}')
        try:
            self._route(method, path, query, body, head)
        except Exception as exc:  # noqa: BLE001 - a test server answers 500 and keeps going
            self._error(500, f"{type(exc).__name__}: {exc}")

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: bytes, head: bool) -> None:
        if method == "POST" and path == "/api/repos/create":
            return self._create_repo(json.loads(body))
        if method == "POST" and path == "/api/validate-yaml":
            return self._json(200, {})
        if method == "GET" and path == "/api/whoami-v2":
            return self._whoami()
        m = re.fullmatch(r"/api/(datasets|models|spaces)/([^/]+)/([^/]+)(?:/(.*))?", path)
        if m:
            kind, ns, name, rest = m.groups()
            repo = self._repo(kind, ns, name)
            if repo is None:
                return self._send(404, b'{"error":"Repository not found"}', {"X-Error-Code": "RepoNotFound"})
            return self._api(repo, method, rest or "", query, body)
        m = re.fullmatch(r"/(datasets/|spaces/)?([^/]+)/([^/]+)\.git/info/lfs/objects/batch", path)
        if m and method == "POST":
            repo = self._repo((m.group(1) or "models/").rstrip("/"), m.group(2), m.group(3))
            if repo is None:
                return self._error(404, "Repository not found")
            return self._lfs_batch(repo, json.loads(body))
        m = re.fullmatch(r"/lfs-upload/(\w+)/([^/]+)/([^/]+)/([0-9a-f]{64})", path)
        if m and method == "PUT":
            repo = self._repo(m.group(1), m.group(2), m.group(3))
            oid = m.group(4)
            if repo is None or hashlib.sha256(body).hexdigest() != oid:
                return self._error(400, "bad LFS upload")
            hang = self.state.hang_lfs_after
            if hang is not None and sum(self.state.lfs_puts.values()) >= hang:
                self.state.hanging.set()
                self.state.release.wait(30)
                return self._error(500, "simulated hang")
            with self.state.lock:
                repo.lfs[oid] = body
                self.state.lfs_puts[oid] += 1
            return self._send(200)
        m = re.fullmatch(r"/(datasets/|spaces/)?([^/]+)/([^/]+)/resolve/([^/]+)/(.+)", path)
        if m and method in ("GET", "HEAD"):
            repo = self._repo((m.group(1) or "models/").rstrip("/"), m.group(2), m.group(3))
            if repo is None:
                return self._send(404, b'{"error":"Repository not found"}', {"X-Error-Code": "RepoNotFound"}, head)
            return self._resolve(repo, urllib.parse.unquote(m.group(4)), urllib.parse.unquote(m.group(5)), head)
        return self._error(404, f"no route for {method} {path}")

    # -- endpoints ------------------------------------------------------------------------
    def _whoami(self) -> None:
        """The Hub's answer for the request's token: 401 without one, or for one the server
        refuses; else the user, its organisations and the token's role."""
        auth = self.headers.get("Authorization") or ""
        token = auth[7:] if auth.startswith("Bearer ") else None
        state = self.state
        if token is None or (state.required_token is not None and token != state.required_token):
            return self._send(401, b'{"error":"Invalid credentials in Authorization header"}')
        user = state.users.get(token, state.default_user)
        role = user.get("role", "write")
        access: dict[str, Any] = {"displayName": "test token", "role": role}
        if role == "fineGrained":
            access["fineGrained"] = {"scoped": user.get("scoped", []), "global": []}
        orgs = [{"name": name, "roleInOrg": r, "type": "org"} for name, r in user.get("orgs", {}).items()]
        self._json(200, {"type": "user", "name": user["name"], "orgs": orgs, "auth": {"type": "access_token", "accessToken": access}})

    def _create_repo(self, payload: dict[str, Any]) -> None:
        name = payload["name"]
        ns = payload.get("organization") or "tester"
        kind = payload.get("type") or "model"
        key = (kind, f"{ns}/{name}")
        with self.state.lock:
            if key in self.state.repos:
                return self._json(409, {"error": "You already created this repo", "url": self._repo_url(kind, key[1])})
            repo = Repo(kind, key[1], private=bool(payload.get("private")) or payload.get("visibility") == "private")
            gitattributes = "".join(f"*{s} filter=lfs diff=lfs merge=lfs -text\n" for s in _LFS_SUFFIXES)
            repo.commit({".gitattributes": StoredFile(gitattributes.encode(), lfs=False)}, "initial commit")
            self.state.repos[key] = repo
        self._json(200, {"url": self._repo_url(kind, key[1]), "name": key[1], "id": key[1]})

    def _repo_url(self, kind: str, repo_id: str) -> str:
        prefix = "" if kind == "model" else f"{kind}s/"
        return f"{self.server.url}/{prefix}{repo_id}"

    def _api(self, repo: Repo, method: str, rest: str, query: dict[str, list[str]], body: bytes) -> None:
        if method == "GET" and (rest == "" or rest.startswith("revision/")):
            rev = urllib.parse.unquote(rest[len("revision/"):]) if rest else "main"
            return self._info(repo, rev)
        if method == "GET" and rest == "refs":
            return self._json(
                200,
                {
                    "branches": [{"name": b, "ref": f"refs/heads/{b}", "targetCommit": s} for b, s in repo.branches.items()],
                    "tags": [{"name": t, "ref": f"refs/tags/{t}", "targetCommit": s} for t, s in repo.tags.items()],
                    "converts": [],
                },
            )
        m = re.fullmatch(r"(preupload|commit|paths-info|tag)/([^/]+)", rest)
        if m and method == "POST":
            op, rev = m.group(1), urllib.parse.unquote(m.group(2))
            return getattr(self, f"_{op.replace('-', '_')}")(repo, rev, body)
        m = re.fullmatch(r"tree/([^/]+)(?:/(.*))?", rest)
        if m and method == "GET":
            return self._tree(repo, urllib.parse.unquote(m.group(1)), urllib.parse.unquote(m.group(2) or ""), query)
        return self._error(404, f"no API route for {method} {rest}")

    def _info(self, repo: Repo, rev: str) -> None:
        files = repo.files(rev)
        if files is None:
            return self._send(404, b'{"error":"Invalid rev id"}', {"X-Error-Code": "RevisionNotFound"})
        sha = repo.resolve(rev)
        self._json(
            200,
            {
                "_id": repo.repo_id,
                "id": repo.repo_id,
                "author": repo.repo_id.split("/")[0],
                "sha": sha,
                "private": repo.private,
                "disabled": False,
                "gated": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "lastModified": "2026-01-01T00:00:00.000Z",
                "createdAt": "2026-01-01T00:00:00.000Z",
                "siblings": [{"rfilename": p} for p in sorted(files)],
                "cardData": {},
            },
        )

    def _preupload(self, repo: Repo, rev: str, body: bytes) -> None:
        files = repo.files(rev) or {}
        out = []
        for f in json.loads(body)["files"]:
            lfs = f["path"].endswith(_LFS_SUFFIXES) or f["size"] > 10 * 1024 * 1024
            cur = files.get(f["path"])
            oid = None
            if cur is not None:
                oid = cur.sha256 if cur.lfs else git_blob_sha1(cur.data)
            out.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular", "shouldIgnore": False, "oid": oid})
        self._json(200, {"files": out, "commitOid": repo.resolve(rev)})

    def _lfs_batch(self, repo: Repo, payload: dict[str, Any]) -> None:
        objects = []
        kind = repo.repo_type
        for obj in payload["objects"]:
            entry: dict[str, Any] = {"oid": obj["oid"], "size": obj["size"], "authenticated": True}
            if obj["oid"] not in repo.lfs:  # already stored objects get no action: nothing is re-sent
                href = f"{self.server.url}/lfs-upload/{kind}/{repo.repo_id}/{obj['oid']}"
                entry["actions"] = {"upload": {"href": href}}
            objects.append(entry)
        self._send(200, json.dumps({"transfer": "basic", "objects": objects}).encode(), {"Content-Type": "application/vnd.git-lfs+json"})

    def _commit(self, repo: Repo, rev: str, body: bytes) -> None:
        state = self.state
        with state.lock:
            if state.rate_limit_commits > 0:
                state.rate_limit_commits -= 1
                state.rate_limited += 1
                return self._send(429, b'{"error":"rate limited: too many commits"}', {"Retry-After": "0"})
            if state.fail_commits_after is not None and state.commits_ok >= state.fail_commits_after:
                return self._error(500, "simulated failure (interrupted upload)")
            files = dict(repo.files(rev) or {})
            message = ""
            touched: list[str] = []
            for line in body.splitlines():
                if not line.strip():
                    continue
                item = json.loads(line)
                key, value = item["key"], item["value"]
                if key != "header":
                    touched.append(value["path"])
                if key == "header":
                    message = value.get("summary", "")
                elif key == "file":
                    files[value["path"]] = StoredFile(base64.b64decode(value["content"]), lfs=False)
                elif key == "lfsFile":
                    data = repo.lfs.get(value["oid"])
                    if data is None:
                        return self._error(422, f"LFS object {value['oid']} of {value['path']} was never uploaded")
                    files[value["path"]] = StoredFile(data, lfs=True)
                elif key == "deletedFile":
                    files.pop(value["path"], None)
                elif key == "deletedFolder":
                    for p in [p for p in files if p.startswith(value["path"].rstrip("/") + "/")]:
                        del files[p]
            sha = repo.commit(files, message, rev)
            state.commits_ok += 1
            state.commit_paths.append(touched)
        self._json(200, {"commitUrl": f"{self._repo_url(repo.repo_type, repo.repo_id)}/commit/{sha}", "commitOid": sha, "success": True})

    def _tag(self, repo: Repo, rev: str, body: bytes) -> None:
        payload = json.loads(body)
        with self.state.lock:
            sha = repo.resolve(rev)
            if sha is None:
                return self._error(404, f"revision {rev} not found")
            if payload["tag"] in repo.tags:
                return self._json(409, {"error": f"Tag {payload['tag']} already exists"})
            repo.tags[payload["tag"]] = sha
        self._json(200, {"name": payload["tag"], "ref": f"refs/tags/{payload['tag']}", "targetCommit": sha})

    def _entry(self, path: str, f: StoredFile) -> dict[str, Any]:
        e: dict[str, Any] = {"type": "file", "oid": f.oid, "size": len(f.data), "path": path}
        if f.lfs:
            e["lfs"] = {"oid": f.sha256, "size": len(f.data), "pointerSize": len(f.pointer)}
        return e

    def _tree(self, repo: Repo, rev: str, prefix: str, query: dict[str, list[str]]) -> None:
        files = repo.files(rev)
        if files is None:
            return self._send(404, b'{"error":"Invalid rev id"}', {"X-Error-Code": "RevisionNotFound"})
        recursive = query.get("recursive", ["false"])[0].lower() in ("1", "true")
        base = prefix.strip("/")
        entries: dict[str, dict[str, Any]] = {}
        for p, f in files.items():
            if base and not p.startswith(base + "/"):
                continue
            rel = p[len(base) + 1:] if base else p
            parts = rel.split("/")
            if recursive:
                for i in range(1, len(parts)):
                    d = "/".join(filter(None, [base, *parts[:i]]))
                    entries.setdefault(d, {"type": "directory", "oid": "0" * 40, "size": 0, "path": d})
                entries[p] = self._entry(p, f)
            elif len(parts) == 1:
                entries[p] = self._entry(p, f)
            else:
                d = "/".join(filter(None, [base, parts[0]]))
                entries.setdefault(d, {"type": "directory", "oid": "0" * 40, "size": 0, "path": d})
        if base and not entries and base not in files:
            return self._send(404, b'{"error":"not found"}', {"X-Error-Code": "EntryNotFound"})
        self._json(200, [entries[k] for k in sorted(entries)])

    def _paths_info(self, repo: Repo, rev: str, body: bytes) -> None:
        files = repo.files(rev)
        if files is None:
            return self._send(404, b'{"error":"Invalid rev id"}', {"X-Error-Code": "RevisionNotFound"})
        ctype = self.headers.get("Content-Type", "")
        if "json" in ctype:
            paths = json.loads(body).get("paths", [])
        else:
            paths = urllib.parse.parse_qs(body.decode()).get("paths", [])
        out = []
        for p in paths:
            p = p.strip("/")
            if p in files:
                out.append(self._entry(p, files[p]))
            elif any(q.startswith(p + "/") for q in files) or p == "":
                out.append({"type": "directory", "oid": "0" * 40, "size": 0, "path": p})
        self._json(200, out)

    def _resolve(self, repo: Repo, rev: str, path: str, head: bool) -> None:
        files = repo.files(rev)
        if files is None:
            return self._send(404, b'{"error":"Invalid rev id"}', {"X-Error-Code": "RevisionNotFound"}, head)
        f = files.get(path)
        if f is None:
            return self._send(404, b'{"error":"Entry not found"}', {"X-Error-Code": "EntryNotFound"}, head)
        data = f.data
        headers = {
            "Content-Type": "application/octet-stream",
            "X-Repo-Commit": repo.resolve(rev) or "",
            "ETag": f'"{f.sha256 if f.lfs else f.oid}"',
            "Accept-Ranges": "bytes",
        }
        if f.lfs:
            headers["X-Linked-Etag"] = f'"{f.sha256}"'
            headers["X-Linked-Size"] = str(len(data))
        rng = self.headers.get("Range")
        m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng or "")
        if m and (m.group(1) or m.group(2)):
            if m.group(1):
                start = int(m.group(1))
                end = int(m.group(2)) if m.group(2) else len(data) - 1
            else:
                start = max(0, len(data) - int(m.group(2)))
                end = len(data) - 1
            end = min(end, len(data) - 1)
            if start >= len(data):
                return self._send(416, b"", {"Content-Range": f"bytes */{len(data)}"}, head)
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return self._send(206, data[start : end + 1], headers, head)
        self._send(200, data, headers, head)


class HubServer(ThreadingHTTPServer):
    """The server; ``with HubServer() as hub: hub.url`` runs it in a thread."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = HubState()
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self._thread: threading.Thread | None = None

    def __enter__(self) -> HubServer:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.state.release.set()
        self.shutdown()
        self.server_close()

    def repo(self, repo_id: str, repo_type: str = "dataset") -> Repo:
        """A stored repo (KeyError when absent)."""
        return self.state.repos[(repo_type, repo_id)]
