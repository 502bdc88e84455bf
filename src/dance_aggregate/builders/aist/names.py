"""Official AIST Dance DB video names and AIST++ sequence names, read field by field.

Grammar (``shared/data/real/aist/FORMAT.md`` section 1; P1 is AIST's "Data Formats" page,
P2 the ISMIR 2019 paper)::

    genre video      g{GENRE}_s{SITUATION}_c{CAMERA}_d{DANCER}_m{GENRE}{TEMPO}_ch{CHOREO}[.mp4]
                     gBR_sBM_c01_d04_mBR0_ch01.mp4
    group dance      three dancers (sGR, P1)               gBR_sGR_c01_d01_d02_d03_mBR3_ch04.mp4
    situation video  s{SH|CY|BT}_c{CAMERA}[_d{DANCER}...]_v{VARIATION}[.mp4]
                     sSH_c01_v0.mp4   (no genre prefix, P1)
    AIST++ sequence  the camera field is ``cAll``: all views of one take
                     gBR_sBM_cAll_d04_mBR0_ch01

Values: ``GENRES`` (the ten codes of AIST++ ``categ2name.json``), ``SITUATIONS``, cameras
``c01``-``c09`` (P2: at most 9 cameras), dancers ``d01``-``d40`` (P2: 40 dancers), music
``m{GENRE}{0-5}`` (P2: six pieces per genre; the digit is the tempo index, whose BPM is not
documented), choreographies ``ch01``-``ch99`` (AIST++ uses ch01-ch10 in sBM, ch01-ch21 in
sFM), variations ``v0``-``v99``. Dancer counts: one in sBM and sFM, three in sGR (P1), one or
three in sBA (met only in P1's examples, never in a real list), none to ten in situation
videos. **Partly confirmed**: P1 says situation names carry "participating dancers", but
its only example (``sSH_c01_v0``) has none; battles probably name two (``sBT_c01_d21_d31_v5``),
and situation videos may use cameras other than c01 (P2's counts). Both forms are accepted.
The moving-camera videos' situation code is not documented: an unknown code is refused.

Every name is either read whole or refused with :class:`~dance_aggregate.errors.RecordError`
(reason :data:`UNREADABLE_NAME`, or :data:`UNKNOWN_CODE` for a well-formed but unknown
genre or situation code), the message naming the value and the grammar. Only ASCII
letters, digits and ``_`` are read (``\\d`` would also take Unicode digits); a path, an
extension other than one ``.mp4``, whitespace, a control character or a name over
:data:`MAX_NAME_LENGTH` characters is refused, so a name that parses is safe in a path.

The **performance** is the AIST++ sequence (:attr:`AistName.sequence`): the name with its
camera set to ``cAll``, all camera views of one take. In the AIST++ list each (genre,
situation, dancer, music, choreography) is filmed once (12,670 names, 1,408 sequences), so
repeats of the same dancer, music and choreography are that same sequence;
:attr:`AistName.group` is the sequence with its dancers in sorted order (the same string
for solo names), the unit that never straddles splits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from dance_aggregate.builders.annotations import display_id
from dance_aggregate.errors import RecordError

#: Reason of a name that does not follow the grammar.
UNREADABLE_NAME = "unreadable name"
#: Reason of a well-formed name with a genre, situation or music code AIST does not use.
UNKNOWN_CODE = "unknown code"

#: Genre code -> name, as AIST++ ``visualizer/categ2name.json`` spells it (the ``source_label``).
GENRES: dict[str, str] = {
    "gBR": "Break",
    "gPO": "Pop",
    "gLO": "Lock",
    "gWA": "Waack",
    "gMH": "Middle Hip-hop",
    "gLH": "LA style Hip-hop",
    "gHO": "House",
    "gKR": "Krump",
    "gJS": "Street Jazz",
    "gJB": "Ballet Jazz",
}
#: Situation code -> meaning. sBM/sFM: the third-party summary of P1 and every AIST++ name;
#: sGR/sSH/sCY/sBT: P1; sBA: only in P1's examples, meaning not documented.
SITUATIONS: dict[str, str] = {
    "sBM": "Basic Dance",
    "sFM": "Advanced Dance",
    "sGR": "Group Dance",
    "sBA": "sBA (undocumented)",
    "sSH": "Showcase",
    "sCY": "Cypher",
    "sBT": "Battle",
}
#: Situations of genre videos and their allowed dancer counts.
GENRE_SITUATION_DANCERS: dict[str, tuple[int, ...]] = {"sBM": (1,), "sFM": (1,), "sGR": (3,), "sBA": (1, 3)}
#: Situations of the genre-less situation videos (showcase, cypher, battle).
SITUATION_VIDEOS = ("sSH", "sCY", "sBT")
#: The situations AIST++ annotates (its 1,408 sequences are all sBM or sFM).
AISTPP_SITUATIONS = ("sBM", "sFM")
#: The camera field of an AIST++ sequence name.
ALL_CAMERAS = "cAll"
#: Most dancers a situation video may name (P1 lists ten showcase and cypher dancers).
MAX_SITUATION_DANCERS = 10
#: Longest name read (the longest valid one is under 70 characters).
MAX_NAME_LENGTH = 120
#: Cameras, dancers and tempo indices P2 documents.
CAMERA_RANGE, DANCER_RANGE, TEMPO_RANGE = (1, 9), (1, 40), (0, 5)

EXPECTED = (
    "an official AIST name, g{GENRE}_s{SITUATION}_c{01-09}_d{01-40}_m{GENRE}{0-5}_ch{NN} "
    "(e.g. gBR_sBM_c01_d04_mBR0_ch01.mp4; sGR names have three dancers, d01_d02_d03) "
    "or s{SH|CY|BT}_c{01-09}[_d{NN}...]_v{N} (e.g. sSH_c01_v0.mp4); an AIST++ sequence name has the camera cAll "
    "and no extension (gBR_sBM_cAll_d04_mBR0_ch01)"
)

_SAFE = re.compile(r"[A-Za-z0-9_.]+")
_FIELD = re.compile(r"[A-Za-z0-9]+")
_CODE = re.compile(r"[gs][A-Z]{2}")
_CAMERA = re.compile(r"c([0-9]{2})")
_DANCER = re.compile(r"d([0-9]{2})")
_MUSIC = re.compile(r"m([A-Z]{2})([0-9])")
_CHOREO = re.compile(r"ch([0-9]{2})")
_VARIATION = re.compile(r"v(0|[1-9][0-9]?)")


@dataclass(frozen=True)
class AistName:
    """Every field of one official name.

    Attributes:
        situation: Situation code (``sBM``); see :data:`SITUATIONS`.
        camera: ``c01``-``c09``, or ``cAll`` in an AIST++ sequence name.
        dancers: Dancer ids in the order of the name (``("d04",)``; three in sGR).
        genre: Genre code (``gBR``), ``None`` for a situation video.
        music: Music code (``mBR0``), ``None`` for a situation video.
        music_genre: The genre code of the music (``gBR``), ``None`` for a situation video.
        tempo_index: The music's tempo index 0-5 (its BPM is not documented).
        choreography: ``ch01``..., ``None`` for a situation video.
        variation: ``v0``... of a situation video, else ``None``.
    """

    situation: str
    camera: str
    dancers: tuple[str, ...]
    genre: str | None = None
    music: str | None = None
    music_genre: str | None = None
    tempo_index: int | None = None
    choreography: str | None = None
    variation: str | None = None

    @property
    def stem(self) -> str:
        """The name as AIST writes it, without ``.mp4``."""
        return self._stem(self.camera, self.dancers)

    def _stem(self, camera: str, dancers: tuple[str, ...]) -> str:
        if self.genre is None:
            return "_".join((self.situation, camera, *dancers, str(self.variation)))
        return "_".join((self.genre, self.situation, camera, *dancers, str(self.music), str(self.choreography)))

    @property
    def file_name(self) -> str:
        """The video's file name (``<stem>.mp4``)."""
        return f"{self.stem}.mp4"

    @property
    def is_sequence(self) -> bool:
        """Whether this is an AIST++ sequence name (camera ``cAll``) rather than one view."""
        return self.camera == ALL_CAMERAS

    @property
    def is_situation_video(self) -> bool:
        """Whether this is a showcase, cypher or battle video (no genre)."""
        return self.genre is None

    @property
    def sequence(self) -> str:
        """The performance: the AIST++ sequence name, all camera views of this take."""
        return self._stem(ALL_CAMERAS, self.dancers)

    @property
    def group(self) -> str:
        """The split group: :attr:`sequence` with the dancers sorted (equal for solo names)."""
        return self._stem(ALL_CAMERAS, tuple(sorted(self.dancers)))

    def with_camera(self, camera: str) -> AistName:
        """The same take seen from ``camera`` (``c01``...; AIST++'s ``seq.replace('cAll', view)``).

        Raises:
            RecordError: ``camera`` is not ``c01``-``c09``.
        """
        _camera(camera, self.stem, sequence=False)
        return replace(self, camera=camera)


