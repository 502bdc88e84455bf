"""YouTube-8M feature columns back to the floats the YouTube-8M starter code reads.

The ``youtube8m`` config stores frame-level features as the release does: one uint8 vector
per second (``frame_rgb``: 1024 bytes, ``frame_audio``: 128 bytes), a quarter of the bytes of
float32. The starter code (``readers.py``) turns them into floats with ``utils.Dequantize``:
``x * 4/255 + 4/512 - 2`` for features quantised over [-2, 2]; :func:`dequantize` does the
same in float32, so the values are bit-identical to the starter code's. Video-level
``mean_rgb``/``mean_audio`` are stored as float32 already (the release stores them so)::

    from datasets import load_dataset
    from dance_aggregate.training.features import frame_features

    ds = load_dataset("/path/to/dance_aggregate", "youtube8m", split="train").with_format("numpy")
    rgb, audio = frame_features(ds[0])      # float32 (seconds, 1024) and (seconds, 128)

The audio features are the release's embedding of the soundtrack (not sound): YouTube-8M
rows have ``audio`` null and ``has_audio`` false.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dance_aggregate.quantize import QUANT_MAX, QUANT_MIN
from dance_aggregate.quantize import dequantize as _dequantize

__all__ = ["QUANT_MAX", "QUANT_MIN", "dequantize", "frame_features"]


def dequantize(
    values: np.ndarray | Sequence[Sequence[int]] | Sequence[bytes] | None,
    max_value: float = QUANT_MAX,
    min_value: float = QUANT_MIN,
) -> np.ndarray | None:
    """Quantised YouTube-8M features (a ``frame_rgb`` / ``frame_audio`` cell) as float32.

    Args:
        values: The cell: a uint8 array ``(seconds, dim)``, nested lists of ints (what
            ``datasets`` returns in its Python format), or one ``bytes`` per second (as
            the TFRecords hold them). ``None`` (a null cell) gives ``None``.
        max_value: Upper end of the quantisation range (2 in the release).
        min_value: Lower end of the quantisation range (-2 in the release).

    Returns:
        A float32 array ``(seconds, dim)`` equal to the starter code's ``Dequantize``.

    Raises:
        ValueError: when the values are not integers in 0..255 or rows differ in length.
    """
    if values is None:
        return None
    if len(values) and isinstance(values[0], (bytes, bytearray, memoryview)):
        arr = np.stack([np.frombuffer(bytes(v), dtype=np.uint8) for v in values])
    else:
        arr = _as_uint8(values)
    return _dequantize(arr, max_value, min_value)


def frame_features(row: Mapping[str, Any]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``(rgb, audio)`` float32 features of one ``youtube8m`` row, as the starter code reads
    them: frame level dequantised ``(seconds, 1024)`` / ``(seconds, 128)``, or, for a
    video-level row, its ``mean_rgb`` / ``mean_audio`` as ``(1, 1024)`` / ``(1, 128)``."""
    if row.get("frame_rgb") is not None:
        return dequantize(row["frame_rgb"]), dequantize(row.get("frame_audio"))

    def mean(name: str) -> np.ndarray | None:
        v = row.get(name)
        return None if v is None else np.asarray(v, dtype=np.float32).reshape(1, -1)

    return mean("mean_rgb"), mean("mean_audio")


def _as_uint8(values: Any) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.dtype == np.uint8 and values.ndim == 2:
        return values
    if isinstance(values, np.ndarray) and values.dtype == object:  # numpy format: rows as arrays
        values = values.tolist()
    try:
        arr = np.asarray(values)
    except ValueError as exc:
        raise ValueError(f"expected (seconds, dim) quantised features, rows of one length: {exc}") from None
    if arr.size and (arr.dtype.kind not in "iu" or arr.min() < 0 or arr.max() > 255):
        raise ValueError(f"expected uint8 quantised features (0..255), got {arr.dtype} values")
    return arr.astype(np.uint8).reshape(len(arr), -1)
