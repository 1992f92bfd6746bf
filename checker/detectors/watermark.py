"""Watermarks: thin strokes, light or dark, repeated on a lattice across the photo (tiled text,
stock-preview marks).

A white top-hat and a black top-hat keep the structures thinner than about 1/120 of the photo's width
(strokes of text, hair, eyelashes, speculars, fabric). Each is capped at a few grey levels, so what
counts is where thin structure is, not how contrasted it is (a faint mark weighs as much as a hair's
edge). Two maps are made of them, their sum (thin structure of either sign) and their difference (its
sign), each resized to at most 256 px with slow variation removed, and autocorrelated over the whole
photo, face included. A tiled overlay repeats on a 2-D lattice, so its map correlates with itself at
every lattice offset: isolated peaks at v and 2v, or at two non-collinear offsets u, v and at u + v or
u - v. A symmetric pair of ears or eyes, a single repeated feature, a collar or a flag's stripes give one
peak or a ridge, not a lattice. The measure is the weakest of the peaks of the best such triple, each
taken as how far it stands out of its ring of neighbours, in shares of the map's variance.

Not seen: a single logo or caption (no repetition); a tiling with only about two repeats across the
photo (tiles wider than ~0.4 of it); marks under about 0.15 opacity, or mid-grey marks on mid-grey
areas. Calibration: docs/calibration/watermark.md.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ..context import Analysis
from . import Measure, clamp_score, detector

STROKE_MAX_WIDTH = 800  # the top-hats run on the photo halved until at most this wide
STROKE_KERNEL_DIV = 120  # top-hat square side = width / this (5 px at 600 px wide)
STROKE_CAP = 12  # grey levels: thin structure stronger than this counts as this
MAP_MAX_SIDE = 256
HIGH_PASS_SIGMA = 3.0  # map pixels
MAX_LAG = 0.45  # of the map's height / width
MIN_LAG = 0.08  # of the map's long side: closer offsets are the strokes' own extent
RING = 0.04  # neighbour ring radius, of the map's long side
SNAP = 0.01  # a lattice point is looked for within this radius (of the long side) of where it falls
PEAKS = 10  # candidate peaks per map
MIN_SIN = 0.4  # two offsets are non-collinear when the sine of their angle is at least this
# Clean and generated photos (21 + 187) measure <= 0.023, tiled text at 0.2-0.35 opacity mostly
# 0.05-0.3: 50 sits at 0.035 (docs/calibration/watermark.md).
PEAK_FULL_SCORE = 0.07


def _halve(x: np.ndarray) -> np.ndarray:
    h, w = x.shape[:2]
    return cv2.resize(x[: h // 2 * 2, : w // 2 * 2], (w // 2, h // 2), interpolation=cv2.INTER_AREA)


@detector("watermark")
def watermark(a: Analysis) -> dict[str, Any]:
    value = lattice_strength(a.gray)
    return {"watermark": Measure(value=round(value, 4), score=clamp_score(100 * value / PEAK_FULL_SCORE))}


def stroke_maps(gray: np.ndarray) -> list[np.ndarray]:
    """The two thin-structure maps (sum and difference of the capped top-hats), high-passed, float32."""
    g = gray
    while g.shape[1] > STROKE_MAX_WIDTH:
        g = _halve(g)
    k = max(3, int(round(g.shape[1] / STROKE_KERNEL_DIV)) | 1)
    se = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    h, w = g.shape
    sc = min(1.0, MAP_MAX_SIDE / max(h, w))
    size = (max(1, round(w * sc)), max(1, round(h * sc)))
    small = []
    for op in (cv2.MORPH_TOPHAT, cv2.MORPH_BLACKHAT):
        # cv2.min takes a scalar for src2; its stubs allow only arrays.
        m = cv2.min(cv2.morphologyEx(g, op, se), STROKE_CAP).astype(np.float32)  # type: ignore[call-overload]
        while max(m.shape) >= 2 * MAP_MAX_SIDE:  # exact halving first: the general resize is slower
            m = _halve(m)
        small.append(cv2.resize(m, size, interpolation=cv2.INTER_AREA))
    bright, dark = small
    return [s - cv2.GaussianBlur(s, (0, 0), HIGH_PASS_SIGMA) for s in (bright + dark, bright - dark)]


def _standout(s: np.ndarray) -> tuple[np.ndarray, int, int] | None:
    """Each lag's normalised autocorrelation minus the highest value on its ring, over lags within
    MAX_LAG; with the window's half-sizes (ly, lx)."""
    hs, ws = s.shape
    ly, lx = int(MAX_LAG * hs), int(MAX_LAG * ws)
    # Linear autocorrelation through the DFT: padding by the largest lag looked at keeps the
    # circular wrap-around out of those lags.
    H, W = cv2.getOptimalDFTSize(hs + ly + 1), cv2.getOptimalDFTSize(ws + lx + 1)
    padded = np.zeros((H, W), np.float32)
    padded[:hs, :ws] = s
    spec = cv2.dft(padded, flags=cv2.DFT_COMPLEX_OUTPUT)
    corr = cv2.idft(cv2.mulSpectrums(spec, spec, 0, conjB=True), flags=cv2.DFT_REAL_OUTPUT)
    energy = float(corr[0, 0]) / (hs * ws)
    if energy <= 1e-6:
        return None
    lags = corr[np.ix_(np.r_[H - ly:H, 0:ly + 1], np.r_[W - lx:W, 0:lx + 1])]
    overlap = (hs - np.abs(np.arange(-ly, ly + 1)))[:, None] * (ws - np.abs(np.arange(-lx, lx + 1)))[None, :]
    r = (lags / overlap / energy).astype(np.float32)
    rho = max(2, round(RING * max(hs, ws)))
    ring = np.zeros((2 * rho + 1, 2 * rho + 1), np.uint8)
    cv2.circle(ring, (rho, rho), rho, (1,), 1)
    return r - cv2.dilate(r, ring), ly, lx


