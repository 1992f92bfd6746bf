"""Glasses, sunglasses and glare around the eyes.

Clear frames are found as lines where a bare face has none: across the nose bridge between the
eyes, and under each eye where the lens rim crosses the upper cheek, on the shared eye view
(checker.views.eye_view: one eye = 48 px), so a frame's width is judged relative to the eye. Sunglasses
are recognised, not inferred from darkness: the ImageNet classifier's sunglasses classes on a crop
of the upper head (shadowed bare eyes are dark too). See docs/calibration/glasses.md.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from .. import models
from ..context import Analysis
from ..views import (
    EYE_CONTOURS,
    EYE_VIEW_WIDTH,
    IRIS_CENTRES,
    IRIS_RIMS,
    EyeView,
    eye_view,
    face_view,
    lens_lightness,
)
from . import Measure, clamp_score, detector

EW = float(EYE_VIEW_WIDTH)

# Line profiles. A frame bar at most THIN_MAX px thick (0.08 eye width: 1-3 px on a 600x800 ID
# photo) is "thin"; up to THICK_MAX px (0.4 eye width) is caught as "thick". Black-hat / top-hat
# with a vertical element of n px keeps exactly the features thinner than n, which is what splits
# the two kinds.
THIN_MAX = 4
THICK_MAX = 20
_THIN_K = cv2.getStructuringElement(cv2.MORPH_RECT, (1, THIN_MAX + 1))
_THICK_K = cv2.getStructuringElement(cv2.MORPH_RECT, (1, THICK_MAX + 1))
# A lens rim is a curve; over the band it drifts a few pixels up or down. Responses are spread
# this many px vertically before the across-band median, so a gently curved line still counts.
CURVE_PX = 2
BRIDGE_WEIGHT = 0.5  # share of the bridge in the frame evidence; the two lower rims share the rest

# Evidence (line contrast in % of the skin's grey level) that scores 50. Bare faces of
# ../shared/faces read at most 9.3 (thin: wrinkles) / 15.6 (thick: shadows under the eyes); drawn
# frames 33+ / 76+. On the train split of data/manifest.csv (7 clear pairs, 209 bare faces) any line
# between 39.4 and 50.5 of this scale gives the best result free of false alarms there (detection
# 0.57) and on the bare faces of ../shared/faces (which reach 39); 50 lies in it. The old halves
# (16 / 40) missed real glasses (docs/calibration/glasses.md).
THIN_HALF = 12.0
THICK_HALF = 30.0
THICK_IN_THIN = 0.3  # a thick bar's edges also show as thin lines; this share of the thick evidence is removed

# Sunglasses: probability of ImageNet's "sunglass" + "sunglasses" classes on the upper-head crop
# (Analysis.head_crop, shared with the hat check); SUN_HALF scores 50 (train split of
# data/manifest.csv: sunglasses 0.25-0.97, bare and clear-glasses faces below 0.06 but for 3 of 216;
# best balanced accuracy there, 0.995), and each e-fold moves the score by SUN_SLOPE.
SUN_CLASSES = ("sunglass", "sunglasses")
SUN_HALF = 0.18
SUN_SLOPE = 12.5

# Glare: share of the lens area (around each eye, the eye opening itself excluded so catch-lights
# and the white of the eye never count) whose colour is more than GLARE_WHITENESS of the way from
# the skin to pure white. GLARE_HALF of the lens area scores 50.
GLARE_WHITENESS = 0.5
GLARE_HALF = 0.03


def _bands(view: EyeView) -> dict[str, tuple[int, int, int, int]]:
    """x0, x1, y0, y1 in view pixels of the three places a frame shows on the face."""
    (c0, _), (c1, _) = view.eye(0), view.eye(1)
    inner = sorted([view.pts[133], view.pts[362]], key=lambda p: p[0])
    gap = inner[1][0] - inner[0][0]
    mid_y = (c0[1] + c1[1]) / 2
    raw = {
        # Between the inner corners, from brow height down to the upper nose.
        "bridge": (inner[0][0] + 0.2 * gap, inner[1][0] - 0.2 * gap, mid_y - 0.9 * EW, mid_y + 0.2 * EW),
        # Under each eye, clear of the lower lid and its crease, where the lower rim runs.
        "rim_left": (c0[0] - 0.3 * EW, c0[0] + 0.3 * EW, c0[1] + 0.35 * EW, c0[1] + 1.0 * EW),
        "rim_right": (c1[0] - 0.3 * EW, c1[0] + 0.3 * EW, c1[1] + 0.35 * EW, c1[1] + 1.0 * EW),
    }
    h, w = view.gray.shape
    out = {}
    for name, (x0, x1, y0, y1) in raw.items():
        out[name] = (max(0, round(x0)), min(w, round(x1)), max(0, round(y0)), min(h, round(y1)))
    return out


def _line_evidence(band: np.ndarray) -> tuple[float, float]:
    """(thin, thick) evidence of a roughly horizontal line across ``band`` (grey uint8): the
    strongest row of the across-band median of the morphological line response, in % of the
    band's skin grey (its 80th percentile, so a dark bar does not lower its own reference)."""
    if band.shape[0] < THICK_MAX + 2 or band.shape[1] < 5:
        return 0.0, 0.0
    b = cv2.blur(band, (3, 1))  # along the line only: keeps 1-px frames sharp across it
    thin_dark = cv2.morphologyEx(b, cv2.MORPH_BLACKHAT, _THIN_K).astype(np.float32)
    thin_bright = cv2.morphologyEx(b, cv2.MORPH_TOPHAT, _THIN_K).astype(np.float32)
    thick_dark = cv2.morphologyEx(b, cv2.MORPH_BLACKHAT, _THICK_K).astype(np.float32)
    spread = np.ones((2 * CURVE_PX + 1, 1), np.uint8)
    thin = cv2.dilate(np.maximum(thin_dark, thin_bright), spread)
    thick = cv2.dilate(np.clip(thick_dark - thin_dark, 0, None), spread)
    ref = max(30.0, float(np.percentile(band, 80)))
    return (100 * float(np.median(thin, axis=1).max()) / ref, 100 * float(np.median(thick, axis=1).max()) / ref)


