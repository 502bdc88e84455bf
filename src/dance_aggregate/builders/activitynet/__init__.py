"""ActivityNet 1.3 (Caba Heilbron et al. 2015): dance segments of untrimmed YouTube videos.

- :mod:`.builder`: the official JSON (or the BSN copy) -> records, one per window of a
  segment (local cuts of mirror files, or remote cuts);
- :mod:`.sample`: the miniature ActivityNet of ``--sample``;
- ``crosswalk.yaml``: its class names (and the taxonomy nodes that hold dance) -> the shared labels.
"""

from dance_aggregate.builders.activitynet.builder import ActivityNetBuilder, ActivityNetOptions, spread_windows
from dance_aggregate.builders.activitynet.sample import make_sample
from dance_aggregate.builders.base import Config, Source, load_crosswalk

SOURCE = Source(
    name="activitynet",
    title="ActivityNet 1.3",
    homepage="http://activity-net.org/",
    license="annotations MIT (activitynet/ActivityNet repository); videos remain with their YouTube uploaders",
    license_id="mit",
    citation="Caba Heilbron, Escorcia, Ghanem, Niebles. ActivityNet: A Large-Scale Video Benchmark for Human "
    "Activity Understanding. CVPR 2015.",
    has_pixels=True,
    configs=(Config("activitynet", ActivityNetBuilder),),
    dedup_priority=20,
    crosswalk=load_crosswalk(__name__),
    make_sample=make_sample,
    bibtex="""
@inproceedings{caba2015activitynet,
  author    = {Caba Heilbron, Fabian and Escorcia, Victor and Ghanem, Bernard and Niebles, Juan Carlos},
  title     = {{ActivityNet}: A Large-Scale Video Benchmark for Human Activity Understanding},
  booktitle = {Proceedings of the IEEE Conference on Computer Vision and Pattern Recognition (CVPR)},
  pages     = {961--970},
  year      = {2015}
}
""",
)

__all__ = ["SOURCE", "ActivityNetBuilder", "ActivityNetOptions", "spread_windows"]
