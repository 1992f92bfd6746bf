"""Masks, hats and anything else covering the face.

Masks and facial shelter read colour and structure on the shared face view (eyes.face_view: the
face 128 px wide, in CIELAB, with a reference skin colour taken as the median of several skin
cells). Headwear is recognised by the ImageNet classifier's headwear classes on a crop of the head:
real caps, beanies and scarves are textured like hair, so texture cannot tell them apart.
See docs/calibration/coverings.md.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from .. import models
from ..context import LIPS, NOSE_TIP, Analysis, MeasureError
from . import Measure, clamp_score, detector
from .eyes import (
    EYE_CONTOURS,
    FACE_VIEW_WIDTH,
    FaceView,
    face_oval_arc_below,
    face_view,
    polygon_mask,
)

SUBNASALE = 2  # mesh point under the nose: the top of the lower face a mask covers
# A pixel is "not this face's skin" when its chroma plane position is further than this from the
# reference skin colour (ΔE in a*b*; skin across one frontal face varies by 1-8), or when it is
# not skin-coloured at all.
FOREIGN_AB = 10.0
# Cells and zones must contain this many view pixels to be judged.
MIN_PIXELS = 12

# --- mask -------------------------------------------------------------------------------------
# Score = 100 x the share of the lower face (below the nose, lips left out) that is not
# skin-coloured: bare faces read 0-12, real and painted masks 94-100.

# --- hat --------------------------------------------------------------------------------------
# Every ImageNet class that is something worn on the head (a priori, not picked on data).
# ("ski mask" is left out: it covers the face, and surgical masks light it up; pn_mask_exist judges those.)
HEADWEAR_CLASSES = ("bathing cap", "bonnet", "cowboy hat", "crash helmet", "football helmet", "mortarboard",
                    "shower cap", "sombrero")
# Their summed probability on the head crop scores 50 at HAT_HALF: on the train split of
# data/manifest.csv bare heads read 0.00-0.016 (the int8 model's first steps) with a few hairstyles
# up to 0.05 (a flowered headband in ../shared/faces 0.039), most headwear 0.086-0.84; 0.045 keeps
# false alarms under 1% (docs/calibration/coverings.md). Each e-fold moves the score by HAT_SLOPE.
HAT_HALF = 0.045
HAT_SLOPE = 12.5

# --- facial_shelter ---------------------------------------------------------------------------
MOUTH_RANGE_HALF = 10.0  # lightness range (L) across the lips that scores 50; bare mouths 13-45
EYE_CONTRAST_HALF = 12.0  # lightness spread inside an eye opening that scores 50


# ==============================================================================================
# mask
# ==============================================================================================
def lower_face(view: FaceView) -> np.ndarray:
    """Bool mask of the lower face: the face oval below the nose, pulled 10% in from the jaw
    line (so background and neck never count), lips left out."""
    p = view.pts
    top = float(p[SUBNASALE, 1])
    arc = face_oval_arc_below(p, top)
    if len(arc) < 3:
        return np.zeros(view.shape, bool)
    centre = np.array([p[NOSE_TIP, 0], top])
    arc = centre + (arc - centre) * 0.9
    region = polygon_mask(view.shape, np.vstack([[arc[0, 0], top], arc, [arc[-1, 0], top]]))
    lips = polygon_mask(view.shape, cv2.convexHull(p[list(LIPS)].astype(np.float32))[:, 0])
    return region & ~lips


def _require_colour(view: FaceView) -> None:
    """Colour tells a mask from skin only when some part of the face shows skin colour."""
    cells = view.cells()
    upper = [cells[k] for k in ("forehead", "nose", "under_eye_left", "under_eye_right")]
    if not any(c.any() and view.skin[c].mean() >= 0.5 for c in upper):
        raise MeasureError("no skin colour is visible above the nose (grey-scale photo or a strong colour cast)")


@detector("mask")
def mask(a: Analysis) -> dict[str, Any]:
    view = face_view(a)
    _require_colour(view)
    region = lower_face(view)
    if region.sum() < MIN_PIXELS:
        raise MeasureError("the lower face is not in the photo")
    skin, source = float(view.skin[region].mean()), "mesh"
    value = {"lower_face_skin": round(skin, 3), "from": source}
    return {"mask": Measure(value=value, score=clamp_score(100 * (1 - skin)))}


# ==============================================================================================
# hat
# ==============================================================================================
@detector("hat")
def hat(a: Analysis) -> dict[str, Any]:
    """Headwear above the forehead: the classifier's headwear probability on the head crop."""
    clf = models.get("imagenet_classifier")
    scores = a.class_scores("head")
    cols = clf.index(HEADWEAR_CLASSES)
    prob = float(scores[cols].sum())
    top = clf.labels[cols[int(np.argmax(scores[cols]))]]
    score = 50 + HAT_SLOPE * np.log(max(prob, 1e-4) / HAT_HALF)
    return {"hat": Measure(value={"headwear_probability": round(prob, 4), "likeliest": top},
                           score=clamp_score(score))}


