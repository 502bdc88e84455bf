"""The class-distribution chart of the dataset card: a small PNG drawn with Pillow.

One horizontal bar per label, stacked by split, with the count at the end of the bar.
Pillow is already a dependency; matplotlib would add a heavy one for a single picture. The
PNG is written into the dataset folder (``images/class_distribution.png``) at build time,
published with it, and shown by the Hub from the card's relative image link. The drawing is
deterministic, so an unchanged dataset gives byte-identical PNGs (and a rerun of publish
does not upload it again).
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

from dance_aggregate.schema import SPLITS

#: Where the chart lives inside the dataset folder (the card links it relatively).
CHART_PATH = "images/class_distribution.png"
#: Split colours (colour-blind-safe Okabe-Ito palette).
SPLIT_COLOURS = {"train": (0, 114, 178), "validation": (230, 159, 0), "test": (0, 158, 115)}

_ROW = 22
_LEFT = 170
_RIGHT = 70
_WIDTH = 860


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: fixed-size bitmap font
        return ImageFont.load_default()


def draw_chart(counts: dict[str, dict[str, int]], title: str) -> bytes:
    """Draw the chart.

    Args:
        counts: Label -> split -> rows.
        title: Title line (e.g. the config name).

    Returns:
        PNG bytes.
    """
    labels = sorted(counts, key=lambda k: (-sum(counts[k].values()), k))
    top = 56
    height = top + _ROW * max(1, len(labels)) + 16
    img = Image.new("RGB", (_WIDTH, height), "white")
    d = ImageDraw.Draw(img)
    font, bold = _font(13), _font(15)
    d.text((12, 10), title, fill="black", font=bold)
    x = 12
    for split in SPLITS:
        d.rectangle([x, 34, x + 12, 46], fill=SPLIT_COLOURS[split])
        d.text((x + 18, 33), split, fill="black", font=font)
        x += 110
    biggest = max((sum(v.values()) for v in counts.values()), default=1) or 1
    scale = (_WIDTH - _LEFT - _RIGHT) / biggest
    for i, label in enumerate(labels):
        y = top + i * _ROW
        d.text((12, y + 3), label, fill="black", font=font)
        x0 = float(_LEFT)
        for split in SPLITS:
            n = counts[label].get(split, 0)
            if n:
                x1 = x0 + max(1.0, n * scale)
                d.rectangle([x0, y + 3, x1, y + _ROW - 3], fill=SPLIT_COLOURS[split])
                x0 = x1
        d.text((x0 + 6, y + 3), str(sum(counts[label].values())), fill="black", font=font)
    if not labels:
        d.text((_LEFT, top + 3), "(no rows)", fill="black", font=font)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