def _lattice(st: np.ndarray, ly: int, lx: int, long_side: int) -> float:
    """The weakest peak of the strongest lattice triple (p, 2p) or (p, q, p +/- q) in a standout map."""
    dy = np.arange(-ly, ly + 1)[:, None]
    dx = np.arange(-lx, lx + 1)[None, :]
    half = (dy > 0) | ((dy == 0) & (dx > 0))  # the autocorrelation is symmetric: one half-plane
    far = dy * dy + dx * dx >= (MIN_LAG * long_side) ** 2
    cand = (st >= cv2.dilate(st, np.ones((3, 3), np.uint8))) & half & far & (st > 0)
    ys, xs = np.nonzero(cand)
    order = np.argsort(-st[ys, xs])[:PEAKS]
    peaks = [(int(ys[i]) - ly, int(xs[i]) - lx, float(st[ys[i], xs[i]])) for i in order]
    snap = max(1, round(SNAP * long_side))

    def near(y: int, x: int) -> float | None:
        yy, xx = y + ly, x + lx
        if not (snap <= yy < st.shape[0] - snap and snap <= xx < st.shape[1] - snap):
            return None
        return float(st[yy - snap:yy + snap + 1, xx - snap:xx + snap + 1].max())

    best = 0.0
    for i, (y1, x1, v1) in enumerate(peaks):
        if v1 <= best:
            break  # peaks come strongest first: no later triple can beat best
        twice = near(2 * y1, 2 * x1)
        if twice is not None:
            best = max(best, min(v1, twice))
        for y2, x2, v2 in peaks[i + 1:]:
            if min(v1, v2) <= best:
                break
            sine = abs(y1 * x2 - x1 * y2) / (np.hypot(y1, x1) * np.hypot(y2, x2))
            if sine < MIN_SIN:
                continue
            third = [t for t in (near(y1 + y2, x1 + x2), near(y1 - y2, x1 - x2)) if t is not None]
            if third:
                best = max(best, min(v1, v2, max(third)))
    return best


def lattice_strength(gray: np.ndarray) -> float:
    """Share of the thin-structure maps' variance that repeats on a 2-D lattice (0-1; clean photos
    about 0.01-0.02)."""
    best = 0.0
    for s in stroke_maps(gray):
        hs, ws = s.shape
        if hs < 16 or ws < 16:
            return 0.0
        got = _standout(s)
        if got is not None:
            best = max(best, _lattice(*got, max(hs, ws)))
    return best
