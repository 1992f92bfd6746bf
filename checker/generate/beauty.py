"""Seed 002's beauty options, each with a 0-1 factor: auto brightness, skin smoothing, face
thinning and sharpening. A factor of 0 leaves the photo exactly as it was."""

from __future__ import annotations

import math
from typing import overload

import cv2
import numpy as np

from ..context import CHIN, FACE_LEFT, FACE_OVAL, FACE_RIGHT, LEFT_BROW, LEFT_EYE, LIPS, RIGHT_BROW, RIGHT_EYE
from ..errors import CheckerError

# Brightness: the face's median luma moves toward TARGET_LUMA (0-1) by the factor, through a
# gamma curve (no clipping, hue kept). Faces already within BRIGHT_OK of it are left alone.
TARGET_LUMA = 0.62
BRIGHT_OK = 0.04
# Smoothing: bilateral filter over facial skin; spatial sigma as a share of the face width.
SMOOTH_SIGMA_SPACE = 1 / 60
SMOOTH_SIGMA_COLOR = 28.0
# Thinning: at factor 1 the jaw moves inward by this share of the face width at most.
THIN_MAX_SHIFT = 0.035
THIN_SPREAD = 0.14  # Gaussian reach of each jaw point's pull, share of the face width
# Jaw contour (cheek to chin on both sides) and how strongly each point is pulled (0 at the chin
# and at the cheekbones, most at the jaw's corners).
JAW_RIGHT = (132, 58, 172, 136, 150, 149, 176, 148)  # subject's right, image left, top to chin
JAW_LEFT = (361, 288, 397, 365, 379, 378, 400, 377)
JAW_PULL = (0.45, 0.8, 1.0, 1.0, 0.85, 0.6, 0.35, 0.15)
# Sharpening: unsharp mask on luma, change per pixel limited to SHARP_LIMIT levels (no halos).
SHARP_SIGMA = 1.2
SHARP_AMOUNT = 1.2
SHARP_LIMIT = 24.0
NOSTRILS = (98, 327, 2, 94, 19)


