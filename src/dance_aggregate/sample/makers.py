"""The embedded sample: miniature copies of each source in its real raw format.

``dance-aggregate build --sample`` needs no data: :func:`make_sample` generates, into a
cache folder, a small raw tree per source (same file names, formats and annotation files as
the real releases, media synthesised by :mod:`dance_aggregate.media.synth`), and the build
then runs every config over it.

Each source package contributes its ``make_sample(root) -> SampleSource`` (its
``sample.py``), declared in its :class:`~dance_aggregate.builders.base.Source`.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
import shutil
from pathlib import Path

from dance_aggregate import __version__
from dance_aggregate.builders import registry
from dance_aggregate.builders.base import SampleSource
from dance_aggregate.files.atomic import atomic_write_text
from dance_aggregate.media import synth

logger = logging.getLogger(__name__)


__all__ = ["SampleSource", "default_cache_dir", "make_sample", "sample_revision"]


def default_cache_dir() -> Path:
    """``$DANCE_AGGREGATE_CACHE`` or ``$XDG_CACHE_HOME/dance_aggregate`` (``~/.cache``)."""
    env = os.environ.get("DANCE_AGGREGATE_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "dance_aggregate"


def sample_revision() -> str:
    """A short hash of the code that writes the sample (this module, the media synthesiser
    and every source's sample maker): a cache made by another revision of the generator is
    never reused."""
    h = hashlib.sha1(__version__.encode())
    files = {Path(__file__), Path(inspect.getfile(synth))}
    files |= {Path(inspect.getfile(s.make_sample)) for s in registry.sources() if s.make_sample is not None}
    for path in sorted(files):
        h.update(path.read_bytes())
    return h.hexdigest()[:8]


def make_sample(cache_dir: Path | None = None, *, force: bool = False) -> list[SampleSource]:
    """Generate (once) the raw sample of every source into
    ``cache_dir/sample-<version>-<revision>``.

    Returns:
        One :class:`SampleSource` per config to build.
    """
    root = (cache_dir or default_cache_dir()) / f"sample-{__version__}-{sample_revision()}"
    out = []
    for source in registry.sources():
        name, maker = source.name, source.make_sample
        if maker is None:
            continue
        marker = root / f".{name}.done"
        if force and (root / name).exists():
            shutil.rmtree(root / name)
            marker.unlink(missing_ok=True)
        if marker.is_file() and not force:
            src = _read_marker(marker)
        else:
            if (root / name).exists():
                shutil.rmtree(root / name)
            logger.info("generating the %s sample in %s", name, root / name)
            src = maker(root)
            atomic_write_text(marker, _marker_text(src))
        out.append(src)
    return out


def _marker_text(src: SampleSource) -> str:
    import json

    return json.dumps(
        {
            "config": src.config,
            "data_dir": str(src.data_dir),
            "video_dir": str(src.video_dir) if src.video_dir else None,
            "options": src.options,
        }
    )


def _read_marker(path: Path) -> SampleSource:
    import json

    d = json.loads(path.read_text())
    return SampleSource(
        d["config"], Path(d["data_dir"]), Path(d["video_dir"]) if d["video_dir"] else None, d.get("options", {})
    )
