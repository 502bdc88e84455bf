"""The library entry point: :func:`build` does everything ``dance-aggregate build`` does.

It resolves the request (the built-in sample, which configs, their data dirs and options),
makes each config's builder from the source registry, picks the runner, builds every
config (one failing config never stops the others), then finishes the folder: the
deduplicated ``all`` config and the dataset card.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import traceback
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from dance_aggregate.bounds import shown
from dance_aggregate.builders import registry
from dance_aggregate.builders.base import SourceBuilder
from dance_aggregate.dedup.pretraining import PretrainingSet, load_pretraining_sets
from dance_aggregate.dedup.resplit import ResplitOptions
from dance_aggregate.errors import ConfigError, DanceAggregateError, DiskFullError
from dance_aggregate.files.atomic import disk_full_error, is_disk_full
from dance_aggregate.output.layout import DATA_DIR, WORK_DIR
from dance_aggregate.output.leftovers import BuildLock, first_missing, remove_leftovers, remove_unused_output
from dance_aggregate.output.reports import Accounting
from dance_aggregate.pipeline.config import RunSettings, build_config
from dance_aggregate.pipeline.failures import FailureCap
from dance_aggregate.pipeline.request import BuildRequest, BuildResult, ConfigFailure
from dance_aggregate.pipeline.request_fields import check_field_names
from dance_aggregate.pipeline.runners import LocalRunner, Runner

logger = logging.getLogger(__name__)


def build(request: BuildRequest | None = None, /, **fields: object) -> BuildResult:
    """Build configs into a Hub-ready dataset folder, like ``dance-aggregate build``.

    Call it with a :class:`BuildRequest`, or with the request's fields as keywords::

        import dance_aggregate as da

        result = da.build(sample=True, output="dance_aggregate", progress=False)
        result = da.build(configs=["ucf101"], data_dirs={"ucf101": "/data/UCF101"}, workers=4)
        print(result.accounting()["ucf101"].summary())

    Each config's shards, reports and the card are written to ``request.output``; a rerun
    resumes where an earlier one stopped. A config that fails (bad annotation files, an
    unexpected error) is recorded in ``result.failures`` and the others are still built.

    Returns:
        The :class:`BuildResult`: per-config accounting and shards, failures, the
        accounting of ``all``, the elapsed time.

    A build holds a lock on the output folder (a second build into it stops with a clear
    error) and first removes what an interrupted build left there (staging folders,
    temporary files, download folders). A build that wrote no dataset removes the folders
    it made and left empty (the output folder itself when it was new).

    Raises:
        ConfigError: a field that is not one of :class:`BuildRequest`'s (the message names
            the closest), or a value of the wrong type or out of range (it names the field).
        DanceAggregateError: for a request that cannot start (unknown config, a config
            without a data dir, no config to build, an unreachable Ray cluster, another
            build writing the folder), when the finished folder is inconsistent (split
            leakage in ``all``), or when the disk is full (:class:`DiskFullError`, naming
            the file; nothing already in the folder was replaced).
    """
    check_field_names(fields, [f.name for f in dataclasses.fields(BuildRequest)])
    if request is not None and not isinstance(request, BuildRequest):
        raise ConfigError(
            f"build() takes a BuildRequest or the request's fields as keywords, got {shown(request)}. "
            "Fix: da.build(configs=['ucf101'], data_dirs={'ucf101': '/data/UCF101'})"
        )
    if request is None:
        request = BuildRequest(**fields)  # type: ignore[arg-type]
    elif fields:
        request = replace(request, **fields)
    t0 = time.monotonic()
    pretraining = load_pretraining_sets(request.pretraining_ids)  # a bad id file fails before any work
    sample = request.sample
    request = _with_sample(request)
    names = config_names(request)
    created, work_existed = first_missing(request.output), (request.output / WORK_DIR).exists()
    with BuildLock(request.output):
        try:
            remove_leftovers(request.output)
            result = _build_configs(request, names, pretraining, sample)
            if result.configs or (request.output / DATA_DIR).is_dir():
                result.all = finalize_folder(
                    request.output, progress=request.progress, pretraining_to_train=request.pretraining_to_train,
                    resplit=request.resplit_options(),
                    shards=request.shards,
                )
        finally:  # a first build that built nothing leaves no empty folder behind
            remove_unused_output(request.output, created=created, work_existed=work_existed)
    result.elapsed = time.monotonic() - t0
    return result


def _build_configs(
    request: BuildRequest, names: list[str], pretraining: Sequence[PretrainingSet], sample: bool = False
) -> BuildResult:
    """Build every config; a failing one is recorded and the others are still built
    (``sample``: they are the built-in sample, and their reports say so).

    Raises:
        DiskFullError: the disk is full (every further config would fail the same way).
    """
    runner, owned = make_runner(request)
    result = BuildResult(output=request.output)
    try:
        settings = RunSettings(
            output=request.output, part_size=request.part_size, progress=request.progress, runner=runner,
            work_dir=request.work_dir, shards=request.shards, pretraining=pretraining, sample=sample,
            failure_cap=FailureCap(request.failure_min_records, request.max_failure_share),
            fetch=request.fetch, max_short_side=request.max_short_side,
            politeness=shared_politeness(runner, names, request),
        )
        builders = make_builders(request, names)
        for builder in builders:
            try:
                result.configs.append(build_config(builder, settings))
            except DiskFullError:
                raise
            except DanceAggregateError as exc:
                message = _without_prefix(str(exc), builder.config_name)
                logger.error("%s: %s", builder.config_name, message)
                result.failures.append(ConfigFailure(builder.config_name, message, getattr(exc, "accounting", None)))
            except Exception as exc:  # noqa: BLE001 - one failing config never stops the others
                if is_disk_full(exc):
                    raise disk_full_error(exc, f"building {builder.config_name}") from exc
                logger.error("%s: unexpected error:\n%s", builder.config_name, traceback.format_exc())
                result.failures.append(ConfigFailure(builder.config_name, f"unexpected error: {type(exc).__name__}: {exc}"))
    finally:
        if owned is not None:
            owned.close()
    return result


def _without_prefix(message: str, config: str) -> str:
    """``message`` without a leading ``"<config>: "`` (the log line and the summary add it once)."""
    prefix = f"{config}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def _with_sample(request: BuildRequest) -> BuildRequest:
    """With ``sample``: the generated raw trees fill the data dirs, mirrors and options not
    given explicitly, and nothing is fetched from the network."""
    if not request.sample:
        return request
    from dance_aggregate.sample.makers import make_sample

    dirs, vdirs = dict(request.data_dirs), dict(request.video_dirs)
    options = {k: dict(v) for k, v in request.options.items()}
    named = set(request.configs)
    for src in make_sample(request.cache_dir):
        source = registry.get_config(src.config).source
        dirs.setdefault(source, str(src.data_dir))
        if src.video_dir:
            vdirs.setdefault(source, str(src.video_dir))
        if named and src.config not in named:
            continue  # the sample's own options of a config not built would only warn
        for key, value in src.options.items():
            options.setdefault(src.config, {}).setdefault(key, value)
    # Its missing clips stand for videos gone from YouTube: nothing to add or download.
    fetch = replace(request.fetch, offline=True, offline_hint="the --sample build never downloads; it leaves this clip out on purpose")
    return replace(request, data_dirs=dirs, video_dirs=vdirs, options=options, fetch=fetch, sample=False)


def config_names(request: BuildRequest) -> list[str]:
    """The configs a request builds: those named, or every default config with a data dir.

    Raises:
        DanceAggregateError: when there is nothing to build, or a named config's source
            has no data dir.
    """
    names = list(request.configs) or registry.default_configs(set(request.data_dirs))
    if not names:
        raise DanceAggregateError(
            "nothing to build: name a config and its data dir, e.g.\n"
            "  dance-aggregate build ucf101 --data-dir ucf101=/data/UCF101\n"
            "or try the built-in sample:  dance-aggregate build --sample"
        )
    for name in request.options:
        if name not in names:
            logger.warning(
                "options for %s are ignored: it is not being built (building %s); name it to build it: "
                "dance-aggregate build %s ...", name, ", ".join(names), name,
            )
    for name in names:
        cfg = registry.get_config(name)
        if cfg.source not in request.data_dirs:
            raise DanceAggregateError(
                f"{name}: no --data-dir for source {cfg.source!r}.\nExpected layout:\n{cfg.builder.layout.rstrip()}\n"
                f"Fix: dance-aggregate build {name} --data-dir {cfg.source}=/path/to/{cfg.source}\n"
                f"  (in Python: data_dirs={{{cfg.source!r}: '/path/to/{cfg.source}'}})"
            )
    return names


def make_builders(request: BuildRequest, names: list[str] | None = None) -> list[SourceBuilder]:
    """The configured builder of every config the request builds (options parsed and
    checked before any work starts).

    Args:
        request: The build request.
        names: The configs (default: :func:`config_names`).
    """
    builders = []
    for name in names if names is not None else config_names(request):
        cfg = registry.get_config(name)
        cls = cfg.builder
        builders.append(
            cls(
                request.data_dirs[cfg.source],
                cls.parse_options(request.options.get(name, {})),
                taxonomy=registry.taxonomy(),
                video_dir=request.video_dirs.get(cfg.source),
            )
        )
    return builders


def make_runner(request: BuildRequest) -> tuple[Runner, Any]:
    """``(runner, what to close afterwards or None)``; a Ray runner connects now, so a
    wrong address fails before any config starts."""
    if not isinstance(request.runner, str):
        return request.runner, None
    if request.runner == "ray":
        from dance_aggregate.pipeline.ray_runner import RayRunner, import_ray

        import_ray()
        ray_runner = RayRunner(request.workers, request.ray_address)
        ray_runner.connect()
        return ray_runner, ray_runner
    return LocalRunner(request.workers), None


def shared_politeness(runner: Runner, names: list[str], request: BuildRequest) -> Any:
    """On Ray, downloaders of every node share one pause (a Ray actor), not one per
    machine; ``None`` elsewhere (each machine's file-lock pause)."""
    from dance_aggregate.pipeline.ray_runner import RayRunner

    if not isinstance(runner, RayRunner) or not any(registry.get_config(n).fetches_media for n in names):
        return None
    from dance_aggregate.fetch.politeness_ray import RayPoliteness

    return RayPoliteness.start(min_interval=0.0, base_pause=request.fetch.pause_base, max_pause=request.fetch.pause_max)


def finalize_folder(
    folder: Path, progress: bool = False, pretraining_to_train: bool = False, shards: int | None = None,
    resplit: ResplitOptions | None = None,
) -> Accounting | None:
    """Steps that span configs, run after every build: the deduplicated ``all`` config
    (rebuilt from the pixel configs present, leakage-checked), then the dataset card.

    The folder is read once into a :class:`~dance_aggregate.output.folder.BuiltFolder`:
    ``build_all`` reads the configs through it and refreshes it after rewriting ``all``
    (only the new shards are read), and the card is written from that same model.
    ``shards`` is the ``--shards`` of the build (shards per split of ``all``), ``resplit`` its
    ``--resplit`` (the evaluation split of ``all``).

    Returns:
        The accounting of ``all`` (``None`` when the folder has no pixel config).
    """
    from dance_aggregate.dedup.combine import build_all
    from dance_aggregate.hub.card import write_card
    from dance_aggregate.output.folder import BuiltFolder

    built = BuiltFolder.open(folder)
    acc = build_all(built, progress=progress, pretraining_to_train=pretraining_to_train, shards=shards, resplit=resplit)
    write_card(built)
    return acc
