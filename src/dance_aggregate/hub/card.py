"""Render the dataset card (``README.md`` of the output folder).

The YAML front matter is generated, not templated: ``configs:`` (one per config present in
the folder, with ``data_files`` per split) and ``dataset_info`` (features, split sizes)
come from the ``datasets`` metadata classes, so they are exactly what ``load_dataset``
and the Hub viewer expect. The body comes from the top-level ``dataset_card.md`` template
(packaged as ``dance_aggregate/hub/card_template.md``).

Licences: the sources have different terms, several of them not an SPDX licence, so the
card says ``license: other`` with ``license_name`` and ``license_link: LICENSE.md`` (the
form the Hub documents for licences outside its list); ``LICENSE.md`` is written next to the
card and lists each source's terms. ``size_categories`` is computed from the row count.

:func:`write_card` also writes ``images/class_distribution.png`` (:mod:`.chart`) and
``LICENSE.md``; the card links both relatively, and they are published with the data.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
from datasets import DatasetInfo, SplitDict, SplitInfo
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCardData

from dance_aggregate import __version__
from dance_aggregate.builders import registry
from dance_aggregate.errors import DanceAggregateError
from dance_aggregate.files.atomic import atomic_write_bytes, atomic_write_text
from dance_aggregate.hub.chart import CHART_PATH, draw_chart
from dance_aggregate.hub.citation import aggregate_bibtex, hub_url, removal_contact
from dance_aggregate.hub.summaries import dedup_summary, ledger_summary
from dance_aggregate.output.folder import BuiltFolder
from dance_aggregate.output.layout import DATA_DIR, shard_pattern
from dance_aggregate.output.resplit_report import report_from_dict
from dance_aggregate.output.shards import MIN_ROWS_PER_SHARD, MIN_SHARDS_PER_SPLIT
from dance_aggregate.output.stats import pretraining_counts
from dance_aggregate.records import ALL_CONFIG
from dance_aggregate.schema import COLUMNS, SPLITS, features, source_names

logger = logging.getLogger(__name__)

#: Config shown first and loaded by ``load_dataset(folder)`` when present.
DEFAULT_CONFIG_PREFERENCE = (ALL_CONFIG,)
PRETTY_NAME = "Dance Aggregate"
#: ``license_name`` of the card (the Hub wants a lowercase id) and the file it links.
LICENSE_NAME = "dance-aggregate-source-terms"
LICENSE_FILE = "LICENSE.md"
TASK_CATEGORIES = ["video-classification", "audio-classification"]
TAGS = ["video", "audio", "dance", "action-recognition", "human-motion"]
#: The Hub's size categories: (upper bound, name), first match wins.
_SIZE_CATEGORIES = [
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
]


def source_info() -> dict[str, dict[str, str]]:
    """Per-source provenance (name, homepage, licence, citation), from the source registry."""
    return {s.name: s.card_facts() for s in registry.sources()}


def template_text() -> str:
    """The card template (``dataset_card.md``)."""
    return resources.files("dance_aggregate").joinpath("hub/card_template.md").read_text(encoding="utf-8")


def default_config(configs: list[str]) -> str | None:
    """The config marked ``default: true``."""
    for name in DEFAULT_CONFIG_PREFERENCE:
        if name in configs:
            return name
    return configs[0] if configs else None


def size_category(rows: int) -> str:
    """The Hub's ``size_categories`` value for ``rows`` examples."""
    for bound, name in _SIZE_CATEGORIES:
        if rows < bound:
            return name
    return "n>1B"


def dataset_rows(folder: Path | BuiltFolder) -> int:
    """Rows of the dataset: the ``all`` config when present, else the sum over the source configs."""
    built = BuiltFolder.of(folder)
    if ALL_CONFIG in built.configs:
        return built.total_rows(ALL_CONFIG)
    return sum(built.total_rows(c) for c in built.configs)


