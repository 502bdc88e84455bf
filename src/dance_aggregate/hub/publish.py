"""Publish a built dataset folder to the Hugging Face Hub.

``dance-aggregate publish --repo-id NAMESPACE/NAME`` (and ``python scripts/publish.py``)
runs :func:`publish`, in the order lerobot uses: checks -> create the repo -> upload the
data -> the dataset card -> the version tag -> print the URL.

- **Only what each source's licence allows** (:mod:`.redistribution`): the configs of a
  source whose media may not be redistributed (AIST) are held back, and ``all`` goes up
  without its rows; the published card says so. ``--include-restricted SOURCE`` overrides
  it, with a warning naming the terms.
- **Only dataset files go up**: ``data/<config>/*.parquet``, ``reports/*``, ``images/*.png``
  and ``LICENSE.md`` (:data:`PUBLISHED_PATTERNS`); ``.work/``, temporary files and anything
  else stay local. A symbolic link there is refused, never followed (:mod:`.links`). The
  card (``README.md``) goes last, so the Hub copy only announces configs whose shards are
  already there. Remote files under the managed folders that the local build no longer
  has (an older shard count) are deleted in that same last commit.
- **Resumable**: before uploading, the local files are compared with the repo's tree
  (sha256 of LFS files, git blob id of the others); unchanged files are skipped. The data
  goes in several commits of at most :attr:`PublishOptions.max_files_per_commit` files, so an
  interrupted upload keeps its finished commits, and LFS objects that reached the Hub before
  the interruption are not sent again (the LFS batch API answers that it has them).
  Rerunning the same command finishes the job.
- **Commit-rate limits**: the Hub allows about 128 commits per hour and repo. Commits are
  paced to :attr:`PublishOptions.max_commits_per_hour`, and a 429 (or a 5xx) answer is
  retried with exponential backoff, honouring ``Retry-After``.
- **Token**: from ``HF_TOKEN`` or the login cache (``hf auth login``), read by
  ``huggingface_hub``; it is never printed or logged. Before anything is sent (and in a dry
  run) :mod:`.access` checks that the Hub answers and that the token may write to the
  namespace; offline, that check fails at once and points at ``HF_HUB_OFFLINE=1``.

Length (about 460 lines): the plan (what would be sent, the checks) and carrying it out
(commits, pacing, the tag) share one options type and one plan type, and a dry run must
print exactly what the real run would do; the parts that stand alone already live beside
it (:mod:`.access`, :mod:`.checks`, :mod:`.commits`, :mod:`.redistribution`, :mod:`.links`).

``huggingface_hub.upload_folder`` would also split and resume, but only on its Xet path;
with Xet disabled (``HF_HUB_DISABLE_XET=1``, or ``hf_xet`` missing) it makes one single
commit. Batching here keeps the same behaviour on both paths.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import httpx2 as httpx
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars, enable_progress_bars
from huggingface_hub.utils import sha as hf_sha

from dance_aggregate.hub.access import check_access
from dance_aggregate.hub.card import render_card, write_card
from dance_aggregate.hub.checks import FAIL, OK, WARN, CheckResult, PublishError, require_passed, run_checks
from dance_aggregate.hub.commits import REPO_TYPE, Committer, status_text
from dance_aggregate.hub.links import linked_paths, refuse_links
from dance_aggregate.hub.redistribution import HeldBack, discard_view, held_back, held_back_summary, published_view
from dance_aggregate.output.folder import BuiltFolder
from dance_aggregate.progress import interactive, progress_bar

logger = logging.getLogger(__name__)

#: Files of the folder that are published (globs relative to the folder). ``README.md`` is sent last.
PUBLISHED_PATTERNS: tuple[str, ...] = ("data/*/*.parquet", "reports/*", "images/*.png", "LICENSE.md")
#: Remote folders the publisher owns: remote files there that the folder no longer has are deleted.
MANAGED_PREFIXES: tuple[str, ...] = ("data/", "reports/", "images/")
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


@dataclass
class PublishOptions:
    """What to publish where (defaults live here).

    Attributes:
        repo_id: ``NAMESPACE/NAME`` of the dataset repo.
        folder: The built dataset folder.
        private: Create the repo private (an existing repo keeps its visibility).
        dry_run: Run the checks and show the plan; send nothing.
        tag: Version tag to put on the final commit (e.g. ``v1.0``).
        token: A token; ``None`` lets ``huggingface_hub`` find it (``HF_TOKEN``, login cache).
        endpoint: Hub URL; ``None`` uses ``HF_ENDPOINT`` or huggingface.co.
        max_files_per_commit: Files per data commit (the Hub recommends < 100).
        max_bytes_per_commit: Bytes per data commit.
        max_commits_per_hour: Commits this run makes in any hour (the Hub allows ~128 per repo).
        retries: Retries of a commit answered 429 or 5xx.
        backoff: First retry wait in seconds (doubles each time, at most 10 minutes).
        progress: Show a progress bar.
        include_restricted: Sources whose media are published although their terms forbid
            redistribution (``--include-restricted``: only with their owners' authorisation).
        allow_sample: Publish a build of the built-in sample (synthetic clips) anyway
            (``--allow-sample``); its card says so at the top.
    """

    repo_id: str
    folder: Path = Path("dance_aggregate")
    private: bool = False
    dry_run: bool = False
    tag: str | None = None
    token: str | None = field(default=None, repr=False)
    endpoint: str | None = None
    max_files_per_commit: int = 50
    max_bytes_per_commit: int = 20 * 1024**3
    max_commits_per_hour: int = 100
    retries: int = 6
    backoff: float = 10.0
    progress: bool = True
    include_restricted: tuple[str, ...] = ()
    allow_sample: bool = False

    def __post_init__(self) -> None:
        self.folder = Path(self.folder)
        if not _REPO_ID.match(self.repo_id or ""):
            raise PublishError(f"--repo-id must be NAMESPACE/NAME (e.g. my-user/dance_aggregate), got {self.repo_id!r}")
        if self.tag is not None and not _TAG.match(self.tag):
            raise PublishError(f"--tag must be a simple version name such as v1.0, got {self.tag!r}")
        for name in ("max_files_per_commit", "max_bytes_per_commit", "max_commits_per_hour"):
            if getattr(self, name) < 1:
                raise PublishError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.retries < 0 or self.backoff < 0:
            raise PublishError(f"retries and backoff must be >= 0, got {self.retries}, {self.backoff}")


@dataclass
class LocalFile:
    """A file of the folder to publish."""

    path: str
    abspath: Path
    size: int
    _sha256: str | None = field(default=None, repr=False)

    @property
    def sha256(self) -> str:
        """Hex sha256 of the content (computed once)."""
        if self._sha256 is None:
            h = hashlib.sha256()
            with open(self.abspath, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            self._sha256 = h.hexdigest()
        return self._sha256


@dataclass
class PublishPlan:
    """What a publish sends (also what ``--dry-run`` shows)."""

    repo_id: str
    url: str
    checks: list[CheckResult]
    repo_exists: bool | None
    commits: list[list[LocalFile]]
    unchanged: list[str]
    delete: list[str]
    card: str
    tag: str | None
    dry_run: bool
    card_changed: bool = True
    held_back: list[HeldBack] = field(default_factory=list)
    view: BuiltFolder | None = field(default=None, repr=False)

    def discard(self) -> None:
        """Remove the published view of the folder, when one was made (after the upload)."""
        if self.view is not None:
            discard_view(self.view)
            self.view = None

    @property
    def upload(self) -> list[LocalFile]:
        """Every file to upload, in commit order."""
        return [f for batch in self.commits for f in batch]

    def describe(self) -> str:
        """Human-readable plan (never contains the token)."""
        lines = [f"Publish {self.repo_id} -> {self.url}" + ("   (dry run: nothing is uploaded)" if self.dry_run else "")]
        lines.append("Checks:")
        lines += [f"  {c}" for c in self.checks]
        exists = {True: "exists", False: "will be created", None: "unknown (could not read it)"}[self.repo_exists]
        lines.append(f"Repository: {exists}")
        total = sum(f.size for f in self.upload)
        lines.append(
            f"Upload: {len(self.upload)} file(s), {_mb(total)} in {len(self.commits)} data commit(s); "
            f"{len(self.unchanged)} file(s) already on the Hub and unchanged"
        )
        for i, batch in enumerate(self.commits, 1):
            lines.append(f"  commit {i}/{len(self.commits)}:")
            lines += [f"    {f.path}  ({_mb(f.size)})" for f in batch]
        card = "README.md (dataset card)" if self.card_changed else "README.md unchanged"
        lines.append(f"Then: {card}" + (f", deleting {len(self.delete)} stale remote file(s)" if self.delete else ""))
        lines += [f"    delete {p}" for p in self.delete]
        if self.tag:
            lines.append(f"Then: tag {self.tag}")
        for h in self.held_back:
            lines.append(f"Held back (licence): {h.describe()}")
        return "\n".join(lines)


@dataclass
class PublishResult:
    """What a publish did."""

    url: str
    plan: PublishPlan
    commits: int = 0
    tag_url: str | None = None


def _mb(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def local_files(folder: Path) -> list[LocalFile]:
    """The files of ``folder`` that are published (not ``README.md``, which goes last)."""
    out: dict[str, LocalFile] = {}
    for pattern in PUBLISHED_PATTERNS:
        for p in folder.glob(pattern):
            rel = p.relative_to(folder).as_posix()
            if not p.is_file() or any(part.startswith(".") for part in rel.split("/")) or rel.endswith(".tmp"):
                continue
            out[rel] = LocalFile(rel, p, p.stat().st_size)
    return [out[k] for k in sorted(out)]


def _same(local: LocalFile, remote: object) -> bool:
    if getattr(remote, "size", None) != local.size:
        return False
    lfs = getattr(remote, "lfs", None)
    if lfs is not None:
        return lfs.sha256 == local.sha256
    return getattr(remote, "blob_id", None) == hf_sha.git_hash(local.abspath.read_bytes())


def _batches(files: list[LocalFile], max_files: int, max_bytes: int) -> list[list[LocalFile]]:
    out: list[list[LocalFile]] = []
    cur: list[LocalFile] = []
    size = 0
    for f in files:
        if cur and (len(cur) >= max_files or size + f.size > max_bytes):
            out.append(cur)
            cur, size = [], 0
        cur.append(f)
        size += f.size
    if cur:
        out.append(cur)
    return out


def repo_url(api: HfApi, repo_id: str) -> str:
    """Browser URL of the dataset repo."""
    return f"{api.endpoint.rstrip('/')}/datasets/{repo_id}"


def plan_publish(options: PublishOptions, api: HfApi | None = None, built: BuiltFolder | None = None) -> PublishPlan:
    """Render the card, run the checks and compare the folder with the repo (reads only).

    Args:
        options: What to publish where.
        api: The Hub client (``None``: one for ``options.endpoint`` and ``options.token``).
        built: The folder already read (``None``: it is read here, once, for the card and the checks).

    Raises:
        PublishError: when the folder does not exist.
    """
    api = api or HfApi(endpoint=options.endpoint, token=options.token)
    folder = options.folder
    if not folder.is_dir():
        raise PublishError(
            f"{folder} is not a directory. Build the dataset first: dance-aggregate build --sample --output {folder}"
        )
    refuse_links(folder)  # before the folder is read: a link could bring in a file from elsewhere
    built = built or BuiltFolder.open(folder)
    held = held_back(built, options.include_restricted)
    view = published_view(built, held) if held else None
    try:
        return _plan(api, options, built, held, view)
    except BaseException:
        if view is not None:
            discard_view(view)
        raise


def _plan(api: HfApi, options: PublishOptions, built: BuiltFolder, held: list[HeldBack], view: BuiltFolder | None) -> PublishPlan:
    if view is not None:
        write_card(view, options.repo_id, held_back_summary(held))  # the view's chart and licence
        built = view
    card = render_card(built, options.repo_id, held_back_summary(held) if view is not None else None)
    checks = [_check_sample(built, options)] + run_checks(built, card_text=card)
    files = local_files(built.path)
    # Reachability and the token first: one request each, no retries, so an offline dry
    # run ends at once and a dry run fails where the real run would (no or read-only token).
    access = check_access(api, options.repo_id, options.token, dry_run=options.dry_run)
    checks += access.checks
    remote: dict[str, object] = {}
    exists = access.exists
    if exists:
        try:
            for entry in api.list_repo_tree(options.repo_id, repo_type=REPO_TYPE, recursive=True):
                if hasattr(entry, "blob_id"):
                    remote[entry.path] = entry
        except (HfHubHTTPError, httpx.HTTPError, OSError) as exc:
            if not options.dry_run:
                raise PublishError(
                    f"cannot read {options.repo_id} on {api.endpoint}: {status_text(exc)}\n"
                    "Check the network connection (and HF_ENDPOINT, if set), then rerun the same command."
                ) from None
            logger.warning("cannot read the repo (%s); listing every file", status_text(exc))
            exists = None
    unchanged = [f.path for f in files if f.path in remote and _same(f, remote[f.path])]
    card_bytes = card.encode("utf-8")
    readme = remote.get("README.md")
    card_changed = readme is None or getattr(readme, "blob_id", None) != hf_sha.git_hash(card_bytes)
    todo = [f for f in files if f.path not in set(unchanged)]
    local_paths = {f.path for f in files}
    delete = sorted(p for p in remote if p.startswith(MANAGED_PREFIXES) and p not in local_paths)
    if options.tag and exists:
        checks.append(_check_tag(api, options, changes=bool(todo or delete or card_changed)))
    return PublishPlan(
        repo_id=options.repo_id,
        url=repo_url(api, options.repo_id),
        checks=checks,
        repo_exists=exists,
        commits=_batches(todo, options.max_files_per_commit, options.max_bytes_per_commit),
        unchanged=unchanged,
        delete=delete,
        card=card,
        tag=options.tag,
        dry_run=options.dry_run,
        card_changed=card_changed,
        held_back=held,
        view=view,
    )


def _check_sample(built: BuiltFolder, options: PublishOptions) -> CheckResult:
    """The built-in sample is synthetic: never published as data unless asked."""
    if not built.is_sample():
        return CheckResult("sample", OK, "the folder holds built data, not the built-in sample")
    if options.allow_sample:
        return CheckResult("sample", WARN, "the built-in sample (synthetic clips) is published on purpose "
                                           "(--allow-sample); its card says so at the top")
    return CheckResult(
        "sample", FAIL,
        "this folder is the built-in sample: synthetic clips dance_aggregate generated, not data from the sources. "
        "Publishing it would put fake data on the Hub.\n  Fix: build from the real sources "
        "(dance-aggregate build --data-dir SOURCE=PATH), or pass --allow-sample to publish the sample anyway",
    )


def _check_tag(api: HfApi, options: PublishOptions, changes: bool) -> CheckResult:
    """A tag names one version: refuse to publish changes under a tag that already exists."""
    try:
        refs = api.list_repo_refs(options.repo_id, repo_type=REPO_TYPE)
    except (HfHubHTTPError, httpx.HTTPError, OSError) as exc:
        return CheckResult("tag", WARN, f"cannot list the tags of {options.repo_id}: {status_text(exc)}")
    tagged = any(t.name == options.tag for t in refs.tags)
    if tagged and changes:
        return CheckResult(
            "tag",
            FAIL,
            f"tag {options.tag} already exists on {options.repo_id} and this folder differs from the published one.\n"
            f"  Fix: publish under a new version, e.g. --tag {_next_version(options.tag or '')}",
        )
    return CheckResult("tag", OK, f"{options.tag} " + ("already names this exact version" if tagged else "is free"))


def _next_version(tag: str) -> str:
    m = re.match(r"^(.*?)(\d+)$", tag)
    return f"{m.group(1)}{int(m.group(2)) + 1}" if m else f"{tag}.1"


def publish(options: PublishOptions) -> PublishResult:
    """Check ``options.folder`` and publish it to ``options.repo_id`` (or only plan, in a dry run).

    Returns:
        The plan and what was done.

    Raises:
        PublishError: a check failed (nothing is uploaded), no token, or the Hub refused.
    """
    api = HfApi(endpoint=options.endpoint, token=options.token)
    if options.folder.is_dir():
        refuse_links(options.folder)
    built = BuiltFolder.open(options.folder) if options.folder.is_dir() else None
    plan = plan_publish(options, api, built)
    try:
        return _carry_out(api, options, plan, built)
    finally:
        plan.discard()


def _carry_out(api: HfApi, options: PublishOptions, plan: PublishPlan, built: BuiltFolder | None) -> PublishResult:
    result = PublishResult(url=plan.url, plan=plan)
    require_passed(plan.checks, options.folder)
    if options.dry_run:
        return result
    bars_were_off = are_progress_bars_disabled()
    if not options.progress or not interactive():
        disable_progress_bars()  # huggingface_hub's own bars: none in a log file either
    try:
        _upload(api, options, plan, result)
    except (HfHubHTTPError, httpx.HTTPError, RuntimeError, OSError) as exc:
        # RuntimeError: huggingface_hub wraps failed LFS uploads in it.
        code = getattr(getattr(exc, "response", None), "status_code", None)
        hint = (
            "the token was refused: run `hf auth login` with a token that can write to this namespace"
            if code in (401, 403)
            else "rerun the same command to resume: finished files are skipped"
        )
        raise PublishError(f"publishing {options.repo_id} failed after {result.commits} commit(s): {status_text(exc)}\n{hint}") from exc
    finally:
        if not bars_were_off:
            enable_progress_bars()
    # Only now, with the card on the Hub: the local card names the repo in its loading
    # examples too (a failed or refused publish leaves the local card as the build wrote it).
    if built is not None:
        write_card(built, options.repo_id)
    return result


def _upload(api: HfApi, options: PublishOptions, plan: PublishPlan, result: PublishResult) -> None:
    # private=None (not False) keeps an organisation's default visibility.
    api.create_repo(options.repo_id, repo_type=REPO_TYPE, private=True if options.private else None, exist_ok=True)
    logger.info("repo %s ready", plan.url)
    committer = Committer(api, options.repo_id, options.max_commits_per_hour, options.retries, options.backoff)
    n = len(plan.commits)
    bar = progress_bar(sum(f.size for f in plan.upload), "upload", "B", enabled=options.progress)
    try:
        root = plan.view.path if plan.view is not None else options.folder
        for i, batch in enumerate(plan.commits, 1):
            refuse_links(root, linked_paths(root, [f.path for f in batch]))  # changed since the plan?
            committer.commit([(f.path, str(f.abspath)) for f in batch], [], f"Upload dance_aggregate data ({i}/{n})")
            result.commits = committer.count
            bar.update(sum(f.size for f in batch))
            logger.info("commit %d/%d: %d file(s)", i, n, len(batch))
    finally:
        bar.close()
    if plan.card_changed or plan.delete:
        message = "Update dataset card" + (f" and delete {len(plan.delete)} stale file(s)" if plan.delete else "")
        committer.commit([("README.md", plan.card.encode("utf-8"))], plan.delete, message)
    result.commits = committer.count
    if options.tag:
        result.tag_url = _tag(api, options)


def _tag(api: HfApi, options: PublishOptions) -> str:
    tag = options.tag or ""
    head = api.dataset_info(options.repo_id).sha
    try:
        api.create_tag(options.repo_id, tag=tag, repo_type=REPO_TYPE, tag_message=f"dance_aggregate {tag}")
    except HfHubHTTPError as exc:
        if getattr(getattr(exc, "response", None), "status_code", None) != 409:
            raise
        refs = api.list_repo_refs(options.repo_id, repo_type=REPO_TYPE)
        existing = next((t.target_commit for t in refs.tags if t.name == tag), None)
        if existing != head:
            raise PublishError(
                f"tag {tag} already exists on {options.repo_id} at commit {existing}, but the data is now at {head}. "
                f"Publish under a new version: --tag <new version>"
            ) from None
        logger.info("tag %s already points at the published commit", tag)
    return f"{repo_url(api, options.repo_id)}/tree/{tag}"