def frame_evidence(a: Analysis) -> dict[str, tuple[float, float]]:
    """Per band, (thin, thick) line evidence."""

    def compute() -> dict[str, tuple[float, float]]:
        view = eye_view(a)
        return {k: _line_evidence(view.gray[y0:y1, x0:x1]) for k, (x0, x1, y0, y1) in _bands(view).items()}

    return a.memo("glasses.frames", compute)


def _combine(ev: dict[str, tuple[float, float]], k: int) -> float:
    rims = (ev["rim_left"][k] + ev["rim_right"][k]) / 2
    return BRIDGE_WEIGHT * ev["bridge"][k] + (1 - BRIDGE_WEIGHT) * rims


def glare_fraction(a: Analysis) -> list[float]:
    """Per eye, the share of the lens area (eye opening and iris excluded) that is glare."""
    view = eye_view(a)
    ref = face_view(a).ref
    lab = view.lab
    # How far each pixel has gone from the skin colour towards white (L 100, a = b = 0).
    toward_l = (lab[..., 0] - ref[0]) / max(100.0 - float(ref[0]), 8.0)
    ref_c = float(np.hypot(ref[1], ref[2]))
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    toward_c = 1.0 - chroma / max(ref_c, 4.0)
    white = np.minimum(toward_l, toward_c) > GLARE_WHITENESS
    out = []
    for k in (0, 1):
        c, w = view.eye(k)
        lens = np.zeros(view.gray.shape, np.uint8)
        cv2.ellipse(lens, (round(c[0]), round(c[1])), (round(0.75 * w), round(0.5 * w)), 0, 0, 360, (1,), -1)
        opening: np.ndarray = np.zeros_like(lens)
        cv2.fillPoly(opening, [np.round(view.pts[list(EYE_CONTOURS[k])]).astype(np.int32)], (1,))
        grow = max(1, round(0.08 * w))
        opening = cv2.dilate(opening, np.ones((2 * grow + 1,) * 2, np.uint8))
        r = np.linalg.norm(view.pts[IRIS_RIMS[k][0]] - view.pts[IRIS_RIMS[k][1]]) / 2
        ic = view.pts[IRIS_CENTRES[k]]
        cv2.circle(opening, (round(ic[0]), round(ic[1])), max(1, round(1.2 * r)), (1,), -1)
        area = (lens == 1) & (opening == 0)
        out.append(float(white[area].mean()) if area.any() else 0.0)
    return out


def sunglasses_probability(a: Analysis) -> float:
    """The classifier's sunglasses probability on the upper-head crop."""
    cols = models.get("imagenet_classifier").index(SUN_CLASSES)
    return float(a.class_scores[cols].sum())


def sunglasses_score(prob: float) -> float:
    return clamp_score(50 + SUN_SLOPE * np.log(max(prob, 1e-4) / SUN_HALF))


@detector("sunglasses")
def sunglasses(a: Analysis) -> dict[str, Any]:
    """Its own detector: it needs only the upper-head crop, so it is judged on faces whose eyes are
    too small for the frame and glare measures."""
    prob = sunglasses_probability(a)
    return {"sunglasses": Measure(value={"probability": round(prob, 4)}, score=sunglasses_score(prob))}


@detector("glasses", "thin_frame_glasses", "thick_black_frame_glasses", "glasses_glare")
def glasses(a: Analysis) -> dict[str, Any]:
    ev = frame_evidence(a)
    thin_ev, thick_ev = _combine(ev, 0), _combine(ev, 1)
    thin_score = clamp_score(50 * max(0.0, thin_ev - THICK_IN_THIN * thick_ev) / THIN_HALF)
    thick_score = clamp_score(50 * thick_ev / THICK_HALF)
    lens = max(lens_lightness(a))  # reported only: darkness is no evidence of a lens (see sunglasses)

    glare = glare_fraction(a)
    glare_score = clamp_score(50 * max(glare) / GLARE_HALF)

    bands = {k: {"thin": round(v[0], 1), "thick": round(v[1], 1)} for k, v in ev.items()}
    return {
        "glasses": Measure(value={"thin": round(thin_ev, 1), "thick": round(thick_ev, 1), "lens": round(lens, 3)},
                           score=max(thin_score, thick_score, sunglasses_score(sunglasses_probability(a)))),
        "thin_frame_glasses": Measure(value=bands, score=thin_score),
        "thick_black_frame_glasses": Measure(value=bands, score=thick_score),
        "glasses_glare": Measure(value=[round(g, 4) for g in glare], score=glare_score),
    }
