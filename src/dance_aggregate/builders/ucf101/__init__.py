"""UCF101 (Soomro et al. 2012): its dance classes, re-encoded with their audio.

- :mod:`.builder`: the split lists -> records (each a local cut of its AVI);
- :mod:`.sample`: the miniature UCF101 tree of ``--sample``;
- ``crosswalk.yaml``: its class names -> the shared labels.
"""

from dance_aggregate.builders.base import Config, Source, load_crosswalk
from dance_aggregate.builders.ucf101.builder import UCF101Builder, UCF101Options
from dance_aggregate.builders.ucf101.sample import make_sample

SOURCE = Source(
    name="ucf101",
    title="UCF101",
    homepage="https://www.crcv.ucf.edu/data/UCF101.php",
    license="research use (released by UCF CRCV, no explicit licence)",
    license_id="other",
    citation="Soomro, Zamir, Shah. UCF101: A Dataset of 101 Human Actions Classes From Videos in The Wild. "
    "CRCV-TR-12-01, 2012.",
    has_pixels=True,
    configs=(Config("ucf101", UCF101Builder),),
    dedup_priority=30,
    crosswalk=load_crosswalk(__name__),
    make_sample=make_sample,
    bibtex="""
@techreport{soomro2012ucf101,
  author      = {Khurram Soomro and Amir Roshan Zamir and Mubarak Shah},
  title       = {{UCF101}: A Dataset of 101 Human Actions Classes From Videos in The Wild},
  institution = {Center for Research in Computer Vision, University of Central Florida},
  number      = {CRCV-TR-12-01},
  year        = {2012},
  month       = nov,
  note        = {arXiv:1212.0402}
}
""",
)

__all__ = ["SOURCE", "UCF101Builder", "UCF101Options"]
