"""The AIST Dance Video Database (Tsuchida et al., ISMIR 2019) and AIST++'s lists (Li et al. 2021).

- :mod:`.names`: every form of an official video name, parsed (or refused with its reason);
- :mod:`.splits`: the AIST++ cross-modal split lists and ignore list, the documented rule
  without them, groups (all views and repeats of one performance);
- :mod:`.rows`: a row's ``source_label`` and ``performance``;
- :mod:`.builder`: the local copy (and the video list) -> records, one whole video each;
- :mod:`.sample`: a miniature copy of ``--sample``, names from the real AIST++ list;
- ``crosswalk.yaml``: the genres (and situations) -> the shared labels.

Its media may not be redistributed (AIST's terms): ``publish`` holds them back.
"""

from dance_aggregate.builders.aist.builder import TERMS_URL, AistBuilder, AistOptions
from dance_aggregate.builders.aist.sample import make_sample
from dance_aggregate.builders.base import Config, Source, load_crosswalk

SOURCE = Source(
    name="aist",
    title="AIST Dance Video Database",
    homepage="https://aistdancedb.ongaaccel.jp/",
    license="AIST Dance Video Database terms of use: academic research only; no redistribution of the videos or "
    "music without AIST's written authorisation (as public notes quote them; read the terms)",
    license_id="other",
    citation="Tsuchida, Fukayama, Hamasaki, Goto. AIST Dance Video Database: Multi-genre, Multi-dancer, and "
    "Multi-camera Database for Dance Information Processing. ISMIR 2019. (AIST++: Li, Yang, Ross, Kanazawa. "
    "AI Choreographer: Music Conditioned 3D Dance Generation with AIST++. ICCV 2021.)",
    has_pixels=True,
    configs=(Config("aist", AistBuilder),),
    # Studio recordings with clean music: kept over another source's copy of equal quality.
    dedup_priority=15,
    crosswalk=load_crosswalk(__name__),
    make_sample=make_sample,
    redistributable=False,
    terms_url=TERMS_URL,
    terms_in_short="academic research only; the videos and music may not be redistributed without AIST's authorisation",
    # Up to nine cameras film each take: its views are one group, never duplicates.
    multi_view=True,
    bibtex="""
@inproceedings{tsuchida2019aist,
  author    = {Shuhei Tsuchida and Satoru Fukayama and Masahiro Hamasaki and Masataka Goto},
  title     = {{AIST} Dance Video Database: Multi-genre, Multi-dancer, and Multi-camera Database for Dance Information Processing},
  booktitle = {Proceedings of the 20th International Society for Music Information Retrieval Conference ({ISMIR} 2019)},
  address   = {Delft, Netherlands},
  year      = {2019},
  month     = nov
}

@inproceedings{li2021aistpp,
  author    = {Ruilong Li and Shan Yang and David A. Ross and Angjoo Kanazawa},
  title     = {{AI} Choreographer: Music Conditioned {3D} Dance Generation with {AIST++}},
  booktitle = {Proceedings of the IEEE/CVF International Conference on Computer Vision (ICCV)},
  pages     = {13401--13412},
  year      = {2021}
}
""",
)

__all__ = ["SOURCE", "AistBuilder", "AistOptions"]
