"""Kinetics-700-2020 (Smaira et al. 2020): its 22 dance classes, fetched from YouTube or a mirror.

- :mod:`.builder`: the release's CSV/JSON lists -> records, through the Kinetics parser of
  :mod:`dance_aggregate.builders.kinetics600` (the layouts are the same);
- :mod:`.sample`: the miniature Kinetics-700 of ``--sample``;
- ``crosswalk.yaml``: its class names -> the shared labels.
"""

from dance_aggregate.builders.base import Config, Source, load_crosswalk
from dance_aggregate.builders.kinetics700.builder import Kinetics700Builder
from dance_aggregate.builders.kinetics700.sample import make_sample

SOURCE = Source(
    name="kinetics700",
    title="Kinetics-700-2020",
    # CVDF's repository, not DeepMind's Kinetics page: its README gives the official URLs of
    # the 2020 lists (700_2020/annotations/{train,val,test}.csv) and of the copy of the videos
    # CVDF hosts (clips vanish from YouTube), and links DeepMind's page for the papers.
    homepage="https://github.com/cvdfoundation/kinetics-dataset",
    license="annotations CC BY 4.0 (DeepMind); videos remain with their YouTube uploaders",
    license_id="cc-by-4.0",
    citation="Smaira, Carreira, Noland, Clancy, Wu, Zisserman. A Short Note on the Kinetics-700-2020 Human "
    "Action Dataset. arXiv:2010.10864, 2020.",
    bibtex="""@article{smaira2020kinetics700,
  author  = {Lucas Smaira and Jo{\\~a}o Carreira and Eric Noland and Ellen Clancy and Amy Wu and Andrew Zisserman},
  title   = {A Short Note on the {Kinetics-700-2020} Human Action Dataset},
  journal = {arXiv preprint arXiv:2010.10864},
  year    = {2020}
}""",
    has_pixels=True,
    # No motion config: the body-motion classes are excluded as non-dance.
    configs=(Config("kinetics700", Kinetics700Builder),),
    # After Kinetics-600 (10): Kinetics-700 reuses most Kinetics-600 videos and segments, and
    # of two equally good copies `all` keeps the Kinetics-600 row, so a row already in `all`
    # keeps its id when Kinetics-700 is added (its copy's id goes to `duplicate_ids`). Before
    # ActivityNet (20): a Kinetics clip is trimmed to the labelled action.
    dedup_priority=15,
    crosswalk=load_crosswalk(__name__),
    make_sample=make_sample,
)

__all__ = ["SOURCE", "Kinetics700Builder"]
