"""Named colours and CIEDE2000 colour difference."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

# The palette specs and requests name colours from. Hex values follow seed 002 (white FFFFFF,
# red FF0000, blue 438EDB) and the usual ID-photo shades for the rest.
PALETTE: dict[str, str] = {
    "white": "FFFFFF",
    "blue": "438EDB",
    "red": "FF0000",
    "light_blue": "8EC5E9",
    "dark_blue": "1F4E8C",
    "light_gray": "DCDCDC",
    "gray": "BEBEBE",
    "off_white": "F2F2F2",
    "cream": "F3EEDF",
}
ZH_NAMES: dict[str, str] = {
    "white": "白色",
    "blue": "蓝色",
    "red": "红色",
    "light_blue": "浅蓝色",
    "dark_blue": "深蓝色",
    "light_gray": "浅灰色",
    "gray": "灰色",
    "off_white": "米白色",
    "cream": "奶油色",
}
_HEX = re.compile(r"^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$")


def parse_color(value: str | Sequence[int]) -> tuple[int, int, int]:
    """A palette name, ``#RRGGBB`` / ``RRGGBB`` / ``#RGB``, or an ``[r, g, b]`` triple -> RGB."""
    if isinstance(value, str):
        key = value.strip().lower().replace(" ", "_").replace("-", "_")
        if key == "grey":
            key = "gray"
        hexval = PALETTE.get(key, value.strip())
        m = _HEX.match(hexval)
        if not m:
            raise ValueError(f"{value!r} is not a colour name or a #RRGGBB value")
        h = m.group(1)
        if len(h) == 3:  # CSS short form: #fa0 is #ffaa00
            h = "".join(c * 2 for c in h)
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    seq = list(value)
    if len(seq) != 3 or not all(isinstance(v, int | float) and 0 <= v <= 255 for v in seq):
        raise ValueError(f"{value!r} is not an [r, g, b] triple of 0-255 values")
    return int(seq[0]), int(seq[1]), int(seq[2])


def color_name(value: str | Sequence[int]) -> str:
    """The palette name of a colour if it has one, else its hex."""
    rgb = parse_color(value)
    hexval = to_hex(rgb)
    for name, h in PALETTE.items():
        if h == hexval:
            return name
    return "#" + hexval


def to_hex(rgb: Sequence[float] | np.ndarray) -> str:
    return "".join(f"{int(round(c)):02X}" for c in rgb[:3])


def rgb_to_lab(rgb: Sequence[float]) -> tuple[float, float, float]:
    """sRGB (0-255) -> CIELAB (D65), L in 0-100."""
    def lin(c: float) -> float:
        c /= 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (lin(float(c)) for c in rgb[:3])
    x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116

    fx, fy, fz = f(x), f(y), f(z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def delta_e(lab1: Sequence[float], lab2: Sequence[float]) -> float:
    """CIEDE2000 colour difference between two CIELAB colours."""
    return float(delta_e_array(np.asarray([lab1], float), np.asarray(lab2, float))[0])


def delta_e_array(labs: np.ndarray, ref: Sequence[float] | np.ndarray) -> np.ndarray:
    """CIEDE2000 of each row of ``labs`` (N x 3) against one reference colour."""
    L1, a1, b1 = labs[:, 0].astype(float), labs[:, 1].astype(float), labs[:, 2].astype(float)
    L2, a2, b2 = (float(v) for v in ref)
    c1, c2 = np.hypot(a1, b1), math.hypot(a2, b2)
    cbar7 = ((c1 + c2) / 2) ** 7
    g = 0.5 * (1 - np.sqrt(cbar7 / (cbar7 + 25.0**7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360
    dl = L2 - L1
    dc = c2p - c1p
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(c1p * c2p == 0, 0, dh)
    dH = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    lbar = (L1 + L2) / 2
    cbarp = (c1p + c2p) / 2
    hsum = h1p + h2p
    hbar = np.where(
        c1p * c2p == 0, hsum,
        np.where(np.abs(h1p - h2p) <= 180, hsum / 2, np.where(hsum < 360, (hsum + 360) / 2, (hsum - 360) / 2)),
    )
    t = (1 - 0.17 * np.cos(np.radians(hbar - 30)) + 0.24 * np.cos(np.radians(2 * hbar))
         + 0.32 * np.cos(np.radians(3 * hbar + 6)) - 0.20 * np.cos(np.radians(4 * hbar - 63)))
    sl = 1 + 0.015 * (lbar - 50) ** 2 / np.sqrt(20 + (lbar - 50) ** 2)
    sc = 1 + 0.045 * cbarp
    sh = 1 + 0.015 * cbarp * t
    cbarp7 = cbarp**7
    rt = (-2 * np.sqrt(cbarp7 / (cbarp7 + 25.0**7))
          * np.sin(np.radians(60 * np.exp(-(((hbar - 275) / 25) ** 2)))))
    return np.sqrt((dl / sl) ** 2 + (dc / sc) ** 2 + (dH / sh) ** 2 + rt * (dc / sc) * (dH / sh))