def rows_counted(folder: Path | BuiltFolder) -> str:
    """What the card's header counts, said plainly: the rows of ``all`` (the dataset's
    clips, deduplicated) next to the rows of every config together (each clip of ``all`` is
    also a row of its source's config), or the rows of the configs when there is no ``all``."""
    built = BuiltFolder.of(folder)
    configs = built.configs
    together = sum(built.total_rows(c) for c in configs)
    if ALL_CONFIG in configs:
        return (
            f"{built.total_rows(ALL_CONFIG)} rows (clips) in `all`, the default config: every source with video, "
            f"duplicates removed. The {len(configs)} configs together hold {together} rows, because each clip of "
            f"`all` is also a row of its source's config"
        )
    return f"{together} rows (clips) in its {len(configs)} config(s) together"


def sources_present(folder: Path | BuiltFolder) -> list[str]:
    """Sources with at least one row in the folder, in ``source`` ClassLabel order."""
    built = BuiltFolder.of(folder)
    names = features()["source"].names
    seen: set[str] = set()
    for config in built.configs:
        for values in built.column(config, "source").values():
            seen.update(names[i] for i in values if i is not None)
    return [s for s in source_names() if s in seen]


def card_data(folder: Path | BuiltFolder) -> DatasetCardData:
    """The YAML metadata of the card for the configs present in ``folder``."""
    built = BuiltFolder.of(folder)
    configs = built.configs
    default = default_config(configs)
    meta = MetadataConfigs()
    infos = DatasetInfosDict()
    feats = features()
    for config in configs:
        shards = built.shards(config)
        entry: dict[str, Any] = {
            "data_files": [{"split": split, "path": f"{DATA_DIR}/{config}/{shard_pattern(split)}"} for split in shards]
        }
        if config == default:
            entry["default"] = True
        meta[config] = entry
        splits = SplitDict()
        total_bytes = 0
        for split, in_split in shards.items():
            nbytes = sum(s.uncompressed_bytes for s in in_split)
            splits.add(SplitInfo(name=split, num_bytes=nbytes, num_examples=sum(s.rows for s in in_split)))
            total_bytes += nbytes
        download = sum(s.file_bytes for in_split in shards.values() for s in in_split)
        infos[config] = DatasetInfo(features=feats, splits=splits, dataset_size=total_bytes, download_size=download)
    data = DatasetCardData(
        pretty_name=PRETTY_NAME,
        license="other",
        license_name=LICENSE_NAME,
        license_link=LICENSE_FILE,
        tags=list(TAGS),
        task_categories=list(TASK_CATEGORIES),
        size_categories=[size_category(dataset_rows(built))],
    )
    meta.to_dataset_card_data(data)
    infos.to_dataset_card_data(data)
    return data


