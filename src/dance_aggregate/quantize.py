"""uint8 quantisation of feature vectors, as the YouTube-8M release stores its frame
features (over [-2, 2]) and its starter code reads them back.
"""

from __future__ import annotations

import numpy as np

__all__ = ["QUANT_MAX", "QUANT_MIN", "dequantize", "quantize"]

#: The range the YouTube-8M starter code quantises features into (``utils.Dequantize``).
QUANT_MIN, QUANT_MAX = -2.0, 2.0


def dequantize(quantized: np.ndarray, max_value: float = QUANT_MAX, min_value: float = QUANT_MIN) -> np.ndarray:
    """uint8 features back to float32, exactly as the YouTube-8M starter code's ``Dequantize``:
    ``x * (max - min) / 255 + (max - min) / 512 + min`` (the half-step bias centres each bin)."""
    span = max_value - min_value
    out = quantized.astype(np.float32)
    out *= np.float32(span / 255.0)
    out += np.float32(span / 512.0 + min_value)
    return out


def quantize(features: np.ndarray, max_value: float = QUANT_MAX, min_value: float = QUANT_MIN) -> np.ndarray:
    """float features to uint8 (the inverse used to make YouTube-8M frame features)."""
    span = max_value - min_value
    clipped = np.clip(features, min_value, max_value)
    return np.round((clipped - min_value) * (255.0 / span)).astype(np.uint8)