def parse_video_name(text: object) -> AistName:
    """Read the name of one AIST video (a file name, ``.mp4`` optional).

    Args:
        text: The name, e.g. ``gBR_sBM_c01_d04_mBR0_ch01.mp4`` (not a path).

    Raises:
        RecordError: ``unreadable name`` or ``unknown code``; the message shows the name and
            the grammar.
    """
    return _parse(text, sequence=False)


def parse_sequence_name(text: object) -> AistName:
    """Read an AIST++ sequence name (camera ``cAll``, no extension), as in the split lists.

    Raises:
        RecordError: ``unreadable name`` or ``unknown code`` (a single view's name, such as
            ``..._c01_...``, is not a sequence name).
    """
    return _parse(text, sequence=True)


def _fail(text: str, problem: str, reason: str = UNREADABLE_NAME) -> RecordError:
    return RecordError(f"AIST name {display_id(text)!r}: {problem}; expected {EXPECTED}", reason)


def _parse(text: object, *, sequence: bool) -> AistName:
    if not isinstance(text, str):
        raise RecordError(f"AIST name {text!r:.80} is not text; expected {EXPECTED}", UNREADABLE_NAME)
    if not text:
        raise _fail(text, "empty")
    if len(text) > MAX_NAME_LENGTH:
        raise _fail(text, f"{len(text)} characters, longer than any AIST name ({MAX_NAME_LENGTH} at most)")
    if "/" in text or "\\" in text:
        raise _fail(text, "a path, not a name: give the file name alone")
    if not _SAFE.fullmatch(text):
        raise _fail(text, "has characters other than ASCII letters, digits, '_' and '.' (whitespace, control, non-ASCII)")
    stem = text
    if not sequence and stem[-4:].lower() == ".mp4":
        stem = stem[:-4]
    if not stem:
        raise _fail(text, "an extension and no name")
    if "." in stem:
        raise _fail(text, "a sequence name has no extension" if sequence else "the only extension read is one .mp4")
    fields = stem.split("_")
    bad = next((f for f in fields if not _FIELD.fullmatch(f)), None)
    if bad is not None:
        raise _fail(text, "an empty field (two '_' in a row, or one at an end)" if not bad else f"field {bad!r} is not letters and digits")
    if not _CODE.fullmatch(fields[0]):
        raise _fail(text, f"starts with {fields[0]!r}, neither a genre (gBR...) nor a situation (sSH, sCY, sBT)")
    name = _genre_name(text, fields, sequence) if fields[0][0] == "g" else _situation_name(text, fields, sequence)
    if name.is_sequence != sequence:
        if sequence:
            raise _fail(text, f"the camera is {name.camera}: the name of one view, not of an AIST++ sequence")
        raise _fail(text, "the camera is cAll: an AIST++ sequence name, not the name of a video")
    return name


