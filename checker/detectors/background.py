"""The background: its colour, how plain it is, shadows cast on it, and clothes that blend into it.

Everything here works on the shared small view of the photo (checker.views.small_view: long side
at most 320 px, box-filtered by exact halving), which keeps the four measures to about two
milliseconds together. The background is the confident background of ``Analysis.background``
(farther than 2 % of the long side from where the person mask exceeds 0.1), drawn at the view's
scale: the same rule, without the full-resolution dilation that costs 2 ms on a 1200 x 1600 photo.
Calibration:
docs/calibration/background.md.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import cv2
import numpy as np

from ..colors import delta_e_array, to_hex
from ..context import Analysis, MeasureError
from ..views import MIN_BACKGROUND_SHARE, View, background_median, lab_of, sample_points, skin_mask, small_view
from . import Measure, clamp_score, detector

MAX_FIT_POINTS = 1500  # surface fits use at most this many background pixels

# Plainness: a quadratic surface is fitted to the background in CIELAB. Texture and objects are the
# residual around it (90th percentile, ΔE76): clean backdrops leave <= 2.5, textures and real scenes
# >= 20, so RESIDUAL_FULL_SCORE puts 50 at 10 ΔE. A gradient is the surface's own spread (95th
# percentile of CIEDE2000 from its median): studio fall-off measures 7-11, the blue-to-white gradient
# of hivision_idphoto_1 16, a dark-to-white ramp 33, so GRADIENT_FULL_SCORE puts 50 at 20 ΔE.
RESIDUAL_FULL_SCORE = 20.0
GRADIENT_FULL_SCORE = 40.0

# Shadow: background pixels darker than the fitted backdrop (brightness ratio below
# SHADOW_RATIO, same chromaticity within SHADOW_CHROMA) within SHADOW_REACH face widths of the
# person. Their summed darkening (1 - ratio) per face-width squared is the shadow "mass". A soft
# shadow 10-25 % deep keeps most of its pixels at ratios of 0.75-0.97, so the cut sits at 0.97 (a
# plain backdrop's JPEG and light fall-off stay within 3 % of the fitted surface) and the refits keep
# only pixels within 1.5 % of the last one, so that a shallow shadow does not drag the surface down.
# Clean plain backgrounds measure <= 0.0063 (the blue-to-white gradient of hivision_idphoto_1), a
# 15 %-deep soft shadow >= 0.0136, so 50 sits at 0.008 (docs/calibration/background.md).
SHADOW_RATIO = 0.97
SHADOW_CHROMA = 0.05
SHADOW_REACH = 1.0
SHADOW_FIT_KEEP = 0.985
SHADOW_MASS_FULL_SCORE = 0.016

# Clothes: the person below the chin (skin excluded). Each clothes pixel blends in by
# (CLOTHES_DE_FAR - ΔE) / (CLOTHES_DE_FAR - CLOTHES_DE_NEAR), clipped to 0-1, against the background
# beside the body; the score is the blending share in percent. Clean photos blend by <= 38 %, solid
# garments over a backdrop of their own colour by >= 67 %.
CLOTHES_DE_NEAR = 6.0
CLOTHES_DE_FAR = 15.0
CLOTHES_BELOW_CHIN = 0.1  # face widths below the chin where clothes start
CLOTHES_MAX_POINTS = 500

def _need_background(v: View) -> None:
    share = v.bg_count / v.background.size
    if share < MIN_BACKGROUND_SHARE:
        raise MeasureError(f"only {100 * share:.1f}% of the photo is clear background, too little to judge it")


def _design(ys: np.ndarray, xs: np.ndarray, h: int, w: int) -> np.ndarray:
    """Quadratic surface terms over normalised image coordinates."""
    u = xs.astype(np.float32) / w - 0.5
    t = ys.astype(np.float32) / h - 0.5
    return np.stack([np.ones_like(u), u, t, u * u, t * t, u * t], axis=1)


def _solve(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares coefficients (normal equations: six terms over normalised coordinates are
    well conditioned)."""
    return np.linalg.solve(x.T @ x + 1e-6 * np.eye(x.shape[1], dtype=x.dtype), x.T @ y)


# --- colour ---------------------------------------------------------------------------------------
@detector("background_color")
def background_color(a: Analysis) -> dict[str, Any]:
    """Median colour of the confident background, as RRGGBB (the engine compares it by CIEDE2000)."""
    v = small_view(a)
    _need_background(v)
    return {"background_color": to_hex(background_median(v))}


