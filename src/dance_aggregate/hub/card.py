"""Render the dataset card (``README.md`` of the output folder).

The YAML front matter is generated, not templated: ``configs:`` (one per config present in
the folder, with ``data_files`` per split) and ``dataset_info`` (features, split sizes)
come from the ``datasets`` metadata classes, so they are exactly what ``load_dataset``
and the Hub viewer expect. The body comes from the top-level ``dataset_card.md`` template
(packaged as ``dance_aggregate/data/dataset_card.md``).
"""

from __future__ import annotations

import functools
import logging
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import pyarrow.parquet as pq
import yaml
from datasets import DatasetInfo, SplitDict, SplitInfo
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCardData

from dance_aggregate import __version__
from dance_aggregate.report import read_accounting
from dance_aggregate.schema import COLUMNS, SOURCES, features
from dance_aggregate.taxonomy import load_taxonomy
from dance_aggregate.writer import atomic_write_text, configs_in, shard_files

logger = logging.getLogger(__name__)

#: Config shown first and loaded by ``load_dataset(folder)`` when present.
DEFAULT_CONFIG_PREFERENCE = ("all",)
PRETTY_NAME = "Dance Aggregate"


@functools.lru_cache(maxsize=1)
def source_info() -> dict[str, dict[str, str]]:
    """Per-source provenance (name, homepage, licence, citation)."""
    text = resources.files("dance_aggregate").joinpath("data/sources.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def template_text() -> str:
    """The card template (``dataset_card.md``)."""
    return resources.files("dance_aggregate").joinpath("data/dataset_card.md").read_text(encoding="utf-8")


def default_config(configs: list[str]) -> str | None:
    """The config marked ``default: true``."""
    for name in DEFAULT_CONFIG_PREFERENCE:
        if name in configs:
            return name
    return configs[0] if configs else None


def card_data(folder: Path) -> DatasetCardData:
    """The YAML metadata of the card for the configs present in ``folder``."""
    configs = configs_in(folder)
    default = default_config(configs)
    meta = MetadataConfigs()
    infos = DatasetInfosDict()
    feats = features()
    for config in configs:
        files = shard_files(folder, config)
        entry: dict[str, Any] = {
            "data_files": [{"split": split, "path": f"data/{config}/{split}-*.parquet"} for split in files]
        }
        if config == default:
            entry["default"] = True
        meta[config] = entry
        splits = SplitDict()
        total_bytes = 0
        for split, paths in files.items():
            n = 0
            nbytes = 0
            for p in paths:
                md = pq.read_metadata(folder / p)
                n += md.num_rows
                nbytes += sum(md.row_group(i).total_byte_size for i in range(md.num_row_groups))
            splits.add(SplitInfo(name=split, num_bytes=nbytes, num_examples=n))
            total_bytes += nbytes
        infos[config] = DatasetInfo(features=feats, splits=splits, dataset_size=total_bytes, download_size=sum(
            (folder / p).stat().st_size for paths in files.values() for p in paths
        ))
    data = DatasetCardData(pretty_name=PRETTY_NAME, license="other", tags=["video", "dance", "audio"],
                           task_categories=["video-classification"])
    meta.to_dataset_card_data(data)
    infos.to_dataset_card_data(data)
    return data


def render_card(folder: Path, repo_id: str = "dance_aggregate") -> str:
    """Render the whole card (front matter + body) for ``folder``."""
    data = card_data(folder)
    configs = configs_in(folder)
    counts = []
    label_counts = []
    feats = features()
    names = feats["label"].names
    for config in configs:
        for split, paths in shard_files(folder, config).items():
            n = sum(pq.read_metadata(folder / p).num_rows for p in paths)
            counts.append({"config": config, "split": split, "rows": n})
        per_label: dict[int, int] = {}
        for paths in shard_files(folder, config).values():
            for p in paths:
                col = pq.read_table(folder / p, columns=["label"]).column("label").to_pylist()
                for v in col:
                    per_label[v] = per_label.get(v, 0) + 1
        for idx, n in sorted(per_label.items(), key=lambda kv: (-kv[1], kv[0])):
            label_counts.append({"config": config, "label": names[idx] if idx is not None else "(none)", "rows": n})
    accounting = []
    for config in configs:
        acc = read_accounting(folder, config)
        if acc is None:
            continue
        reasons = "; ".join(f"{k}: {v}" for k, v in sorted(acc.excluded.items())) or "-"
        accounting.append({**acc.__dict__, "excluded_total": acc.excluded_total, "reasons": reasons})
    tax = load_taxonomy()
    labels = []
    for row in tax.table():
        srcs = "; ".join(f"{s}: {', '.join(v)}" for s, v in row["sources"].items()) or "-"
        labels.append({**row, "sources": srcs})
    columns = [{"name": n, "type": _type_name(feats[n]), "doc": COLUMNS.get(n, "")} for n in feats]
    info = source_info()
    sources = [{**info[s]} for s in SOURCES if s in info]
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
        repo_id=repo_id,
        example_config=default_config(configs) or "ucf101",
        sources=sources,
    )
    return body


def _type_name(feature: Any) -> str:
    name = type(feature).__name__
    if name == "Value":
        return feature.dtype
    if name == "List":
        return f"list<{_type_name(feature.feature)}>"
    return name


def write_card(folder: Path, repo_id: str = "dance_aggregate") -> Path:
    """Render and write ``folder/README.md`` atomically."""
    path = folder / "README.md"
    atomic_write_text(path, render_card(folder, repo_id))
    return path
