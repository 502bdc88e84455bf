"""Digital silence: an audio track that holds no sound.

YouTube replaces the music of a video it has muted after a copyright claim with digital
silence, so many dance videos keep an audio track of zeros. A clip's audio is *digital
silence* when no sample of it survives the dataset's 16-bit FLAC: its peak over the whole
clip is at most half a 16-bit step, :data:`SILENCE_PEAK` (-96.3 dBFS). Such a clip is
stored with ``has_audio`` false, no ``audio`` and no audio track in its MP4, and listed in
the config's report (:data:`DIGITAL_SILENCE`).

Why this threshold (figures in ``docs/audio.md``, printed by
``python scripts/silence_levels.py``): digital silence encoded as AAC, Opus, MP3 or FLAC
decodes to exact zeros; residue below 16 bits decodes to peaks of -107 dBFS or less; the
quietest real sound measured (a -90 dBFS tone) decodes to peaks of -90.4 dBFS or more,
and 16-bit dither to -90.3 dBFS or more. Dither is kept as sound: by level it cannot be
told from a quiet tone, and a clip wrongly stored without audio loses it for good.

The peak is taken over the samples already decoded for the clip's audio, so detection
costs no decoding of its own; a clip silent for only part of its length is sound.
"""

from __future__ import annotations

import math

import numpy as np

#: Largest peak (linear, full scale 1.0) of digital silence: half a 16-bit step, the
#: level at or below which every sample of the FLAC column rounds to 0.
SILENCE_PEAK = 2.0**-16
#: :data:`SILENCE_PEAK` in dBFS (-96.33).
SILENCE_PEAK_DBFS = 20.0 * math.log10(SILENCE_PEAK)
#: The report's reason for a clip whose audio track is digital silence.
DIGITAL_SILENCE = "digital silence"
#: The report's reason for a clip whose source has an audio track with no samples in
#: the clip's range (a track that exists but has no packets there).
NO_AUDIO_SAMPLES = "no audio samples"


def peak(samples: np.ndarray) -> float:
    """The largest absolute sample value (0.0 for no samples; NaN when a sample is NaN)."""
    if samples.size == 0:
        return 0.0
    return float(np.max(np.abs(samples)))


def dbfs(level: float) -> float:
    """A linear level (full scale 1.0) in dBFS; ``-inf`` for 0."""
    return 20.0 * math.log10(level) if level > 0 else -math.inf


def is_silent(level: float) -> bool:
    """Whether a clip whose audio peaks at ``level`` (linear) is digital silence."""
    return level <= SILENCE_PEAK