def _genre_name(text: str, fields: list[str], sequence: bool) -> AistName:
    genre, situation = fields[0], fields[1]
    if genre not in GENRES:
        raise _fail(text, f"genre {genre!r} is not one of AIST's {sorted(GENRES)}", UNKNOWN_CODE)
    if len(fields) < 6:
        raise _fail(text, f"{len(fields)} fields, a genre video has at least 6")
    if not _CODE.fullmatch(situation) or situation[0] != "s":
        raise _fail(text, f"field 2 {situation!r} is not a situation (sBM, sFM, sGR...)")
    if situation not in SITUATIONS:
        raise _fail(
            text,
            f"situation {situation!r} is not one AIST documents ({sorted(SITUATIONS)}; the moving camera's code is "
            f"unknown: add it to SITUATIONS in dance_aggregate/builders/aist/names.py once confirmed)",
            UNKNOWN_CODE,
        )
    if situation in SITUATION_VIDEOS:
        raise _fail(text, f"{situation} videos have no genre prefix (sSH_c01_v0)")
    allowed = GENRE_SITUATION_DANCERS[situation]
    if len(fields) - 5 not in allowed:
        counts = " or ".join(str(5 + n) for n in allowed)
        raise _fail(text, f"{len(fields)} fields; {situation} names have {counts} ({' or '.join(map(str, allowed))} dancer(s))")
    camera = _camera(fields[2], text, sequence)
    music, choreo = fields[-2], fields[-1]
    dancers = _dancers(fields[3:-2], text)
    m = _MUSIC.fullmatch(music)
    if not m:
        raise _fail(text, f"field {len(fields) - 1} {music!r} is not a music code m{{GENRE}}{{0-5}} (mBR0)")
    music_genre = f"g{m[1]}"
    if music_genre not in GENRES:
        raise _fail(text, f"music {music!r} names genre {m[1]!r}, not one of AIST's", UNKNOWN_CODE)
    tempo = int(m[2])
    if not TEMPO_RANGE[0] <= tempo <= TEMPO_RANGE[1]:
        raise _fail(text, f"music {music!r} has tempo index {tempo}; AIST has six pieces per genre, 0-5")
    c = _CHOREO.fullmatch(choreo)
    if not c or c[1] == "00":
        raise _fail(text, f"last field {choreo!r} is not a choreography ch01-ch99")
    return AistName(situation, camera, dancers, genre, music, music_genre, tempo, choreo)


