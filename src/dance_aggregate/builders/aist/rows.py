"""What an AIST row carries besides its media: its ``source_label`` and its ``performance``.

One row is one whole video (one camera view of one performance); ``docs/aist.md`` has the
figures behind that choice. The AIST fields travel in the shared struct column ``performance``
(``None`` in the rows of sources that do not film performances), so every config gains one
column, not six:

===============  ================  =====================================================
field            type              value
===============  ================  =====================================================
``sequence``     string            the performance: the AIST++ sequence name (``cAll``),
                                   the key of AIST++'s ``motions/``, ``keypoints2d/`` and
                                   ``keypoints3d/`` files
``situation``    string            ``sBM`` basic, ``sFM`` advanced, ``sGR`` group,
                                   ``sSH``/``sCY``/``sBT`` showcase, cypher, battle
``camera``       string            ``c01``-``c09``
``dancers``      list of string    ``["d04"]``; three in sGR; as the name gives them
``music``        string            ``mBR0`` (genre letters + tempo index); ``None`` for a
                                   situation video
``choreography`` string            ``ch01``; ``None`` for a situation video
===============  ================  =====================================================
"""

from __future__ import annotations

from typing import Any

from dance_aggregate.builders.aist.names import GENRES, SITUATIONS, AistName

#: The ``performance`` struct: field -> ``datasets`` dtype (``list<string>``: a list of ``Value("string")``).
PERFORMANCE_FIELDS: dict[str, str] = {
    "sequence": "string",
    "situation": "string",
    "camera": "string",
    "dancers": "list<string>",
    "music": "string",
    "choreography": "string",
}


def source_label(name: AistName) -> str:
    """The row's ``source_label``: the genre's name as AIST++ ``categ2name.json`` spells it
    (``Break``, ``LA style Hip-hop``...), or for a showcase, cypher or battle video (which has
    no genre) the situation's name (``Showcase``, ``Cypher``, ``Battle``)."""
    return GENRES[name.genre] if name.genre is not None else SITUATIONS[name.situation]


def performance(name: AistName) -> dict[str, Any]:
    """The row's ``performance`` struct (keys and order of :data:`PERFORMANCE_FIELDS`), JSON-able."""
    return {
        "sequence": name.sequence,
        "situation": name.situation,
        "camera": name.camera,
        "dancers": list(name.dancers),
        "music": name.music,
        "choreography": name.choreography,
    }
