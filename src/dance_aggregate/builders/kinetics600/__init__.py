"""Kinetics-600 (Carreira et al. 2018): its 20 dance classes, fetched from YouTube or a mirror.

- :mod:`.builder`: the CSV/JSON lists -> records (local cuts of mirror files, or remote cuts);
  ``kinetics600_motion`` holds the non-dance body-motion classes (opt-in);
- :mod:`.sample`: the miniature Kinetics-600 of ``--sample``;
- ``crosswalk.yaml``: its class names -> the shared labels.
"""

from dance_aggregate.builders.base import Config, Source, load_crosswalk
from dance_aggregate.builders.kinetics600.builder import (
    Kinetics600Builder,
    Kinetics600MotionBuilder,
    KineticsBuilder,
    KineticsOptions,
)
from dance_aggregate.builders.kinetics600.sample import make_sample

SOURCE = Source(
    name="kinetics600",
    title="Kinetics-600",
    homepage="https://github.com/google-deepmind/kinetics-i3d",
    license="annotations CC BY 4.0 (DeepMind); videos remain with their YouTube uploaders",
    license_id="cc-by-4.0",
    citation="Carreira, Noland, Banki-Horvath, Hillier, Zisserman. A Short Note about Kinetics-600. "
    "arXiv:1808.01340, 2018.",
    has_pixels=True,
    configs=(
        Config("kinetics600", Kinetics600Builder),
        # The non-dance body-motion classes: opt-in, never part of `all`.
        Config("kinetics600_motion", Kinetics600MotionBuilder, default_build=False, in_all=False),
    ),
    # Kinetics clips are trimmed to the labelled action: the copy kept when dedup finds equals.
    dedup_priority=10,
    crosswalk=load_crosswalk(__name__),
    make_sample=make_sample,
    bibtex="""
@article{carreira2018kinetics600,
  author  = {Jo{\\~a}o Carreira and Eric Noland and Andras Banki-Horvath and Chloe Hillier and Andrew Zisserman},
  title   = {A Short Note about {Kinetics-600}},
  journal = {arXiv preprint arXiv:1808.01340},
  year    = {2018}
}
""",
)

__all__ = ["SOURCE", "Kinetics600Builder", "Kinetics600MotionBuilder", "KineticsBuilder", "KineticsOptions"]
