"""YouTube-8M (Abu-El-Haija et al. 2016, the 2018 release): dance videos as features, no pixels.

- :mod:`.builder`: the vocabulary and TFRecord shards -> one feature-shard plan per shard,
  and the reader that turns a shard into rows;
- :mod:`.tfrecord`: the TensorFlow-free TFRecord reader (and writer, for the sample);
- :mod:`.sample`: the miniature YouTube-8M of ``--sample``;
- ``crosswalk.yaml``: its entity names -> the shared labels.
"""

from dance_aggregate.builders.base import Config, Source, load_crosswalk
from dance_aggregate.builders.youtube8m.builder import YouTube8MBuilder, YouTube8MOptions, shard_split
from dance_aggregate.builders.youtube8m.sample import make_sample

SOURCE = Source(
    name="youtube8m",
    title="YouTube-8M",
    homepage="https://research.google.com/youtube8m/",
    license="CC BY 4.0 (Google)",
    license_id="cc-by-4.0",
    citation="Abu-El-Haija, Kothari, Lee, Natsev, Toderici, Varadarajan, Vijayanarasimhan. YouTube-8M: A "
    "Large-Scale Video Classification Benchmark. arXiv:1609.08675, 2016.",
    has_pixels=False,
    configs=(Config("youtube8m", YouTube8MBuilder, in_all=False),),
    dedup_priority=50,
    crosswalk=load_crosswalk(__name__),
    make_sample=make_sample,
    bibtex="""
@article{abuelhaija2016youtube8m,
  author  = {Sami Abu-El-Haija and Nisarg Kothari and Joonseok Lee and Paul Natsev and George Toderici and Balakrishnan Varadarajan and Sudheendra Vijayanarasimhan},
  title   = {{YouTube-8M}: A Large-Scale Video Classification Benchmark},
  journal = {arXiv preprint arXiv:1609.08675},
  year    = {2016}
}
""",
)

__all__ = ["SOURCE", "YouTube8MBuilder", "YouTube8MOptions", "shard_split"]
