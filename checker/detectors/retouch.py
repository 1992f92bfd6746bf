"""Over-retouched skin (seed 004's pn_over_ps): the fine texture of the facial skin (pores, fine
lines, the camera's grain) against the sharpness of the eyes and brows in the same photo. Retouching
smooths the skin and leaves the eyes sharp, so the ratio falls; a photo that is blurred or small all
over loses both and keeps its ratio. Calibration: docs/calibration/retouch.md.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from ..context import LEFT_BROW, LEFT_EYE, RIGHT_BROW, RIGHT_EYE, Analysis, MeasureError
from . import Measure, clamp_score, detector

VIEW_FACE_WIDTH = 200  # px: larger faces are scaled down to this width before the texture is read
MIN_FACE_WIDTH = 120  # px: a smaller face shows no skin texture to judge
DETAIL_SIGMA = 1.0  # px at the view's scale (0.005 face widths): detail = image - Gaussian(sigma)
# Skin texture: median |detail| over the facial skin (the face minus eyes, brows and lips, eroded);
# sharpness: 90th percentile of |detail| over the eyes and brows. Ratio scoring 0 (and less) and 60,
# on a log scale: evenly lit studio photos (London and Canada sets, train split) read 0.06-0.25, 5th
# percentile 0.085; the finished (retouched) ID photos of ../shared/faces 0.041-0.086; the skin's texture
# taken off by 80% (train split) about 0.031.
RATIO_AT_0, RATIO_AT_60 = 0.085, 0.035


@detector("over_retouched")
def over_retouched(a: Analysis) -> dict[str, Any]:
    fw = a.face_width
    if fw < MIN_FACE_WIDTH:
        raise MeasureError(f"the face is too small in the photo ({fw:.0f} px wide) to see the skin's texture")
    x0, y0, x1, y1 = a.face_rect
    pad = int(0.1 * fw)
    x0, y0, x1, y1 = max(0, x0 - pad), max(0, y0 - pad), min(a.width, x1 + pad), min(a.height, y1 + pad)
    gray: np.ndarray = a.gray[y0:y1, x0:x1].astype(np.float32)
    skin: np.ndarray = a.face_skin[y0:y1, x0:x1].astype(np.uint8)
    features: np.ndarray = np.zeros_like(skin)
    pts = a.mesh[:, :2] - (x0, y0)
    for part in (RIGHT_EYE, LEFT_EYE, RIGHT_BROW, LEFT_BROW):
        cv2.fillPoly(features, [cv2.convexHull(pts[list(part)].round().astype(np.int32))], (1,))
    scale = min(1.0, VIEW_FACE_WIDTH / fw)
    if scale < 1.0:
        size = (max(1, round(gray.shape[1] * scale)), max(1, round(gray.shape[0] * scale)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
        skin = cv2.resize(skin, size, interpolation=cv2.INTER_NEAREST)
        features = cv2.resize(features, size, interpolation=cv2.INTER_NEAREST)
    detail = np.abs(gray - cv2.GaussianBlur(gray, (0, 0), DETAIL_SIGMA))
    on_skin = cv2.erode(skin, np.ones((5, 5), np.uint8)) > 0
    on_features = cv2.dilate(features, np.ones((3, 3), np.uint8)) > 0
    if on_skin.sum() < 100 or on_features.sum() < 20:
        raise MeasureError("too little facial skin or too little of the eyes and brows is visible")
    texture = float(np.median(detail[on_skin]))
    sharpness = float(np.percentile(detail[on_features], 90))
    if sharpness < 1.0:
        raise MeasureError("the eyes and brows show no sharp detail to compare the skin with")
    ratio = texture / sharpness
    score = 60.0 * math.log(RATIO_AT_0 / max(ratio, 1e-4)) / math.log(RATIO_AT_0 / RATIO_AT_60)
    value = {"texture_ratio": round(ratio, 4), "skin_texture": round(texture, 3), "edge_sharpness": round(sharpness, 2)}
    return {"over_retouched": Measure(value=value, score=clamp_score(score))}
