"""The ``dance-aggregate`` command line: a thin click layer over the library.

Library errors (:class:`DanceAggregateError`) become clean one-screen errors here; only
this module configures logging handlers.

Length (about 420 lines): most of it is click's declarations of every flag with its help
text, which users read in ``--help``; each command body only turns flags into a library
call (:mod:`dance_aggregate.api`) and prints the result.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from dance_aggregate import __version__
from dance_aggregate.errors import DanceAggregateError
from dance_aggregate.pipeline.defaults import (
    DEFAULT_FAILURE_MIN_RECORDS,
    DEFAULT_MAX_FAILURE_SHARE,
    DEFAULT_OUTPUT,
    DEFAULT_PART_SIZE,
    DEFAULT_WORKERS,
)
from dance_aggregate.records import ALL_CONFIG

logger = logging.getLogger("dance_aggregate")


class _AboveBars(logging.Handler):
    """Writes each record to stderr above any progress bar (``tqdm.write``), so a warning
    never lands on a bar's line; without bars it is a plain write."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from tqdm import tqdm

            tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


class _HidePerClip(logging.Filter):
    """``--quiet``: holds back the warnings about single clips (logged with ``extra={"clip": id}``)
    and counts them; errors still show."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "clip", None) is not None and record.levelno < logging.ERROR:
            self.hidden += 1
            return False
        return True


def _setup_logging(verbose: int, quiet: bool) -> _HidePerClip | None:
    """The package's log handler (stderr, above the bars); under ``--quiet`` also the filter
    that holds back per-clip warnings (returned, to report how many were held back)."""
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    handler = _AboveBars()
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s" if verbose else "%(message)s"))
    hide = _HidePerClip() if quiet and not verbose else None
    if hide is not None:
        handler.addFilter(hide)
    root = logging.getLogger("dance_aggregate")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    return hide


def _pairs(values: tuple[str, ...], flag: str, form: str = "SOURCE=PATH", example: str = "ucf101=/data/UCF101") -> dict[str, str]:
    out: dict[str, str] = {}
    given: dict[str, str] = {}
    for v in values:
        key, sep, val = v.partition("=")
        if not sep or not key or not val:
            raise click.BadParameter(f"expected {form}, got {v!r} (e.g. {flag} {example})", param_hint=flag)
        key = key.strip()
        if key in out:
            raise _given_twice(key, given[key], v, flag, form.partition("=")[0])
        out[key], given[key] = val, v
    return out


def _options(values: tuple[str, ...]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    given: dict[str, str] = {}
    for v in values:
        key, sep, val = v.partition("=")
        cfg, dot, name = key.partition(".")
        if not sep or not dot or not cfg or not name:
            raise click.BadParameter(f"expected CONFIG.KEY=VALUE, got {v!r} (e.g. -o ucf101.fold=2)", param_hint="--option")
        if name in out.get(cfg, {}):
            raise _given_twice(key, given[key], v, "--option", "CONFIG.KEY")
        out.setdefault(cfg, {})[name] = val
        given[key] = v
    return out


def _given_twice(name: str, first: str, second: str, flag: str, what: str) -> click.BadParameter:
    """A NAME=VALUE option repeated for one NAME: which value was meant is not guessed."""
    return click.BadParameter(
        f"{name} is given twice ({first!r} and {second!r}); give each {what} once (e.g. {flag} {first})", param_hint=flag
    )


#: Exit status of a command stopped by Ctrl-C (128 + SIGINT, as shells report it).
INTERRUPTED_EXIT_CODE = 130

#: What to do after Ctrl-C, per command (click alone prints only "Aborted!"; scripts/publish.py
#: says the same).
AFTER_CTRL_C = {
    "build": "Run the same command again to resume: finished clips are kept and not encoded again, "
    "and no half-written shard was left in the output folder.",
    "publish": "Run the same command again to resume: files already on the Hub are skipped.",
}


class _Group(click.Group):
    """The command group; Ctrl-C in a command ends it with a line that says how to go on
    and exit code :data:`INTERRUPTED_EXIT_CODE`, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            command = ctx.invoked_subcommand or ""
            click.echo("", err=True)  # the ^C the terminal echoed ends no line
            click.echo(f"Interrupted (Ctrl-C). {AFTER_CTRL_C.get(command, 'Nothing was changed.')}".rstrip(), err=True)
            raise click.exceptions.Exit(INTERRUPTED_EXIT_CODE) from None