def _situation_name(text: str, fields: list[str], sequence: bool) -> AistName:
    situation = fields[0]
    if situation not in SITUATIONS:
        raise _fail(text, f"situation {situation!r} is not one AIST documents ({sorted(SITUATIONS)})", UNKNOWN_CODE)
    if situation not in SITUATION_VIDEOS:
        raise _fail(text, f"{situation} videos start with their genre (gBR_{situation}_...)")
    if len(fields) < 3:
        raise _fail(text, f"{len(fields)} fields, a situation video has at least 3 (sSH_c01_v0)")
    camera = _camera(fields[1], text, sequence)
    dancers = _dancers(fields[2:-1], text)
    if len(dancers) > MAX_SITUATION_DANCERS:
        raise _fail(text, f"{len(dancers)} dancers, more than the {MAX_SITUATION_DANCERS} AIST lists for a situation video")
    if not _VARIATION.fullmatch(fields[-1]):
        raise _fail(text, f"last field {fields[-1]!r} is not a variation v0-v99")
    return AistName(situation, camera, dancers, variation=fields[-1])


def _camera(field: str, text: str, sequence: bool) -> str:
    if field == ALL_CAMERAS:
        return field
    m = _CAMERA.fullmatch(field)
    if not m or not CAMERA_RANGE[0] <= int(m[1]) <= CAMERA_RANGE[1]:
        raise _fail(text, f"camera {field!r} is not c01-c09 (P2: at most 9 cameras){' or cAll' if sequence else ''}")
    return field


def _dancers(fields: list[str], text: str) -> tuple[str, ...]:
    for field in fields:
        m = _DANCER.fullmatch(field)
        if not m or not DANCER_RANGE[0] <= int(m[1]) <= DANCER_RANGE[1]:
            raise _fail(text, f"field {field!r} is not a dancer d01-d40 (P2: 40 dancers)")
    if len(set(fields)) != len(fields):
        raise _fail(text, f"a dancer is named twice in {fields}")
    return tuple(fields)
