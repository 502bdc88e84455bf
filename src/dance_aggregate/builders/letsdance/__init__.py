"""Let's Dance (Castro et al. 2018): JPEG frame sequences of 16 dance classes, encoded into clips.

- :mod:`.builder`: the frame tree -> records (each a run of frames);
- :mod:`.tree`: the frame tree, from a folder or the release zip (names only);
- :mod:`.splits`: the published split lists, or a hash split;
- :mod:`.sample`: the miniature frame tree of ``--sample``;
- ``crosswalk.yaml``: its class folders -> the shared labels.
"""

from dance_aggregate.builders.base import Config, Source, load_crosswalk
from dance_aggregate.builders.letsdance.builder import LetsDanceBuilder, LetsDanceOptions, parse_frame_name, start_seconds
from dance_aggregate.builders.letsdance.sample import make_sample
from dance_aggregate.builders.letsdance.splits import ListedClip, hash_split, read_split_lists

SOURCE = Source(
    name="letsdance",
    title="Let's Dance",
    homepage="https://www.cc.gatech.edu/cpl/projects/dance/",
    license="research use (Georgia Tech); frames from YouTube videos",
    license_id="other",
    citation="Castro, Hickson, Sangkloy, Mittal, Dai, Hays, Essa. Let's Dance: Learning From Online Dance Videos. "
    "arXiv:1801.07388, 2018.",
    has_pixels=True,
    configs=(Config("letsdance", LetsDanceBuilder),),
    # Frames only (no audio): the copy dropped first when dedup finds equals.
    dedup_priority=40,
    crosswalk=load_crosswalk(__name__),
    make_sample=make_sample,
    bibtex="""
@article{castro2018letsdance,
  author  = {Daniel Castro and Steven Hickson and Patsorn Sangkloy and Bhavishya Mittal and Sean Dai and James Hays and Irfan Essa},
  title   = {Let's Dance: Learning From Online Dance Videos},
  journal = {arXiv preprint arXiv:1801.07388},
  year    = {2018}
}
""",
)

__all__ = ["SOURCE", "LetsDanceBuilder", "LetsDanceOptions", "ListedClip", "hash_split", "parse_frame_name", "read_split_lists", "start_seconds"]