def _factor(name: str, value: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise CheckerError("INVALID_ARGUMENT", f"{name} must be a number from 0 to 1") from None
    if not 0.0 <= v <= 1.0:
        raise CheckerError("INVALID_ARGUMENT", f"{name} must be from 0 to 1, got {value}")
    return v


@overload
def apply_beauty(rgb: np.ndarray, mesh: np.ndarray, *, bright: float = 0.0, smooth: float = 0.0, thin: float = 0.0,
                 sharp: float = 0.0, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...
@overload
def apply_beauty(rgb: np.ndarray, mesh: np.ndarray, *, bright: float = 0.0, smooth: float = 0.0, thin: float = 0.0,
                 sharp: float = 0.0, alpha: None = None) -> tuple[np.ndarray, None]: ...
def apply_beauty(rgb: np.ndarray, mesh: np.ndarray, *, bright: float = 0.0, smooth: float = 0.0, thin: float = 0.0,
                 sharp: float = 0.0, alpha: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Apply the options whose factor is above 0, in the order bright, smooth, thin, sharp.
    ``mesh`` is the 478-point face mesh in this photo's pixels; ``alpha`` (optional) is warped with
    the thinning exactly as the pixels are."""
    bright, smooth = _factor("bright_factor", bright), _factor("smooth_factor", smooth)
    thin, sharp = _factor("thin_face_factor", thin), _factor("sharp_factor", sharp)
    out = rgb
    if bright > 0:
        out = brighten(out, mesh, bright)
    if smooth > 0:
        out = smooth_skin(out, mesh, smooth)
    if thin > 0:
        out, alpha = thin_face(out, mesh, thin, alpha)
    if sharp > 0:
        out = sharpen(out, sharp)
    return out, alpha


def _face_width(mesh: np.ndarray) -> float:
    return float(np.linalg.norm(mesh[FACE_LEFT, :2] - mesh[FACE_RIGHT, :2]))


def _luma(rgb: np.ndarray) -> np.ndarray:
    return (rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114).astype(np.float32) / 255.0


def skin_mask(shape: tuple[int, ...], mesh: np.ndarray) -> np.ndarray:
    """Facial skin (bool): the face oval minus eyes, brows, lips and nostrils (grown a little)."""
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [mesh[list(FACE_OVAL), :2].round().astype(np.int32)], (1,))
    holes = np.zeros(shape, np.uint8)
    for part in (RIGHT_EYE, LEFT_EYE, RIGHT_BROW, LEFT_BROW, LIPS, NOSTRILS):
        cv2.fillPoly(holes, [cv2.convexHull(mesh[list(part), :2].round().astype(np.int32))], (1,))
    grow = max(2, round(_face_width(mesh) * 0.04))
    grown = cv2.dilate(holes, np.ones((2 * grow + 1,) * 2, np.uint8))
    return (mask == 1) & (grown == 0)


def brighten(rgb: np.ndarray, mesh: np.ndarray, factor: float) -> np.ndarray:
    """Move the face's median luma toward TARGET_LUMA by ``factor`` with a gamma curve."""
    skin = skin_mask(rgb.shape[:2], mesh)
    if skin.sum() < 50:
        return rgb
    y = float(np.median(_luma(rgb[skin])))
    if abs(y - TARGET_LUMA) <= BRIGHT_OK or not 0.01 < y < 0.99:
        return rgb
    want = y + factor * (TARGET_LUMA - y)
    gamma = math.log(want) / math.log(y)
    lut = np.clip(255.0 * (np.arange(256) / 255.0) ** gamma + 0.5, 0, 255).astype(np.uint8)
    return cv2.LUT(rgb, lut)


def smooth_skin(rgb: np.ndarray, mesh: np.ndarray, factor: float) -> np.ndarray:
    """Edge-preserving smoothing of facial skin only, feathered at the mask's edge."""
    mask = skin_mask(rgb.shape[:2], mesh)
    ys, xs = np.nonzero(mask)
    if len(ys) < 50:
        return rgb
    fw = _face_width(mesh)
    pad = max(4, round(fw * 0.05))
    y0, y1 = max(0, ys.min() - pad), min(rgb.shape[0], ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(rgb.shape[1], xs.max() + pad + 1)
    crop = rgb[y0:y1, x0:x1]
    sigma_space = max(2.0, fw * SMOOTH_SIGMA_SPACE)
    smoothed = cv2.bilateralFilter(crop, d=-1, sigmaColor=SMOOTH_SIGMA_COLOR, sigmaSpace=sigma_space)
    feather = cv2.GaussianBlur(mask[y0:y1, x0:x1].astype(np.float32), (0, 0), max(1.0, fw * 0.015))
    w = (feather * factor)[:, :, None]
    out = rgb.copy()
    out[y0:y1, x0:x1] = np.clip(crop * (1 - w) + smoothed * w + 0.5, 0, 255).astype(np.uint8)
    # Outside the skin region (eyes, lips, brows, hair, background) nothing changes.
    keep = ~(feather > 0)
    out[y0:y1, x0:x1][keep] = crop[keep]
    return out


def thin_face(rgb: np.ndarray, mesh: np.ndarray, factor: float,
              alpha: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Pull the jaw line toward the face's midline: a smooth local warp around the jaw points only."""
    fw = _face_width(mesh)
    mid_x = float((mesh[FACE_LEFT, 0] + mesh[FACE_RIGHT, 0]) / 2)
    pts, shifts = [], []
    for side, sign in ((JAW_RIGHT, 1.0), (JAW_LEFT, -1.0)):  # right side moves right (inward), left moves left
        for idx, pull in zip(side, JAW_PULL, strict=True):
            p = mesh[idx, :2]
            pts.append(p)
            shifts.append(sign * pull * factor * THIN_MAX_SHIFT * fw * (1.0 if (p[0] - mid_x) * sign < 0 else 0.0))
    pts_a = np.asarray(pts, np.float32)
    shift_a = np.asarray(shifts, np.float32)
    sigma = THIN_SPREAD * fw
    reach = int(3 * sigma)
    ys0 = max(0, int(pts_a[:, 1].min()) - reach)
    ys1 = min(rgb.shape[0], int(max(pts_a[:, 1].max(), mesh[CHIN, 1])) + reach + 1)
    xs0 = max(0, int(pts_a[:, 0].min()) - reach)
    xs1 = min(rgb.shape[1], int(pts_a[:, 0].max()) + reach + 1)
    yy, xx = np.mgrid[ys0:ys1, xs0:xs1].astype(np.float32)
    dx = np.zeros_like(xx)
    for (px, py), s in zip(pts_a, shift_a, strict=True):
        if s:
            dx += s * np.exp(-((xx - px) ** 2 + (yy - py) ** 2) / (2 * sigma * sigma))
    # Each point is pulled by its own shift at most (overlapping Gaussians would add up).
    dx = np.clip(dx, -np.abs(shift_a).max(), np.abs(shift_a).max())
    # Backward map: the output pixel at x shows the source at x - dx.
    map_x, map_y = xx - dx, yy
    out = rgb.copy()
    out[ys0:ys1, xs0:xs1] = cv2.remap(rgb, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    if alpha is not None:
        alpha = alpha.copy()
        alpha[ys0:ys1, xs0:xs1] = cv2.remap(alpha, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out, alpha


def sharpen(rgb: np.ndarray, factor: float) -> np.ndarray:
    """Unsharp mask on luma only, each pixel's change capped (no halos, no colour shifts)."""
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    y = ycc[:, :, 0].astype(np.float32)
    detail = y - cv2.GaussianBlur(y, (0, 0), SHARP_SIGMA)
    boost = np.clip(detail * SHARP_AMOUNT * factor * 2, -SHARP_LIMIT, SHARP_LIMIT)
    ycc[:, :, 0] = np.clip(y + boost + 0.5, 0, 255).astype(np.uint8)
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2RGB)
