"""What a build is asked to do (:class:`BuildRequest`) and what it did (:class:`BuildResult`).

Defaults live here, once: the CLI, :class:`~dance_aggregate.pipeline.hf_builder.DanceAggregate`
and the tests fill a request and call :func:`dance_aggregate.build`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dance_aggregate.bounds import bounded, check_fields
from dance_aggregate.builders import registry
from dance_aggregate.dedup.pretraining import check_id_file
from dance_aggregate.dedup.resplit import ResplitOptions
from dance_aggregate.errors import ConfigError
from dance_aggregate.fetch.options import FetchOptions
from dance_aggregate.output.reports import Accounting
from dance_aggregate.pipeline import request_fields as rf
from dance_aggregate.pipeline.config import ConfigResult
from dance_aggregate.pipeline.defaults import (
    DEFAULT_FAILURE_MIN_RECORDS,
    DEFAULT_MAX_FAILURE_SHARE,
    DEFAULT_OUTPUT,
    DEFAULT_PART_SIZE,
    DEFAULT_WORKERS,
    MAX_FAILURE_MIN_RECORDS,
    MAX_PART_SIZE,
    MAX_SHARDS,
    MAX_SHORT_SIDE,
    MAX_WORKERS,
    MIN_SHORT_SIDE,
)
from dance_aggregate.pipeline.runners import Runner
from dance_aggregate.records import ALL_CONFIG

logger = logging.getLogger(__name__)

#: The runners a request may name.
RUNNERS = ("local", "ray")


@dataclass
class BuildRequest:
    """Everything ``dance-aggregate build`` can be asked, as one value.

    Every field is checked when the request is made: its type and range, each refusal a
    :class:`~dance_aggregate.errors.ConfigError` naming the field, the value, what is
    expected and the fix; config, source and option names against the registry. Local paths
    (``output``, ``cache_dir``, ``data_dirs``, ``video_dirs``, ``pretraining_ids``, a local
    ``work_dir``, path options such as ``letsdance.splits``) are made absolute against the
    current folder, so every runner, a Ray worker started elsewhere included, sees the same
    files.

    Attributes:
        configs: Configs to build (a list of names, or one name as text); empty: every
            default config whose source has a data dir.
        data_dirs: Source name -> folder of its raw files (``--data-dir SOURCE=PATH``).
        video_dirs: Source name -> local mirror of its videos (``--video-dir SOURCE=PATH``).
        options: Config name -> builder options as ``KEY: VALUE`` strings (``-o CONFIG.KEY=VALUE``;
            from Python a value may also be a number or bool).
        output: The dataset folder written.
        sample: Generate the built-in miniature sources and build every config from them
            (implies offline fetching).
        cache_dir: Where the sample's raw files are generated (default: the user cache).
        workers: Worker processes (or Ray CPUs of a local Ray instance), 1 to 1024.
        part_size: Clips per unit of work (the resume granularity; a unit's part is held in
            memory before it is written), 1 to 10,000.
        runner: ``"local"``, ``"ray"``, or a runner object (anything with ``workers`` and
            ``run(fn, units)``, see :class:`~dance_aggregate.pipeline.runners.Runner`).
        ray_address: An existing Ray cluster to join (with ``runner="ray"``).
        work_dir: Where units write their parts: a path or fsspec URL every worker reaches
            (default ``<output>/.work``).
        max_short_side: Downscale video so its shorter side is at most this many pixels;
            0 keeps the source size (default: each source's ``default_max_short_side``).
        shards: Shards per split of every config built, and of ``all`` (``--shards N``, 1 to
            3,000, so three splits stay under the 10,000 entries a folder the Hub recommends; ``None``: sized
            automatically, at most 500 MB each and up to 16 per split). Pick a multiple of
            nodes x DataLoader workers for streaming.
        fetch: How videos missing from a mirror are fetched.
        progress: Show progress bars.
        failure_min_records: The failure cap looks at a config once this many of its
            records were tried ...
        max_failure_share: ... and stops it when more than this share of them failed for
            one reason (``1.0`` turns the cap off; see :mod:`dance_aggregate.pipeline.config`).
        pretraining_ids: Set name -> file of YouTube ids a model was pretrained on
            (``--pretraining-ids NAME=FILE``: a Kinetics-style CSV or JSON, or one id per
            line); fills every row's ``pretraining_overlap``.
        pretraining_to_train: In ``all``, move rows whose YouTube video is in one of those
            sets out of validation and test into train (``--pretraining-to-train``).
        resplit: Re-split ``all`` for evaluation: ``"VAL,TEST"`` fractions (``"0.1,0.1"``) or
            a pair of numbers (``--resplit``); ``None`` keeps the sources' splits. Every
            label's groups are drawn into validation and test (docs/balance.md).
        seed: Seed of that draw (``--seed``).
        accept_terms: Sources whose terms of use the user has read and accepts
            (``--accept-terms SOURCE``): needed before their videos are downloaded (the AIST
            Dance Video Database). It sets the ``accept_terms`` option of their configs.
    """

    configs: Sequence[str] = ()
    data_dirs: Mapping[str, str | Path] = field(default_factory=dict)
    video_dirs: Mapping[str, str | Path] = field(default_factory=dict)
    options: Mapping[str, Mapping[str, str | int | float | bool]] = field(default_factory=dict)
    output: Path = DEFAULT_OUTPUT
    sample: bool = False
    cache_dir: Path | None = None
    workers: int = bounded(DEFAULT_WORKERS, min=1, max=MAX_WORKERS)
    part_size: int = bounded(DEFAULT_PART_SIZE, min=1, max=MAX_PART_SIZE, unit="clips")
    runner: str | Runner = "local"
    ray_address: str | None = bounded(None, example="HEAD_IP:6379")
    work_dir: str | None = None
    max_short_side: int | None = bounded(
        None, min=MIN_SHORT_SIDE, max=MAX_SHORT_SIDE, unit="pixels", special={0: "keep the source size"},
        none="each source's default",
    )
    shards: int | None = bounded(None, min=1, max=MAX_SHARDS, none="sized automatically")
    fetch: FetchOptions = field(default_factory=FetchOptions)
    progress: bool = True
    failure_min_records: int = bounded(DEFAULT_FAILURE_MIN_RECORDS, min=1, max=MAX_FAILURE_MIN_RECORDS)
    max_failure_share: float = bounded(DEFAULT_MAX_FAILURE_SHARE, min=0.0, min_open=True, max=1.0,
                                       unit="1 turns the cap off")
    pretraining_ids: Mapping[str, str | Path] = field(default_factory=dict)
    pretraining_to_train: bool = False
    accept_terms: Sequence[str] = ()
    resplit: str | Sequence[float] | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        # Types and ranges first (each refusal names the field, the value and the fix), then
        # the names against the registry; paths are made absolute here, once, so every
        # runner (a Ray worker started in another folder) reads and writes the same files.
        self.configs = rf.config_list(self.configs)
        source = registry.source_names()[0]  # for the examples in messages
        self.data_dirs = rf.path_map("data_dirs", self.data_dirs, "source name", (source, f"/data/{source}"))
        self.video_dirs = rf.path_map("video_dirs", self.video_dirs, "source name", (source, f"/data/{source}/videos"))
        self.pretraining_ids = rf.path_map("pretraining_ids", self.pretraining_ids, "set name",
                                           ("k400_train", "kinetics-400_train.csv"))
        self.options = rf.option_map(self.options)
        self.output = rf.local_path("output", self.output)
        self.cache_dir = None if self.cache_dir is None else rf.local_path("cache_dir", self.cache_dir)
        self.work_dir = rf.work_dir(self.work_dir)
        self.fetch = rf.fetch_options(self.fetch)
        rf.check_runner(self.runner, RUNNERS)
        check_fields(self, label=rf.named, fix=rf.scalar_fix)
        for name, file in self.pretraining_ids.items():
            check_id_file(name, file)
        if self.ray_address and self.runner != "ray":
            raise ConfigError("--ray-address needs --runner ray: only the Ray runner joins a cluster")
        for name in self.configs:
            if name == ALL_CONFIG:
                raise ConfigError(
                    "'all' is not built on its own: every build remakes it from the per-source configs in the "
                    "output folder. Name those configs (or none: every config with a --data-dir), e.g. "
                    "dance-aggregate build ucf101 kinetics600 --data-dir ..."
                )
            registry.get_config(name)  # an unknown config fails before any work
        for source_name in [*self.data_dirs, *self.video_dirs]:
            registry.source(source_name)
        self.accept_terms = (self.accept_terms,) if isinstance(self.accept_terms, str) else tuple(self.accept_terms)
        self.options = _with_accepted_terms(self.options, self.accept_terms)
        self.resplit_options()  # a bad --resplit or --seed fails before any work
        for name, values in self.options.items():
            try:
                cfg = registry.get_config(name)
            except ConfigError as exc:
                example = ", ".join(f"-o {name}.{k}={v}" for k, v in values.items())
                raise ConfigError(f"{example}: {exc}") from None
            cfg.builder.parse_options(values)  # a mistyped key or value fails now, built or not
        rf.absolute_option_paths(self.options, lambda name: registry.get_config(name).builder.Options)


    def resplit_options(self) -> ResplitOptions | None:
        """The ``--resplit`` of ``all`` (``None``: the sources' own splits).

        Raises:
            ConfigError: the fractions are not two numbers in [0, 1) summing below 1, or
                the seed is not an integer.
        """
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ConfigError(f"seed (--seed) must be a whole number, got {self.seed!r}. Fix: seed=0 (--seed 0)")
        if self.resplit is None:
            if self.seed != 0:
                raise ConfigError(f"seed (--seed {self.seed}) needs resplit (--resplit VAL,TEST): only the resplit of "
                                  f"`all` draws groups. Fix: --resplit 0.1,0.1 --seed {self.seed}")
            return None
        if isinstance(self.resplit, str):
            return ResplitOptions.parse(self.resplit, self.seed)
        values = list(self.resplit)
        if len(values) != 2:
            raise ConfigError(f"resplit {self.resplit!r}: expected two fractions (validation, test). Fix: resplit=(0.1, 0.1)")
        return ResplitOptions(values[0], values[1], self.seed)


@dataclass
class ConfigFailure:
    """A config that could not be built, and why (the other configs still were).

    Attributes:
        config: The config.
        error: The message.
        accounting: What it read, when it got as far as reading its records (a config that
            read records but wrote no row fails with its accounting).
    """

    config: str
    error: str
    accounting: Accounting | None = None


@dataclass
class BuildResult:
    """What a build did.

    Attributes:
        output: The dataset folder.
        configs: The configs built, with their accounting and shards.
        failures: The configs that failed, with the error.
        all: The accounting of the deduplicated ``all`` config (``None`` when the folder
            has no pixel config).
        elapsed: Wall time of the whole build (s).
    """

    output: Path
    configs: list[ConfigResult] = field(default_factory=list)
    failures: list[ConfigFailure] = field(default_factory=list)
    all: Accounting | None = None
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        """Every config asked for was built."""
        return not self.failures

    def accounting(self) -> dict[str, Accounting]:
        """Config -> accounting (``all`` included when built)."""
        out = {r.config: r.accounting for r in self.configs}
        if self.all is not None:
            out[ALL_CONFIG] = self.all
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary."""
        return {
            "output": str(self.output),
            "elapsed_seconds": round(self.elapsed, 2),
            "configs": {r.config: {"shards": r.shards, "elapsed_seconds": round(r.elapsed, 2)} for r in self.configs},
            "failures": {f.config: f.error for f in self.failures},
            "accounting": {k: vars(v) for k, v in self.accounting().items()},
        }


def _with_accepted_terms(options: dict[str, dict[str, str]], accepted: Sequence[str]) -> dict[str, dict[str, str]]:
    """``options`` with ``accept_terms=true`` for every config of each source in ``accepted``.

    Raises:
        ConfigError: a name is not a source, or its source has no terms to accept.
    """
    with_terms = [s.name for s in registry.sources() if s.terms_url]
    example = f"Fix: accept_terms=[{with_terms[0]!r}] (on the command line: --accept-terms {with_terms[0]})" if with_terms else ""
    out = {k: dict(v) for k, v in options.items()}
    for name in accepted:
        if not isinstance(name, str):
            raise ConfigError(f"accept_terms (--accept-terms) takes source names, got {name!r}. {example}")
        try:
            src = registry.source(name)
        except ConfigError as exc:
            raise ConfigError(f"accept_terms (--accept-terms): {exc}. {example}") from None
        if src.terms_url is None:
            raise ConfigError(
                f"accept_terms (--accept-terms {name}): {name} has no terms of use to accept; sources that need it: "
                f"{', '.join(with_terms) or 'none'}. {example}"
            )
        logger.info("%s: its terms of use are accepted for this build (%s): %s", name, src.terms_url, src.terms_in_short)
        for cfg in src.configs:
            out.setdefault(cfg.name, {})["accept_terms"] = "true"
    return out