# --- plainness --------------------------------------------------------------------------------------
@detector("bg_uniformity")
def bg_uniformity(a: Analysis) -> dict[str, Any]:
    v = small_view(a)
    _need_background(v)
    inner = cv2.erode(v.background.view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
    ys, xs = v.bg_points
    keep = inner[ys, xs]
    if keep.sum() < 50:
        raise MeasureError("too little background away from the person to judge how plain it is")
    ys, xs = sample_points(ys[keep], xs[keep], MAX_FIT_POINTS)
    lab = v.lab[ys, xs]
    design = _design(ys, xs, *inner.shape)
    surface = design @ _solve(design, lab)
    off = lab - surface
    residual = math.sqrt(float(np.percentile(np.einsum("ij,ij->i", off, off), 90)))
    gradient = float(np.percentile(delta_e_array(surface[::10], np.median(surface, axis=0)), 95))
    score = max(100 * residual / RESIDUAL_FULL_SCORE, 100 * gradient / GRADIENT_FULL_SCORE)
    value = {"residual_de": round(residual, 1), "gradient_de": round(gradient, 1)}
    return {"bg_uniformity": Measure(value=value, score=clamp_score(score))}


# --- shadow -------------------------------------------------------------------------------------------
@detector("bg_shadow")
def bg_shadow(a: Analysis) -> dict[str, Any]:
    v = small_view(a)
    _need_background(v)
    ys, xs = sample_points(*v.bg_points, MAX_FIT_POINTS)
    rgb = v.rgb[ys, xs].astype(np.float32)
    design = _design(ys, xs, *v.background.shape)
    bright = rgb.sum(axis=1) + 3.0
    keep = np.ones(len(ys), bool)
    for _ in range(3):  # fit the lit backdrop: each round drops what is darker than the last fit
        lit = np.maximum(design @ _solve(design[keep], rgb[keep]), 0.0)
        lit_bright = lit.sum(axis=1) + 3.0
        ratio = bright / lit_bright
        keep = ratio > SHADOW_FIT_KEEP
        if keep.sum() < 30:
            raise MeasureError("the background is too dark or uneven to tell shadows from it")
    chroma_shift = np.abs(rgb / bright[:, None] - lit / lit_bright[:, None]).max(axis=1)
    fw = a.face_width / v.scale
    away = cv2.distanceTransform((v.person < 0.5).astype(np.uint8), cv2.DIST_L2, 3)[ys, xs]
    shadowed = (ratio < SHADOW_RATIO) & (chroma_shift < SHADOW_CHROMA) & (away < SHADOW_REACH * fw)
    per_sample = v.bg_count / len(ys)  # the sum runs over a sample; scale it to the whole view
    mass = float(np.sum(1.0 - ratio[shadowed]) * per_sample / (fw * fw))
    return {"bg_shadow": Measure(value=round(mass, 4), score=clamp_score(100 * mass / SHADOW_MASS_FULL_SCORE))}


# --- clothes against the background -----------------------------------------------------------------
@detector("clothes_similar")
def clothes_similar(a: Analysis) -> dict[str, Any]:
    """Median CIEDE2000 between the clothes and the background beside them; the score is the share
    of the clothes that blends into that background."""

    v = small_view(a)
    _need_background(v)
    h = v.person.shape[0]
    chin = a.chin_y / v.scale
    rows = np.arange(h)[:, None]
    below = rows > chin + CLOTHES_BELOW_CHIN * a.face_width / v.scale
    ys, xs = np.nonzero((v.person >= 0.5) & below)
    ys, xs = sample_points(ys, xs, CLOTHES_MAX_POINTS)
    lab = v.lab[ys, xs]
    with contextlib.suppress(MeasureError):  # no facial skin to learn from: all below the chin is clothes
        lab = lab[~skin_mask(a, lab)]
    if len(lab) < 20:
        raise MeasureError("no clothes are visible below the chin")
    beside = np.broadcast_to(rows > chin, v.background.shape)
    ref = lab_of(background_median(v, beside if beside[v.bg_points].sum() >= 30 else None))
    de = delta_e_array(lab, ref)
    blend = np.clip((CLOTHES_DE_FAR - de) / (CLOTHES_DE_FAR - CLOTHES_DE_NEAR), 0.0, 1.0)
    return {"clothes_similar": Measure(value=round(float(np.median(de)), 1), score=clamp_score(100 * blend.mean()))}
