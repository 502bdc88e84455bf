"""The shared dance label schema: canonical labels, families and each source's crosswalk.

The data lives in ``taxonomy.yaml`` beside this file; :mod:`.labels` reads and checks it.
"""

from dance_aggregate.taxonomy.labels import (
    DANCE_ROOT,
    MATCH_KINDS,
    MOTION_FAMILY,
    NOT_DANCE,
    UNKNOWN_CLASS,
    Label,
    Mapping,
    SourceCrosswalk,
    Taxonomy,
    load_taxonomy,
    normalize_label,
)

__all__ = ["DANCE_ROOT", "MATCH_KINDS", "MOTION_FAMILY", "NOT_DANCE", "UNKNOWN_CLASS", "Label", "Mapping", "SourceCrosswalk", "Taxonomy", "load_taxonomy", "normalize_label"]
