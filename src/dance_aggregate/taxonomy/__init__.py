"""The shared dance label schema: canonical labels, families and each source's crosswalk.

The data lives in ``taxonomy.yaml`` beside this file; :mod:`.labels` reads and checks it.
"""

from dance_aggregate.taxonomy.labels import MATCH_KINDS, MOTION_FAMILY, Label, Mapping, SourceCrosswalk, Taxonomy, load_taxonomy

__all__ = ["MATCH_KINDS", "MOTION_FAMILY", "Label", "Mapping", "SourceCrosswalk", "Taxonomy", "load_taxonomy"]
