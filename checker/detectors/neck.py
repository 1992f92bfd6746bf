"""A shadow on the neck (seed 004's pn_neck_shadow_exist): how much darker than the face the
neck's skin is just under the jaw, in linear luminance, where a chin lit from above casts its
shadow. Every neck is a little darker than the face (it faces down and sits behind the chin), so
the score starts above the drop that evenly lit portraits show. Calibration: docs/calibration/neck.md.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ..context import CHIN, FACE_OVAL, Analysis, NotApplicable
from ..views import skin_model
from . import Measure, clamp_score, detector

VIEW_FACE_WIDTH = 100  # px: the neck is judged with the face scaled to at most this width
# The band judged: from the jaw line down by BAND_DEPTH face widths, within NECK_HALF face widths of
# the chin's column (the middle of a neck about 0.6 face widths wide: hair falling beside the neck
# read as shadow in a band 0.3 wide), on the person and skin-coloured.
BAND_DEPTH = 0.25
NECK_HALF = 0.18
# Skin in shade keeps its hue but loses lightness and some chroma: hue within the face's spread times
# HUE_K, chroma above CHROMA_MIN of the face's, L* above L_MIN. A colourless photo: L* alone.
HUE_K = 3.0
CHROMA_MIN = 0.3
L_MIN = 8.0
# At least this share of the band must be skin for the neck to be judged (else a collar, a scarf, a
# beard or hair covers it: no neck to cast a shadow on, and the check is not applicable).
MIN_SKIN_SHARE = 0.25
# The neck's level: the median of its skin's luminance.
NECK_PERCENTILE = 50
# Luminance drop (1 - neck / face median, linear light) scoring 0 and 60. Evenly lit studio necks (the
# London and Canada sets, train split) read -0.3 to 0.51, median 0.03; the clean photos of
# ../shared/faces -0.48 to 0.50 (obama's, mostly under his collar, the most). A shadow halving the light
# adds about 0.3. docs/calibration/neck.md.
DROP_AT_0, DROP_AT_60 = 0.30, 0.55


def _linear_y(rgb: np.ndarray) -> np.ndarray:
    """Relative luminance (0-1, linear light) of uint8 sRGB pixels."""
    c = rgb.astype(np.float32) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return lin @ np.array([0.2126, 0.7152, 0.0722], np.float32)


def neck_band(a: Analysis) -> np.ndarray:
    """Bool mask (image pixels) of the band under the jaw line where a neck shadow falls."""
    fw = a.face_width
    oval = a.mesh[list(FACE_OVAL), :2]
    cx = float(a.point(CHIN)[0])
    xs = np.arange(a.width, dtype=np.float32)
    # the jaw line: the lowest oval point of each column near the neck (the oval is convex)
    lower = oval[oval[:, 1] > float(oval[:, 1].mean())]
    order = np.argsort(lower[:, 0])
    jaw = np.interp(xs, lower[order, 0], lower[order, 1])
    rows = np.arange(a.height, dtype=np.float32)[:, None]
    band = (rows > jaw[None, :]) & (rows < jaw[None, :] + BAND_DEPTH * fw)
    band &= (np.abs(xs - cx) < NECK_HALF * fw)[None, :]
    return band


@detector("neck_shadow")
def neck_shadow(a: Analysis) -> dict[str, Any]:
    model = skin_model(a)  # None on a colourless photo: then every band pixel not black counts
    band = neck_band(a) & a.person
    if band.sum() < 20:
        raise NotApplicable("no neck is visible under the chin")
    ys, xs = np.nonzero(band)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    scale = min(1.0, VIEW_FACE_WIDTH / a.face_width)
    crop = a.rgb[y0:y1, x0:x1]
    region = band[y0:y1, x0:x1]
    skin_face = a.face_skin
    if scale < 1.0:
        size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
        region = cv2.resize(region.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    lab = cv2.cvtColor(crop.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)
    skin = lab[..., 0] > L_MIN
    if model is not None:
        chroma = np.hypot(lab[..., 1], lab[..., 2])
        hue_off = (np.degrees(np.arctan2(lab[..., 2], lab[..., 1])) - model.hue + 180.0) % 360.0 - 180.0
        skin &= (np.abs(hue_off) < HUE_K * model.hue_spread) & (chroma > CHROMA_MIN * model.chroma)
    neck = region & skin
    share = float(neck.sum() / max(1, region.sum()))
    if share < MIN_SKIN_SHARE:
        raise NotApplicable(f"the neck is covered under the chin ({100 * share:.0f}% of it is skin)")
    face_y = float(np.median(_linear_y(a.rgb[skin_face][:: max(1, int(skin_face.sum()) // 4000)])))
    neck_y = float(np.percentile(_linear_y(crop[neck]), NECK_PERCENTILE))
    drop = 1.0 - neck_y / max(face_y, 1e-6)
    score = 60.0 * (drop - DROP_AT_0) / (DROP_AT_60 - DROP_AT_0)
    value = {"luminance_drop": round(drop, 3), "neck_skin_share": round(share, 3)}
    return {"neck_shadow": Measure(value=value, score=clamp_score(score))}
