"""The media API the builders use: cut source videos and encode frames into clips.

Clips are H.264 (yuv420p) + AAC MP4s with ``+faststart`` (they play in browsers and the
Hub viewer), with the audio also as FLAC and perceptual fingerprints computed while
encoding, so no clip is decoded twice. The work is split by job:

- :mod:`.cut`: frame-exact cuts, every window of one source in one decoding pass
  (:func:`cut_windows`, :func:`cut_and_encode`), and what happens when the media is
  shorter than the range or damaged;
- :mod:`.encode`: :class:`EncodeOptions`, :class:`EncodedClip`, the MP4 writer,
  :func:`encode_frames` for frame sequences;
- :mod:`.audio`: the audio of a cut, FLAC bytes;
- :mod:`.avlog`: FFmpeg's warnings logged with the record they belong to.
"""

from __future__ import annotations

from dance_aggregate.media.audio import flac_bytes
from dance_aggregate.media.cut import Window, cut_and_encode, cut_windows
from dance_aggregate.media.encode import ClipWriter, EncodedClip, EncodeOptions, encode_frames, target_size

__all__ = [
    "ClipWriter",
    "EncodeOptions",
    "EncodedClip",
    "Window",
    "cut_and_encode",
    "cut_windows",
    "encode_frames",
    "flac_bytes",
    "target_size",
]
