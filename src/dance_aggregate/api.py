"""The library face: everything the command line does, as functions (``import dance_aggregate as da``).

- :func:`build`: build configs into a Hub-ready folder (``dance-aggregate build``);
- :func:`open_folder`: a built folder, read once (configs, shards, reports);
- :func:`stats`: counts per config, split and label (``dance-aggregate stats``);
- :func:`publish`: check a built folder and push it to the Hub (``dance-aggregate publish``);
- :func:`label_schema`: the shared label schema with every source's crosswalk
  (``dance-aggregate taxonomy``).

The command line and ``scripts/publish.py`` call only these.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dance_aggregate.builders import registry
from dance_aggregate.hub.publish import PublishOptions, PublishPlan, PublishResult, plan_publish
from dance_aggregate.hub.publish import publish as _publish
from dance_aggregate.output.folder import BuiltFolder
from dance_aggregate.output.stats import folder_stats, format_stats
from dance_aggregate.pipeline.build import build
from dance_aggregate.pipeline.defaults import DEFAULT_OUTPUT
from dance_aggregate.pipeline.request import BuildRequest, BuildResult
from dance_aggregate.taxonomy import Taxonomy

__all__ = [
    "BuildRequest", "BuildResult", "BuiltFolder", "PublishOptions", "PublishPlan", "PublishResult",
    "build", "format_stats", "label_schema", "open_folder", "publish", "stats",
]


def open_folder(path: str | Path = DEFAULT_OUTPUT) -> BuiltFolder:
    """A built dataset folder, read once: its configs, shards (rows, bytes, schema), reports.

    Example::

        folder = da.open_folder("dance_aggregate")
        folder.configs                       # ['activitynet', 'all', 'ucf101', ...]
        folder.rows("all")                   # {'train': 120, 'validation': 20, 'test': 30}
        folder.report("ucf101").accounting   # records read = rows written + excluded
    """
    return BuiltFolder.open(Path(path))


def stats(folder: str | Path | BuiltFolder = DEFAULT_OUTPUT) -> dict[str, Any]:
    """Rows and distinct videos per config, split and label, with each config's accounting,
    dedup summary and pretraining overlap (what ``dance-aggregate stats --json`` prints;
    :func:`format_stats` gives the text form).

    Example::

        counts = da.stats("dance_aggregate")
        counts["configs"]["all"]["splits"]["validation"]["labels"]   # {'salsa': 4, ...}

    Raises:
        OutputError: the folder holds no dance_aggregate build.
    """
    return folder_stats(folder if isinstance(folder, BuiltFolder) else Path(folder))


def publish(
    repo_id: str,
    folder: str | Path = DEFAULT_OUTPUT,
    *,
    private: bool = False,
    dry_run: bool = False,
    tag: str | None = None,
    progress: bool = True,
    include_restricted: tuple[str, ...] = (),
    allow_sample: bool = False,
) -> PublishResult | PublishPlan:
    """Check a built folder and push it to the Hugging Face Hub as a dataset repo (in order:
    the checks, the repo, the data, the card, the tag). The token comes from ``HF_TOKEN`` or
    ``hf auth login`` and is never printed.

    Example::

        plan = da.publish("my-user/dance_aggregate", "dance_aggregate", dry_run=True)
        print(plan.describe())                       # the checks and what would be sent
        result = da.publish("my-user/dance_aggregate", "dance_aggregate", tag="v1.0")
        print(result.url)

    Only what each source's licence allows goes up: a source whose media may not be
    redistributed (AIST) is held back, and ``all`` is published without its rows; the
    published card says so. ``include_restricted`` names sources to publish anyway (only
    with their owners' authorisation; a warning names their terms). A build of the
    built-in sample (synthetic clips) is refused unless ``allow_sample``.

    Returns:
        With ``dry_run``: the :class:`PublishPlan` (checks, files, what is held back;
        nothing sent). Otherwise the :class:`PublishResult` (URL, commits, tag).

    Raises:
        DanceAggregateError: a check failed, the token is missing or cannot write, or the
            Hub refused the upload; the message names the cause and the fix.
    """
    options = PublishOptions(repo_id=repo_id, folder=Path(folder), private=private, dry_run=dry_run, tag=tag,
                             progress=progress, include_restricted=tuple(include_restricted), allow_sample=allow_sample)
    if not dry_run:
        return _publish(options)
    plan = plan_publish(options)
    plan.discard()  # a dry run keeps the plan, not the published view it was made from
    return plan


def label_schema() -> Taxonomy:
    """The shared dance label schema (labels, their tree, families) with the crosswalk of
    every registered source.

    Example::

        da.label_schema().map("kinetics600", "salsa dancing").label    # 'salsa'
        da.label_schema().with_ancestors(["salsa"])                    # ['salsa', 'latin_dance', 'dance']
    """
    return registry.taxonomy()