class _BuildCommand(click.Command):
    """``build``: its help ends with the configs it can build (read from the source registry
    only when the help is shown)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from dance_aggregate.builders import registry

        rows = []
        for cfg in registry.configs():
            src = registry.source(cfg.source)
            notes = [] if cfg.default_build else ["only when named"]
            if not src.has_pixels:
                notes.append("features, no video")
            elif not cfg.in_all:
                notes.append("not in all")
            title = src.title + (f" ({', '.join(notes)})" if notes else "")
            rows.append((cfg.name, f"{title}: --data-dir {cfg.source}=PATH"))
        rows.append((ALL_CONFIG, "every source with video, deduplicated: each build remakes it from the configs in "
                                 "the folder (it is not named here)"))
        with formatter.section("Configs (the CONFIGS argument; each needs its source's --data-dir)"):
            formatter.write_dl(rows)
        super().format_epilog(ctx, formatter)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dance-aggregate")
def cli() -> None:
    """Build one clean dance-video dataset from UCF101, ActivityNet, Kinetics-600,
    Let's Dance and YouTube-8M, in Hugging Face datasets format.

    \b
    Quick start (no data needed):
      dance-aggregate build --sample
    Then, in Python, by the folder's absolute path (the build prints it):
      load_dataset("/abs/path/to/dance_aggregate", "ucf101")
    `dance-aggregate build --help` lists the configs and the sources they need.
    """


@cli.command(cls=_BuildCommand)
@click.argument("configs", nargs=-1)
@click.option("--data-dir", "data_dirs", multiple=True, metavar="SOURCE=PATH", help="Raw files of a source (repeatable).")
@click.option("--video-dir", "video_dirs", multiple=True, metavar="SOURCE=PATH", help="Local mirror of a source's videos (repeatable).")
@click.option("--output", "-O", type=click.Path(path_type=Path), default=DEFAULT_OUTPUT, show_default=True, help="Output dataset folder.")
@click.option("--sample", is_flag=True, help="Generate the built-in miniature sources and build every config from them.")
@click.option("--option", "-o", "opts", multiple=True, metavar="CONFIG.KEY=VALUE", help="Builder option, e.g. -o ucf101.fold=2 (repeatable).")
@click.option("--workers", "-j", type=click.IntRange(min=1), default=DEFAULT_WORKERS, show_default=True, help="Worker processes.")
@click.option("--part-size", type=click.IntRange(min=1), default=DEFAULT_PART_SIZE, show_default=True, help="Clips per unit of work (resume granularity).")
@click.option("--runner", type=click.Choice(["local", "ray"]), default="local", show_default=True, help="Where units run: local processes, or Ray tasks (needs Ray: pip install \"ray>=2.40,<3\").")
@click.option("--ray-address", default=None, metavar="ADDRESS", help="Existing Ray cluster to join, from one of its nodes: HEAD_IP:6379 or auto (Ray Client ray:// addresses are not supported); a cluster with token authentication needs RAY_AUTH_MODE=token and its token (docs/scaling.md). Default: a local Ray instance with --workers CPUs.")
@click.option("--work-dir", default=None, metavar="PATH|URL", help="Where units write their parts: a path or fsspec URL every worker reaches (default: OUTPUT/.work).")
@click.option("--max-short-side", type=click.IntRange(min=0), default=None, help="Downscale video so its shorter side is at most this; 0 keeps the source size [default: each source's, 360 for ActivityNet, Kinetics and Let's Dance].")
@click.option("--shards", type=click.IntRange(min=1), default=None, metavar="N", help="Shards per split of every config built and of `all` (e.g. a multiple of nodes x DataLoader workers) [default: automatic, up to 16, at most 500 MB each].")
@click.option("--cache-dir", type=click.Path(path_type=Path), default=None, help="Where --sample generates its raw files.")
@click.option("--url-template", default=None, metavar="URL", help="Where videos are fetched from, with {youtube_id} [default: the YouTube watch URL].")
@click.option("--offline", is_flag=True, help="Use only --video-dir mirrors; record other clips as missing, no network (implied by --sample).")
@click.option("--retry-failed", is_flag=True, help="Retry downloads that failed permanently before (removed, private...).")
@click.option("--cookies", type=click.Path(exists=True, dir_okay=False), default=None, help="Netscape cookies file for yt-dlp (never logged).")
@click.option("--proxy", default=None, metavar="URL", help="Proxy for yt-dlp (never logged).")
@click.option("--pretraining-ids", "pretraining_ids", multiple=True, metavar="NAME=FILE", help="YouTube ids a model was pretrained on (Kinetics-style CSV/JSON or one id per line); fills pretraining_overlap (repeatable).")
@click.option("--pretraining-to-train", is_flag=True, help="In `all`, move validation/test rows whose video is in a --pretraining-ids set to train.")
@click.option("--resplit", default=None, metavar="VAL,TEST", help="Re-split `all` for evaluation: these fractions of every label's groups (whole videos, performances, dedup clusters) go to validation and test, rows seen in pretraining stay in train (docs/balance.md); the source configs keep their splits.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the --resplit draw.")
@click.option("--accept-terms", "accept_terms", multiple=True, metavar="SOURCE", help="I have read and accept SOURCE's terms of use (e.g. aist: academic research only, no redistribution); needed before its videos are downloaded (repeatable).")
@click.option("--max-failure-share", type=click.FloatRange(0, 1, min_open=True), default=DEFAULT_MAX_FAILURE_SHARE, show_default=True, help="Stop a config when more than this share of its tried records failed for one reason (a broken codec, a blocked network); 1 turns it off.")
@click.option("--failure-min-records", type=click.IntRange(min=1), default=DEFAULT_FAILURE_MIN_RECORDS, show_default=True, help="Records a config tries before --max-failure-share applies.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars, warnings only.")
@click.option("--verbose", "-v", count=True, help="More logging (-vv for debug).")
def build(
    configs: tuple[str, ...],
    data_dirs: tuple[str, ...],
    video_dirs: tuple[str, ...],
    output: Path,
    sample: bool,
    opts: tuple[str, ...],
    workers: int,
    part_size: int,
    runner: str,
    ray_address: str | None,
    work_dir: str | None,
    max_short_side: int | None,
    shards: int | None,
    cache_dir: Path | None,
    url_template: str | None,
    offline: bool,
    retry_failed: bool,
    cookies: str | None,
    proxy: str | None,
    pretraining_ids: tuple[str, ...],
    pretraining_to_train: bool,
    resplit: str | None,
    seed: int,
    accept_terms: tuple[str, ...],
    max_failure_share: float,
    failure_min_records: int,
    quiet: bool,
    verbose: int,
) -> None:
    """Build CONFIGS (default: every config with a --data-dir) into the output folder.

    \b
    Examples:
      dance-aggregate build --sample
      dance-aggregate build ucf101 --data-dir ucf101=/data/UCF101
      dance-aggregate build ucf101 --data-dir ucf101=/data/UCF101 -o ucf101.fold=2 -j 2
      dance-aggregate build kinetics600 --data-dir kinetics600=/data/k600 --video-dir kinetics600=/data/k600/videos -j 4
      dance-aggregate build activitynet --data-dir activitynet=/data/anet -o activitynet.max_window=10 --offline
      dance-aggregate build --sample --runner ray --ray-address auto --work-dir s3://bucket/run1
      dance-aggregate build kinetics600 --data-dir kinetics600=/data/k600 --shards 8
      dance-aggregate build kinetics600 --data-dir kinetics600=/data/k600 --pretraining-ids k400_train=kinetics-400_train.csv --pretraining-to-train

    Configs already in the output folder are kept; a rerun resumes where it stopped.
    The exit code is non-zero when any config failed.
    """
    hidden = _setup_logging(verbose, quiet)
    import dance_aggregate as da
    from dance_aggregate.fetch.options import DEFAULT_URL_TEMPLATE

    try:
        fetch = da.FetchOptions(
            url_template=url_template or DEFAULT_URL_TEMPLATE,
            offline=offline,
            retry_failed=retry_failed,
            cookies=cookies,
            proxy=proxy,
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--url-template") from None
    try:
        request = da.BuildRequest(
            configs=configs,
            data_dirs=_pairs(data_dirs, "--data-dir"),
            video_dirs=_pairs(video_dirs, "--video-dir"),
            options=_options(opts),
            output=output,
            sample=sample,
            cache_dir=cache_dir,
            workers=workers,
            part_size=part_size,
            runner=runner,
            ray_address=ray_address,
            work_dir=work_dir,
            max_short_side=max_short_side,
            shards=shards,
            fetch=fetch,
            progress=not quiet,
            pretraining_ids=_pairs(pretraining_ids, "--pretraining-ids", "NAME=FILE", "k400_train=kinetics-400_train.csv"),
            pretraining_to_train=pretraining_to_train,
            accept_terms=accept_terms,
            resplit=resplit,
            seed=seed,
            failure_min_records=failure_min_records,
            max_failure_share=max_failure_share,
        )
        result = da.build(request)
    except DanceAggregateError as exc:
        raise click.ClickException(str(exc)) from None
    _print_result(result, hidden.hidden if hidden else 0)


def _print_result(result, hidden_warnings: int = 0) -> None:
    """The build's accounting, each config's status, where the folder is and how to load it.

    Raises:
        click.ClickException: when a config failed (exit code 1), after the summary.
    """
    click.echo("")
    accounting = result.accounting()
    if accounting:
        click.echo("Build accounting (records read = rows written + records excluded):")
        for acc in accounting.values():
            click.echo(acc.summary())
    click.echo("Configs:")
    width = max([len(n) for n in [*accounting, *(f.config for f in result.failures)]] or [3])
    for name, acc in accounting.items():
        click.echo(f"  {name:<{width}}  built: {acc.rows_written} rows")
    for f in result.failures:
        click.echo(f"  {f.config:<{width}}  FAILED: {f.error.splitlines()[0]}")
    output = result.output.resolve()
    if (output / "data").is_dir():  # a dataset is there
        click.echo(f"Output: {output}  ({result.elapsed:.1f} s)")
    elif not output.exists():
        click.echo(f"Nothing was built, so the folder this build made ({output}) was removed.")
    if accounting:
        first = ALL_CONFIG if result.all is not None else next(iter(accounting))
        click.echo(
            "Load it (by its absolute path, from any directory):\n"
            f"  python -c \"from datasets import load_dataset; print(load_dataset('{output}', '{first}'))\""
        )
    if hidden_warnings:
        click.echo(
            f"--quiet held back {hidden_warnings} warning(s) about single clips; every excluded record is listed "
            "with its reason in reports/<config>.excluded.csv"
        )
    if result.failures:
        names = ", ".join(f.config for f in result.failures)
        raise click.ClickException(f"{len(result.failures)} config(s) failed: {names} (the error of each is above)")


@cli.command()
@click.argument("folder", type=click.Path(path_type=Path), default=DEFAULT_OUTPUT)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def stats(folder: Path, as_json: bool) -> None:
    """Counts per config, split and label of a built FOLDER."""
    import dance_aggregate as da

    try:
        data = da.stats(folder)
    except DanceAggregateError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(data, indent=2, sort_keys=True) if as_json else da.format_stats(data))


@cli.command()
@click.option("--repo-id", required=True, metavar="NAMESPACE/NAME", help="Dataset repo on the Hub, e.g. my-user/dance_aggregate.")
@click.option("--folder", type=click.Path(path_type=Path), default=DEFAULT_OUTPUT, show_default=True, help="The built dataset folder.")
@click.option("--private", is_flag=True, help="Create the repo private.")
@click.option("--dry-run", is_flag=True, help="Run the checks and show what would be uploaded; send nothing.")
@click.option("--tag", default=None, metavar="vX.Y", help="Tag the published version.")
@click.option("--allow-sample", is_flag=True, help="Publish a build of the built-in sample (synthetic clips) anyway; its card says so at the top (refused by default).")
@click.option("--include-restricted", "include_restricted", multiple=True, metavar="SOURCE", help="Publish SOURCE's media although its terms forbid redistribution (only with its owners' written authorisation; by default they are held back).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars, warnings only.")
@click.option("--verbose", "-v", count=True, help="More logging (-vv for debug).")
def publish(
    repo_id: str, folder: Path, private: bool, dry_run: bool, tag: str | None, allow_sample: bool,
    include_restricted: tuple[str, ...], quiet: bool, verbose: int,
) -> None:
    """Check a built FOLDER and publish it to the Hugging Face Hub as a dataset repo.

    \b
    Examples:
      dance-aggregate publish --repo-id my-user/dance_aggregate --dry-run
      dance-aggregate publish --repo-id my-user/dance_aggregate --tag v1.0

    The token comes from HF_TOKEN or `hf auth login`; it is never printed. An interrupted
    upload resumes when the same command is run again.
    """
    _setup_logging(verbose, quiet)
    import dance_aggregate as da

    try:
        if dry_run:
            plan = da.publish(repo_id, folder, private=private, dry_run=True, tag=tag, progress=not quiet,
                              include_restricted=include_restricted, allow_sample=allow_sample)
            click.echo(plan.describe())
            failed = [c for c in plan.checks if not c.ok]
            if failed:
                raise click.ClickException(f"dry run: {len(failed)} check(s) failed ({', '.join(c.name for c in failed)}); fix them before publishing")
            click.echo("Dry run: nothing was uploaded.")
            return
        result = da.publish(repo_id, folder, private=private, tag=tag, progress=not quiet, include_restricted=include_restricted,
                            allow_sample=allow_sample)
    except DanceAggregateError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(result.plan.describe())
    click.echo(f"Published in {result.commits} commit(s): {result.url}")
    if result.tag_url:
        click.echo(f"Version {tag}: {result.tag_url}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--source", default=None, help="Show the crosswalk of one source only.")
def taxonomy(as_json: bool, source: str | None) -> None:
    """The shared dance label schema: labels, their parent in the label tree, families and
    source labels. A row's `labels` holds its label and every ancestor."""
    import dance_aggregate as da

    tax = da.label_schema()
    rows = tax.table()
    if source:
        if source not in tax.crosswalks:
            raise click.ClickException(f"unknown source {source!r}; known: {', '.join(tax.crosswalks)}")
        rows = [dict(r, sources={source: r["sources"][source]}) for r in rows if source in r["sources"]]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'idx':>3}  {'label':<20} {'parent':<15} {'family':<11} source labels")
    for r in rows:
        srcs = "; ".join(f"{s}: {', '.join(v)}" for s, v in r["sources"].items())
        note = " (umbrella)" if r["umbrella"] else ("" if r["dance"] else " (not dance)")
        click.echo(f"{r['index']:>3}  {r['id']:<20} {r['parent'] or '-':<15} {r['family']:<11} {srcs}{note}")


def main() -> None:
    """Entry point of the ``dance-aggregate`` console script."""
    cli(prog_name="dance-aggregate")