# ==============================================================================================
# facial_shelter
# ==============================================================================================
def cheek_zones(view: FaceView) -> dict[str, np.ndarray]:
    """Each upper cheek: under the eye, beside the nose, down to the mouth corner, and most of
    the way out to the face edge."""
    p = view.pts
    out = {}
    corners = {"cheek_left": (234, 145, 129, 61), "cheek_right": (454, 374, 358, 291)}  # face edge, lid, nose, mouth
    for name, (edge, lid, nose, corner) in corners.items():
        e = p[edge]
        poly = np.array([
            p[lid] + [0, 0.05 * FACE_VIEW_WIDTH],
            p[nose],
            p[corner],
            [p[corner][0] + 0.75 * (e[0] - p[corner][0]), p[corner][1]],
            e + 0.2 * (p[nose] - e),
        ])
        out[name] = polygon_mask(view.shape, poly)
    return out


def foreign_share(view: FaceView, region: np.ndarray) -> float:
    lab = view.lab[region]
    dab = np.hypot(lab[:, 1] - view.ref[1], lab[:, 2] - view.ref[2])
    return float(((dab > FOREIGN_AB) | ~view.skin[region]).mean())


def mouth_range(view: FaceView) -> float:
    """Lightness range down the middle of the mouth (lip, lip line, lip): a flat cover has none."""
    p = view.pts
    left, right = p[61, 0], p[291, 0]
    x0, x1 = int(left + 0.2 * (right - left)), int(right - 0.2 * (right - left)) + 1
    y0, y1 = int(p[0, 1]), int(p[17, 1]) + 1
    h, w = view.shape
    x0, x1, y0, y1 = max(0, x0), min(w, x1), max(0, y0), min(h, y1)
    if x1 - x0 < 2 or y1 - y0 < 3:
        return 0.0
    rows = np.median(view.lab[y0:y1, x0:x1, 0], axis=1)
    return float(rows.max() - rows.min())


def eye_contrast(view: FaceView, k: int) -> float:
    """Lightness spread (95th - 5th percentile) inside eye ``k``'s opening: iris against white."""
    region = view.poly(EYE_CONTOURS[k])
    if region.sum() < 4:
        return 0.0
    light = view.lab[..., 0][region]
    return float(np.percentile(light, 95) - np.percentile(light, 5))


@detector("facial_shelter")
def facial_shelter(a: Analysis) -> dict[str, Any]:
    """The most covered of: each upper cheek (share unlike the face's skin), the mouth (no lip
    structure left) and each eye (no iris-on-white contrast left). The chin is left out: beards."""
    view = face_view(a)
    parts: dict[str, float] = {}
    for name, zone in cheek_zones(view).items():
        if zone.sum() >= MIN_PIXELS:
            parts[name] = foreign_share(view, zone)
    parts["mouth"] = min(1.0, max(0.0, 1 - mouth_range(view) / (2 * MOUTH_RANGE_HALF)))
    for k, name in enumerate(("eye_left", "eye_right")):
        parts[name] = min(1.0, max(0.0, 1 - eye_contrast(view, k) / (2 * EYE_CONTRAST_HALF)))
    worst = max(parts, key=parts.get)
    value = {k: round(v, 3) for k, v in parts.items()} | {"worst": worst}
    return {"facial_shelter": Measure(value=value, score=clamp_score(100 * parts[worst]))}
