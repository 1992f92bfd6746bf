"""Watermarks: light, thin strokes repeated across the photo (tiled text, stock-preview marks).

A white top-hat keeps bright structures thinner than about 1/120 of the photo's width (strokes,
hair highlights, speculars, stars on a flag). Its map, box-filtered to at most 220 px and with
slow variation removed, is autocorrelated: a tiled overlay repeats, so its map correlates with
itself at the tiling's offsets and shows isolated peaks there, while hair, fabric and edges give
either a single peak at zero or ridges along straight lines. The measure is the highest peak
that stands out of its ring of neighbours (a ridge does not), as a share of the map's variance.

Not seen: a single logo or caption (no repetition), dark or coloured-on-dark overlays (bright
strokes only), and faint marks under about 0.2 opacity on busy photos. Calibration:
docs/calibration/watermark.md.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ..context import FACE_OVAL, Analysis, MeasureError
from . import Measure, clamp_score, detector

STROKE_MAX_WIDTH = 800  # the top-hat runs on the photo halved until at most this wide
STROKE_KERNEL_DIV = 120  # top-hat square side = width / this (5 px at 600 px wide)
MAP_MAX_SIDE = 220
HIGH_PASS_SIGMA = 3.0  # map pixels
MAX_LAG = 0.45  # of the map's height / width
MIN_LAG = 0.08  # of the map's long side: closer offsets are the strokes' own extent
RING = 0.04  # neighbour ring radius, of the map's long side
# Clean photos (21 in ../shared/faces, flags and hair included) peak at <= 0.09 and the test
# watermark at 0.35 opacity at >= 0.19 on the portraits, so 50 sits at 0.10.
PEAK_FULL_SCORE = 0.2


def _halve(x: np.ndarray) -> np.ndarray:
    h, w = x.shape[:2]
    return cv2.resize(x[: h // 2 * 2, : w // 2 * 2], (w // 2, h // 2), interpolation=cv2.INTER_AREA)


@detector("watermark")
def watermark(a: Analysis) -> dict[str, Any]:
    peak = repeated_stroke_peak(a.gray, _face_mask(a))
    return {"watermark": Measure(value=round(peak, 3), score=clamp_score(100 * peak / PEAK_FULL_SCORE))}


def _face_mask(a: Analysis) -> np.ndarray | None:
    """The face oval, grown a little: a face is mirror-symmetric (two eyes, two ears), and in a
    tightly framed photo that symmetry alone repeats at one offset like a two-copy tiling."""
    try:
        oval = a.mesh[list(FACE_OVAL), :2]
    except MeasureError:
        return None
    mask = np.zeros(a.gray.shape, np.uint8)
    cv2.fillPoly(mask, [oval.round().astype(np.int32)], 1)
    grow = max(3, round(0.08 * a.face_width))
    return cv2.dilate(mask, np.ones((2 * grow + 1,) * 2, np.uint8)).astype(bool)


def repeated_stroke_peak(gray: np.ndarray, ignore: np.ndarray | None = None) -> float:
    """Share of the bright-stroke map's variance that repeats at one offset (0-1); pixels under
    ``ignore`` (the face) take no part."""
    g = gray
    while g.shape[1] > STROKE_MAX_WIDTH:
        g = _halve(g)
    k = max(3, int(round(g.shape[1] / STROKE_KERNEL_DIV)) | 1)
    strokes = cv2.morphologyEx(g, cv2.MORPH_TOPHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    if ignore is not None:
        small = cv2.resize(ignore.astype(np.uint8), (g.shape[1], g.shape[0]), interpolation=cv2.INTER_NEAREST)
        strokes[small.astype(bool)] = 0
    while max(strokes.shape) > MAP_MAX_SIDE:
        strokes = _halve(strokes)
    s = strokes.astype(np.float32)
    s -= cv2.GaussianBlur(s, (0, 0), HIGH_PASS_SIGMA)
    hs, ws = s.shape
    if hs < 16 or ws < 16:
        return 0.0
    # Linear autocorrelation through the DFT: padding by the largest lag looked at keeps the
    # circular wrap-around out of those lags.
    ly, lx = int(MAX_LAG * hs), int(MAX_LAG * ws)
    H, W = cv2.getOptimalDFTSize(hs + ly + 1), cv2.getOptimalDFTSize(ws + lx + 1)
    padded = np.zeros((H, W), np.float32)
    padded[:hs, :ws] = s
    spec = cv2.dft(padded, flags=cv2.DFT_COMPLEX_OUTPUT)
    corr = cv2.idft(cv2.mulSpectrums(spec, spec, 0, conjB=True), flags=cv2.DFT_REAL_OUTPUT)
    energy = float(corr[0, 0]) / (hs * ws)
    if energy <= 1e-6:
        return 0.0
    rows = np.r_[H - ly:H, 0:ly + 1]
    cols = np.r_[W - lx:W, 0:lx + 1]
    lags = corr[np.ix_(rows, cols)]
    dy = np.arange(-ly, ly + 1)[:, None]
    dx = np.arange(-lx, lx + 1)[None, :]
    overlap = (hs - np.abs(dy)) * (ws - np.abs(dx))  # pixel pairs behind each lag
    r = (lags / overlap / energy).astype(np.float32)
    rho = max(2, round(RING * max(hs, ws)))
    ring = np.zeros((2 * rho + 1, 2 * rho + 1), np.uint8)
    cv2.circle(ring, (rho, rho), rho, 1, 1)
    standout = r - cv2.dilate(r, ring)
    far = (dy * dy + dx * dx) >= (MIN_LAG * max(hs, ws)) ** 2
    return max(0.0, float(standout[far].max()))