def render_card(folder: Path | BuiltFolder, repo_id: str = "dance_aggregate", held_back: list[dict[str, Any]] | None = None) -> str:
    """Render the whole card (front matter + body) for ``folder`` (a path or its model).

    ``held_back`` (the published copy's :func:`~.redistribution.held_back_summary`) says
    what a publish leaves out for licence reasons; ``None`` for the local card. A
    ``repo_id`` that is no Hub repo id (``NAMESPACE/NAME``) makes a local card: its loading
    examples read the folder by a path (``/path/to/<folder>``), never by a bare name.
    """
    built = BuiltFolder.of(folder)
    data = card_data(built)
    configs = built.configs
    counts = []
    label_counts = []
    feats = features()
    for config in configs:
        for split, n in built.rows(config).items():
            counts.append({"config": config, "split": split, "rows": n})
        per_label = label_split_counts(built, config)
        videos = label_split_videos(built, config)
        for label, by_split in sorted(per_label.items(), key=lambda kv: (-sum(kv[1].values()), kv[0])):
            v = videos.get(label, {})
            label_counts.append(
                {
                    "config": config,
                    "label": label,
                    **{s: f"{by_split.get(s, 0)} ({len(v.get(s, ()))})" for s in SPLITS},
                    "rows": f"{sum(by_split.values())} ({len(set().union(*v.values())) if v else 0})",
                }
            )
    accounting = []
    for config in configs:
        acc = built.accounting(config)
        if acc is None:
            continue
        reasons = "; ".join(f"{k}: {v}" for k, v in sorted(acc.excluded.items())) or "-"
        accounting.append({**acc.__dict__, "excluded_total": acc.excluded_total, "reasons": reasons})
    tax = registry.taxonomy()
    labels = []
    for row in tax.table():
        srcs = "; ".join(f"{s}: {', '.join(v)}" for s, v in row["sources"].items()) or "-"
        labels.append({**row, "sources": srcs})
    columns = [{"name": n, "type": _type_name(feats[n]), "doc": COLUMNS.get(n, "")} for n in feats]
    info = source_info()
    present = sources_present(built)
    held = {h["source"] for h in held_back or []}
    sources = [{**info[s], "config": s, "in_build": s in present, "held_back": s in held} for s in source_names() if s in info]
    chart_config = default_config(configs)
    example = example_config(configs)
    shard_counts = [len(in_split) for c in configs for in_split in built.shards(c).values()] or [1]
    # Loading examples name the Hub repo, or for a local card the folder by a path: a bare
    # name works only from the folder's parent directory, and elsewhere is a Hub lookup.
    load_from = repo_id if hub_url(repo_id) else f"/path/to/{built.path.name}"
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    body = env.from_string(template_text()).render(
        card_yaml=data.to_yaml().strip(),
        pretty_name=PRETTY_NAME,
        version=__version__,
        counts=counts,
        label_counts=label_counts,
        accounting=accounting,
        columns=columns,
        labels=labels,
        repo_id=load_from,
        local_card=hub_url(repo_id) is None,
        example_config=example or registry.config_names()[0],
        example_has_video=example is None or _has_pixels(example),
        min_shards=min(shard_counts),
        max_shards=max(shard_counts),
        sources=sources,
        splits=list(SPLITS),
        chart_path=CHART_PATH,
        chart_config=chart_config,
        license_file=LICENSE_FILE,
        size_category=data.size_categories[0],
        total_rows=dataset_rows(built),
        dedup=dedup_summary(built),
        ledger=ledger_summary(built),
        pretraining=pretraining_rows(built),
        pretraining_moved=pretraining_moved(built),
        configs=configs,
        held_back=held_back or [],
        sample=built.is_sample(),
        evaluation=_evaluation(built),
        evaluation_table=_evaluation_table(built),
        published_copy=held_back is not None,
        rows_counted=rows_counted(built),
        aggregate_bibtex=aggregate_bibtex(repo_id),
        removal_contact=removal_contact(repo_id),
        rows_per_shard=MIN_ROWS_PER_SHARD,
        shards_per_split=MIN_SHARDS_PER_SPLIT,
    )
    return body


def _evaluation(built: BuiltFolder) -> dict[str, Any] | None:
    """The evaluation split of ``all`` (``--resplit``), as ``reports/all.json`` keeps it."""
    report = built.report(ALL_CONFIG) if ALL_CONFIG in built.configs else None
    return report.resplit if report is not None else None


def _evaluation_table(built: BuiltFolder) -> str:
    """The evaluation split's per-label table (groups and rows, validation and test shares)."""
    evaluation = _evaluation(built)
    return report_from_dict(evaluation).markdown() if evaluation else ""


def example_config(configs: list[str]) -> str | None:
    """The config the card's loading examples use: the default one when its rows have
    video, else the first config with video, else the first config."""
    first = default_config(configs)
    if first is None or _has_pixels(first):
        return first
    return next((c for c in configs if _has_pixels(c)), first)


def _has_pixels(config: str) -> bool:
    try:
        return registry.source(registry.get_config(config).source).has_pixels
    except DanceAggregateError:
        return config == ALL_CONFIG  # `all` holds pixel sources only; it is not a registry config


def pretraining_rows(folder: Path | BuiltFolder) -> list[dict[str, Any]]:
    """One line per config and split checked against pretraining sets (empty: none was)."""
    built = BuiltFolder.of(folder)
    out = []
    for config in built.configs:
        counts = pretraining_counts(built, config)
        if not counts:
            continue
        for split, p in counts["splits"].items():
            out.append(
                {
                    "config": config,
                    "split": split,
                    "checked": p["checked"],
                    "any": p["any"],
                    "sets": "; ".join(f"{name}: {p['overlap'].get(name, 0)}" for name in counts["sets"]) or "-",
                }
            )
    return out


