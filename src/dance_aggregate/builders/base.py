"""What a source is (:class:`Source`) and what its builder does (:class:`SourceBuilder`).

A source is one package under ``builders/`` that exports ``SOURCE``, a :class:`Source`:
its configs (each with the :class:`SourceBuilder` subclass that plans it), whether its rows
carry pixels, its dedup priority, whether its media may be redistributed, its part of the
label crosswalk (``crosswalk.yaml`` beside it, read by :func:`load_crosswalk`, with the
source's full class list: :mod:`.classlist`), its card and licence facts, and the function
that writes its built-in sample. The registry (:mod:`.registry`) collects the packages;
nothing outside ``builders/`` names a source.

A builder only parses and plans. Subclasses set:

- ``source``: the source name (the ``source`` column, the ``--data-dir`` key);
- ``config_name``: the config it builds (defaults to ``source``);
- ``layout``: the expected raw layout as a tree, shown when ``--data-dir`` is wrong
  (:func:`layout_from_doc` takes it from the module docstring);
- ``Options``: a dataclass of the builder's options (validated in ``__post_init__``);
- :meth:`plan`: parse the annotations into records (each with a typed media plan, see
  :mod:`dance_aggregate.records`) and exclusions; no media is touched;
- optionally ``default_max_short_side`` (clips' short side unless ``--max-short-side``),
  ``fetches`` (its plans may download, so the fetch options apply), ``record_noun``, and
  :meth:`read_features` for sources whose plans are :class:`~dance_aggregate.records.FeatureShard`.

The pipeline carries the plans out (fetch, cut, encode, write) and writes every report.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import yaml

from dance_aggregate.bounds import BOUNDS, ValueRefused, check_fields, from_text, scalar_kind
from dance_aggregate.builders.classlist import read_class_list
from dance_aggregate.errors import ConfigError, DataDirError, TaxonomyError
from dance_aggregate.records import FeatureShard, Plan, Produced
from dance_aggregate.taxonomy import Taxonomy, load_taxonomy


@dataclass
class SourceOptions:
    """Options shared by every builder (subclass to add more).

    Every field whose annotation is a plain scalar (``bool``, ``int``, ``float``, ``str``,
    optionally ``| None``) is checked here: its type, a finite float, and the bounds declared
    with :func:`~dance_aggregate.bounds.bounded` (``max_window: float = bounded(10.0, min=0.5,
    max=3600.0)``). A number option without bounds is a mistake (``tests/test_bounds.py``
    checks every built-in source). A subclass that checks more (one field against another)
    calls ``super().__post_init__()`` first.
    """

    def __post_init__(self) -> None:
        check_fields(self, fix=lambda name, value: f"{type(self).__name__}({name}={value!r})")


class SourceBuilder:
    """Base class of the per-source builders: parse raw files into a :class:`Plan`.

    Args:
        data_dir: Where the source's raw files are (``--data-dir SOURCE=PATH``).
        options: The builder's options (an instance of ``Options``).
        taxonomy: The label schema with the crosswalk of this source (the pipeline passes the
            registry's, with every source's; default: the labels and the ``crosswalk.yaml``
            of the builder's own package).
        video_dir: A local mirror of the source's videos, for sources that list ids.
    """

    source: ClassVar[str]
    config_name: ClassVar[str]
    layout: ClassVar[str] = ""
    Options: ClassVar[type[SourceOptions]] = SourceOptions
    #: Short side clips are stored at unless ``--max-short-side`` says otherwise (``None``
    #: keeps the source size).
    default_max_short_side: ClassVar[int | None] = None
    #: Whether its plans download media (``RemoteCut``): the fetch options apply.
    fetches: ClassVar[bool] = False
    #: What one plan record is, as progress bars count it.
    record_noun: ClassVar[str] = "clip"

    def __init__(
        self,
        data_dir: str | Path,
        options: SourceOptions | None = None,
        *,
        taxonomy: Taxonomy | None = None,
        video_dir: str | Path | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).expanduser()
        self.options = options if options is not None else self.Options()
        if taxonomy is None:
            package = type(self).__module__.rpartition(".")[0]
            taxonomy = load_taxonomy().with_crosswalks({self.source: load_crosswalk(package)})
        self.taxonomy = taxonomy
        self.video_dir = Path(video_dir).expanduser() if video_dir else None

    # -- to implement ---------------------------------------------------------------------
    def plan(self) -> Plan:
        """Parse the raw annotation files into records and exclusions."""
        raise NotImplementedError

    @staticmethod
    def read_features(shard: FeatureShard, options: Any) -> Produced:
        """Read one :class:`~dance_aggregate.records.FeatureShard` of this source into rows
        (a row per video, ``video``/``audio`` null) and exclusions. Runs in a worker; it
        must be a plain function of its arguments (sources without feature plans never
        reach it).

        Raises:
            NotImplementedError: the source plans no feature shards.
        """
        raise NotImplementedError("this source plans no feature shards")

    def max_short_side(self, build_value: int | None) -> int | None:
        """The short side this config's clips are stored at, given the build's
        (``--max-short-side`` or :attr:`default_max_short_side`); a source option may
        override it."""
        return build_value

    # -- helpers --------------------------------------------------------------------------
    def layout_error(self, problem: str) -> DataDirError:
        """A :class:`DataDirError` that shows the expected layout and how to pass it."""
        return DataDirError(
            f"{self.source}: {problem}\n"
            f"Expected --data-dir {self.source}=PATH with this layout:\n{self.layout.rstrip()}\n"
            f"Fix: dance-aggregate build {self.config_name} --data-dir {self.source}=/path/to/{self.source}"
        )

    @classmethod
    def parse_options(cls, values: Mapping[str, Any]) -> SourceOptions:
        """Build ``Options`` from ``KEY=VALUE`` strings (``-o CONFIG.KEY=VALUE``; from Python,
        a value may also be given as a number or bool), checking names, types and bounds.

        Raises:
            ConfigError: an unknown key, or a value refused (the message names
                ``-o CONFIG.KEY``, the value, what is expected and a value that passes).
        """
        config = cls.config_name
        fields = {f.name: f for f in dataclasses.fields(cls.Options)}
        kwargs: dict[str, Any] = {}
        for key, raw in values.items():
            if key not in fields:
                close = difflib.get_close_matches(str(key), list(fields), n=1)
                raise ConfigError(
                    f"{config}: unknown option {key!r} (-o {config}.{key}); options are: {', '.join(sorted(fields)) or 'none'}"
                    + (f". Did you mean -o {config}.{close[0]}=...?" if close else "")
                )
            kind = scalar_kind(fields[key].type)
            if isinstance(raw, str) and kind is not None:
                f = fields[key]
                default = f.default if f.default is not dataclasses.MISSING else None
                try:
                    raw = from_text(raw, *kind, key, f.metadata.get(BOUNDS), default)
                except ValueRefused as exc:
                    raise _option_refused(config, exc, raw) from None
            kwargs[key] = raw
        try:
            return cls.Options(**kwargs)
        except ValueRefused as exc:
            raise _option_refused(config, exc) from None
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{config}: {exc}") from exc


def _option_refused(config: str, exc: ValueRefused, raw: Any = None) -> ValueRefused:
    """``exc`` named as the command line names it: ``-o CONFIG.KEY``, with the fix ``-o CONFIG.KEY=VALUE``."""
    name = f"-o {config}.{exc.field}"

    def fix(value: Any) -> str:
        text = "none" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
        return f"{name}={text}"

    return exc.renamed(name, fix, value=exc.value if raw is None else raw)


@dataclass(frozen=True)
class Config:
    """One builder config of a source.

    Attributes:
        name: The config name (``data/<name>/`` in the output folder).
        builder: The builder class that plans it.
        default_build: Built by a plain ``dance-aggregate build`` when its source has a
            ``--data-dir`` (an opt-in config such as a ``*_motion`` one sets ``False``).
        in_all: Its rows go into the deduplicated ``all`` config (when its source has pixels).
    """

    name: str
    builder: type[SourceBuilder]
    default_build: bool = True
    in_all: bool = True

    @property
    def source(self) -> str:
        """The source the config is built from."""
        return self.builder.source

    @property
    def fetches_media(self) -> bool:
        """Whether its videos may be downloaded (fetch options apply)."""
        return self.builder.fetches


@dataclass
class SampleSource:
    """Where a source's generated sample lives and how to build it (what a sample maker
    returns).

    Attributes:
        config: The config the sample is built as.
        data_dir: The raw tree (``--data-dir``).
        video_dir: Its video mirror (``--video-dir``), if any.
        options: Options the sample is built with (``-o CONFIG.KEY=VALUE``).
    """

    config: str
    data_dir: Path
    video_dir: Path | None = None
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Source:
    """One public dataset and everything the project knows about it.

    Attributes:
        name: Source name (the ``source`` column, the ``--data-dir`` key).
        title: Display name.
        homepage: Where the source is distributed.
        license: Its terms, in words (shown in the card and ``LICENSE.md``).
        license_id: The Hub licence id closest to those terms (``other`` when none fits).
        citation: How to cite it, in words.
        bibtex: The same as BibTeX entries (the card's Citation section), one or more.
        has_pixels: Rows carry video (YouTube-8M rows carry features only).
        configs: The configs built from it.
        dedup_priority: When dedup finds equally good copies of a clip, the copy of the
            source with the lowest number is kept.
        crosswalk: Its part of the label crosswalk: source label strings -> canonical labels
            (``version``, ``labels``, ``exclude``, ``classes``; see ``taxonomy/taxonomy.yaml``
            and :mod:`.classlist`).
        make_sample: Writes its miniature raw tree under a folder and says how to build it.
        redistributable: Whether its media (video, audio, frames) may be published; when
            not, ``publish`` holds its config and its rows of ``all`` back.
        terms_url: Its terms of use, when using or downloading it needs them accepted
            (``--accept-terms <source>`` acknowledges them).
        terms_in_short: The terms in one line (the card, the publish dry run, the errors).
        multi_view: Rows of one ``group`` are views of one performance (cameras filming one
            take at once): dedup never takes them for copies of each other.
    """

    name: str
    title: str
    homepage: str
    license: str
    license_id: str
    citation: str
    has_pixels: bool
    configs: tuple[Config, ...]
    dedup_priority: int
    crosswalk: dict[str, Any]
    make_sample: Callable[[Path], SampleSource] | None = None
    redistributable: bool = True
    terms_url: str | None = None
    terms_in_short: str = ""
    multi_view: bool = False
    bibtex: str = ""

    def card_facts(self) -> dict[str, Any]:
        """Provenance and licence facts for the dataset card."""
        return {"name": self.title, "homepage": self.homepage, "license": self.license,
                "license_id": self.license_id, "citation": self.citation, "redistributable": self.redistributable,
                "terms_url": self.terms_url, "terms_in_short": self.terms_in_short, "bibtex": self.bibtex.strip()}


def load_crosswalk(package: str, name: str = "crosswalk.yaml") -> dict[str, Any]:
    """The crosswalk section shipped in a source package (``crosswalk.yaml`` beside its
    ``__init__``), parsed; its ``classes`` entry (a file of the package, see
    :mod:`.classlist`) replaced by the class names.

    Raises:
        TaxonomyError: the file is missing or not a mapping, or its class list cannot be read.
    """
    try:
        text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        raise TaxonomyError(f"{package}: no {name} ({exc})") from None
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise TaxonomyError(f"{package}/{name}: expected a mapping with version, labels and exclude")
    if data.get("classes") is not None:
        data["classes"] = read_class_list(package, data["classes"])
    return data


def layout_from_doc(doc: str | None) -> str:
    """The first literal block (the indented lines after ``::``) of a module docstring:
    builder modules document their raw layout as a tree there, and errors show it (so RST
    literals in it become plain quotes)."""
    if not doc or "::" not in doc:
        return ""
    lines = doc.split("::", 1)[1].splitlines()
    block: list[str] = []
    for line in lines[1:]:
        if line.strip() and not line.startswith("    "):
            break
        block.append(line)
    # Errors print it on a terminal: RST literals (````--video-dir X=PATH````) in plain quotes.
    return _RST_LITERAL.sub(r"'\1'", "\n".join(block).strip("\n"))


#: An RST inline literal, ````text````.
_RST_LITERAL = re.compile(r"``(.+?)``")
