"""Accessories over the face (seed 004's decoration_occlusion): jewellery, hair clips, stickers or
badges on the forehead, temples, cheeks or nose. In the shared face view (the face 128 px wide, in
CIELAB, with a reference skin colour), pixels of the face that are far from the skin's colour in a
way skin, hair and shade never are (a saturated colour, or a hue well away from skin's) and that
form blobs, as a share of the face. The band of the eyes and brows (glasses, which their own checks
judge), the lips and the face's outer rim (hair, ears, background) are left out.
Calibration: docs/calibration/decoration.md.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ..context import FACE_OVAL, LEFT_BROW, LEFT_EYE, LIPS, RIGHT_BROW, RIGHT_EYE, Analysis, MeasureError
from ..views import FACE_VIEW_WIDTH, face_view
from . import Measure, clamp_score, detector

RIM = 0.06  # face widths of the oval's edge left out (stray hair, the ears, the background)
EYE_BAND_GROW = 0.03  # face widths around the eyes' and brows' hull left out (spectacle frames)
# A pixel is accessory-coloured when it is at least DE_MIN from the face's median colour (ΔE76) and either
# more saturated than skin by CHROMA_EXTRA or of a hue HUE_OFF degrees or more from skin's with some
# chroma (blue, green, purple, red-pink: never skin, hair or shade). Make-up and blush stay within
# them on the train split; dark and colourless pixels (hair, brows, shade, nostrils) never count.
DE_MIN = 22.0
CHROMA_EXTRA = 25.0
HUE_OFF, HUE_CHROMA = 40.0, 10.0
MIN_BLOB = 6  # view pixels: smaller specks (moles, a stray coloured pixel) are left out
SHARE_AT_60 = 0.008  # share of the judged face that scores 60 (a disc 0.1 face widths across is ~0.012)


def _region(view_shape: tuple[int, int], pts: np.ndarray, oval: np.ndarray) -> np.ndarray:
    """The judged face: the oval pulled in by RIM, minus the eyes' and brows' band and the lips."""
    mask = np.zeros(view_shape, np.uint8)
    centre = oval.mean(axis=0)
    inner = centre + (oval - centre) * (1 - 2 * RIM)
    cv2.fillPoly(mask, [inner.round().astype(np.int32)], (1,))
    grow = max(1, round(EYE_BAND_GROW * FACE_VIEW_WIDTH))
    kernel = np.ones((2 * grow + 1,) * 2, np.uint8)
    hulls = np.zeros_like(mask)
    for group in ((RIGHT_EYE, RIGHT_BROW), (LEFT_EYE, LEFT_BROW), (LIPS,)):
        idx = [i for part in group for i in part]
        cv2.fillPoly(hulls, [cv2.convexHull(pts[idx].round().astype(np.int32))], (1,))
    left_out = cv2.dilate(hulls, kernel)
    return (mask == 1) & (left_out == 0)


@detector("decoration_occlusion")
def decoration_occlusion(a: Analysis) -> dict[str, Any]:
    view = face_view(a)
    pts = view.pts
    region = _region(view.shape, pts, pts[list(FACE_OVAL)])
    if region.sum() < 200:
        raise MeasureError("too little of the face is in the photo to look for accessories on it")
    lab = view.lab
    # the judged face's own median colour: the skin cells' reference fails under sunglasses, a hat's
    # shade or blown highlights, and an accessory is a small part of the face
    ref = np.median(lab[region], axis=0)
    ref_chroma = float(np.hypot(ref[1], ref[2]))
    ref_hue = float(np.degrees(np.arctan2(ref[2], ref[1])))
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    hue_off = np.abs((np.degrees(np.arctan2(lab[..., 2], lab[..., 1])) - ref_hue + 180.0) % 360.0 - 180.0)
    de = np.sqrt(((lab - ref) ** 2).sum(axis=2))
    coloured = (chroma > ref_chroma + CHROMA_EXTRA) | ((hue_off > HUE_OFF) & (chroma > HUE_CHROMA))
    odd = (region & (de > DE_MIN) & coloured).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(odd, connectivity=8)
    big = [k for k in range(1, n) if stats[k, cv2.CC_STAT_AREA] >= MIN_BLOB]
    area = float(sum(stats[k, cv2.CC_STAT_AREA] for k in big))
    share = area / float(region.sum())
    largest = max((float(stats[k, cv2.CC_STAT_AREA]) for k in big), default=0.0)
    value = {"share": round(share, 4), "blobs": len(big),
             "largest": round(float(np.sqrt(largest)) / FACE_VIEW_WIDTH, 3)}  # side of a square, face widths
    return {"decoration_occlusion": Measure(value=value, score=clamp_score(60.0 * share / SHARE_AT_60))}