def pretraining_moved(folder: Path | BuiltFolder) -> str:
    """How many rows ``all`` moved to train for pretraining overlap ("" when the option was off)."""
    counts = pretraining_counts(folder, ALL_CONFIG)
    if not counts or "moved_to_train" not in counts:
        return ""
    moved = counts["moved_to_train"]
    detail = ", ".join(f"{moved.get(s, 0)} from {s}" for s in ("validation", "test"))
    return f"{sum(moved.values())} rows ({detail})"


def _type_name(feature: Any) -> str:
    name = type(feature).__name__
    if name == "Value":
        return feature.dtype
    if name == "List":
        fixed = f"[{feature.length}]" if getattr(feature, "length", -1) >= 0 else ""
        return f"list<{_type_name(feature.feature)}>{fixed}"
    if isinstance(feature, dict):
        return "struct"
    return name


def label_split_counts(folder: Path | BuiltFolder, config: str) -> dict[str, dict[str, int]]:
    """Label name -> split -> rows of ``config``."""
    names = features()["label"].names
    out: dict[str, dict[str, int]] = {}
    for split, values in BuiltFolder.of(folder).column(config, "label").items():
        for v in values:
            label = names[v] if v is not None else "(none)"
            out.setdefault(label, {}).setdefault(split, 0)
            out[label][split] += 1
    return out


def label_split_videos(folder: Path | BuiltFolder, config: str) -> dict[str, dict[str, set[str]]]:
    """Label name -> split -> distinct videos (``group`` values) of ``config``."""
    built = BuiltFolder.of(folder)
    names = features()["label"].names
    groups = built.column(config, "group")
    out: dict[str, dict[str, set[str]]] = {}
    for split, values in built.column(config, "label").items():
        for v, g in zip(values, groups[split], strict=True):
            if g:
                out.setdefault(names[v] if v is not None else "(none)", {}).setdefault(split, set()).add(g)
    return out


def license_text(folder: Path | BuiltFolder) -> str:
    """``LICENSE.md``: the terms of each source present in ``folder``."""
    info = source_info()
    lines = [
        f"# Terms of use of {PRETTY_NAME}",
        "",
        "This dataset aggregates clips and annotations from several public datasets. Each row keeps",
        "its `source`; the terms of that source apply to it. Videos remain the property of their",
        "uploaders (most sources were collected from YouTube).",
        "",
        "| source | terms | homepage |",
        "| --- | --- | --- |",
    ]
    for s in sources_present(folder) or list(source_names()):
        if s in info:
            terms = info[s]["license"] + (f" ([terms]({info[s]['terms_url']}))" if info[s].get("terms_url") else "")
            lines.append(f"| {info[s]['name']} (`{s}`) | {terms} | {info[s]['homepage']} |")
    lines += ["", "The dance_aggregate code that builds the dataset is released under Apache-2.0.", ""]
    return "\n".join(lines)


def write_card(folder: Path | BuiltFolder, repo_id: str = "dance_aggregate", held_back: list[dict[str, Any]] | None = None) -> Path:
    """Write ``README.md``, the chart PNG and ``LICENSE.md`` into ``folder`` (each atomically).

    Args:
        folder: The output folder, or its model (read once for all three files).
        repo_id: The repo the card's loading examples name.
        held_back: What a published copy leaves out (see :func:`render_card`).

    Returns:
        The path of the card.
    """
    built = BuiltFolder.of(folder)
    chart_config = default_config(built.configs)
    if chart_config:
        png = draw_chart(label_split_counts(built, chart_config), f"Clips per label and split: config {chart_config}")
        atomic_write_bytes(built.path / CHART_PATH, png)
    atomic_write_text(built.path / LICENSE_FILE, license_text(built))
    path = built.path / "README.md"
    atomic_write_text(path, render_card(built, repo_id, held_back))
    return path
