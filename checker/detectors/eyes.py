"""Eyes and mouth from the face landmarker: closure, gaze, mouth opening and expression.

The views they read (the face at a fixed width in CIELAB, the eye band at a fixed eye width) and
the mesh index groups are shared with other detectors and live in :mod:`checker.views`, so every
pixel constant here is independent of the photo's size (docs/calibration/eyes.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import heads
from ..context import LIPS, Analysis, MeasureError
from ..views import (
    EYE_CORNERS,
    EYE_LID_PAIRS,
    INNER_LIPS,
    LIP_GAP_PAIRS,
    MIN_EYE_PX,
    MOUTH_CORNERS,
    face_view,
    iris_offsets,
    visible_eyes,
)
from . import Measure, clamp_score, detector

# --- eyes_close -------------------------------------------------------------------------------
# Two signals per eye, the larger wins. Geometry: lid gap / eye width as the mesh reports it; OPEN
# is a narrow but open eye (frontal photos of ../shared/faces read 0.28-0.44 with the landmarker's
# mesh, the squinting smile in obama.jpg 0.20), SHUT what it reads on an eye painted shut
# (0.04-0.07). Learned: the landmarker's eyeBlink blendshape; open eyes read 0.00-0.29 (obama's
# squint the most), eyes painted shut 0.47-0.69 (real closed eyes read higher: the painted lid has
# no lashes or crease). Figures in docs/calibration/eyes.md.
OPEN_RATIO = 0.28
SHUT_RATIO = 0.05
BLINK_OPEN, BLINK_SHUT = 0.25, 0.60


GAZE_HALF = 0.13  # iris offset (eye widths) that scores 50
# The landmarker's mesh follows an iris moved sideways at 0.6-0.8 of the move and one moved up or
# down at only about 0.3 of it, so vertical offsets count double (more would turn the frontal
# photos' own spread, -0.12 to -0.05, into false alarms).
VERTICAL_WEIGHT = 2.0

# --- mouth_open -------------------------------------------------------------------------------
# Lip gap / mouth width: 0 scores 0, MOUTH_GAP_HALF 50 (the train split of data/manifest.csv,
# lips apart vs closed, balanced best at 0.05-0.06; closed mouths of ../shared/faces read 0.00-0.015),
# MOUTH_GAP_WIDE 100 (a mouth wide open), linear in between: a smile with parted lips (0.15) scores
# about 63, so a spec can accept it and still refuse a wide-open mouth.
MOUTH_GAP_HALF, MOUTH_GAP_WIDE = 0.06, 0.40
# jawOpen blendshape scoring 0 and 100: closed mouths read 0.00-0.11 (obama's open smile the most),
# mouths painted open by 0.2-0.3 of their width 0.05-0.45 (the painted gap has no jaw drop).
JAW_REST, JAW_FULL = 0.10, 0.50

# --- expression -------------------------------------------------------------------------------
# A smile is judged by the `smile` head (checker/heads): a logistic regression over the 52
# blendshapes trained on the train split of data/manifest.csv (closed-mouth and teeth smiles vs
# neutral faces; docs/calibration/heads.md). Score = 100 x its probability, so 50 is p = 0.5. The
# mean mouthSmile blendshape alone separates less well (closed-mouth smiles read 0.03-0.75) and is
# kept in the value. Teeth: visible-teeth area / mouth width^2 (0 when closed, 0.03-0.09 when
# shown) scores on its own.
TEETH_HALF = 0.02  # teeth area scoring 50
# Under a mask the blendshapes still guess a mouth (mask_116_with "smiles" 0.52-0.83): the mouth's
# lips must be visible for the mouth to be judged. Share of the lip band that is skin- or
# lip-coloured: masked faces of ../shared/faces read 0.00, bare mouths 0.27-0.97 (pale lips on
# pale skin lowest, London set of data/manifest.csv).
LIPS_VISIBLE = 0.15


# ==============================================================================================
# Measures
# ==============================================================================================
def _dist(mesh: np.ndarray, i: int, j: int) -> float:
    return float(np.linalg.norm(mesh[i, :2] - mesh[j, :2]))


def eye_openings(mesh: np.ndarray) -> list[float]:
    """Lid gap / eye width per eye (image-left eye first), lid gap averaged over three pairs."""
    out = []
    for (o, i), pairs in zip(EYE_CORNERS, EYE_LID_PAIRS, strict=True):
        gap = np.mean([_dist(mesh, u, d) for u, d in pairs])
        out.append(float(gap / max(1e-6, _dist(mesh, o, i))))
    return out


@detector("eyes_close")
def eyes_close(a: Analysis) -> dict[str, Any]:
    """Closure of the more closed eye, 0 = open, 100 = shut: per eye the larger of the lid-gap
    closure and the blink blendshape's (image-left eye = the subject's right = eyeBlinkRight)."""
    mesh = visible_eyes(a)
    ratios = eye_openings(mesh)
    blinks = [a.blendshapes["eyeBlinkRight"], a.blendshapes["eyeBlinkLeft"]]
    closures = [max((OPEN_RATIO - r) / (OPEN_RATIO - SHUT_RATIO), (b - BLINK_OPEN) / (BLINK_SHUT - BLINK_OPEN))
                for r, b in zip(ratios, blinks, strict=True)]
    value = {"lid_gap": [round(r, 3) for r in ratios], "blink": [round(b, 3) for b in blinks]}
    return {"eyes_close": Measure(value=value, score=clamp_score(100 * max(closures)))}


# --- gaze -------------------------------------------------------------------------------------
@detector("gaze")
def gaze(a: Analysis) -> dict[str, Any]:
    """Where the irises sit inside the eyes: both eyes' offsets averaged (a gaze moves both)."""
    mesh = visible_eyes(a)
    offs = np.array(iris_offsets(mesh))
    h, v = offs.mean(axis=0)
    off = float(np.hypot(h, VERTICAL_WEIGHT * v))
    return {"gaze": Measure(value={"horizontal": round(float(h), 3), "vertical": round(float(v), 3)},
                            score=clamp_score(50 * off / GAZE_HALF))}


def lip_gap(mesh: np.ndarray) -> float:
    """Inner-lip gap / mouth width (corner to corner)."""
    gap = np.mean([_dist(mesh, u, d) for u, d in LIP_GAP_PAIRS])
    return float(gap / max(1e-6, _dist(mesh, *MOUTH_CORNERS)))


@detector("mouth_open")
def mouth_open(a: Analysis) -> dict[str, Any]:
    """Open mouth: the larger of the lip gap's score and the jawOpen blendshape's."""
    mesh = a.mesh
    if _dist(mesh, *MOUTH_CORNERS) < 2 * MIN_EYE_PX:
        raise MeasureError("the mouth is too small in the photo to judge")
    gap = lip_gap(mesh)
    jaw = a.blendshapes["jawOpen"]
    gap_score = (50 * gap / MOUTH_GAP_HALF if gap <= MOUTH_GAP_HALF
                 else 50 + 50 * (gap - MOUTH_GAP_HALF) / (MOUTH_GAP_WIDE - MOUTH_GAP_HALF))
    score = max(gap_score, 100 * (jaw - JAW_REST) / (JAW_FULL - JAW_REST))
    return {"mouth_open": Measure(value={"lip_gap": round(gap, 3), "jaw_open": round(jaw, 3)},
                                  score=clamp_score(score))}


def lips_visible(a: Analysis) -> bool:
    """True when the band of the lips is mostly skin- or lip-coloured (not under a mask or hand)."""
    view = face_view(a)
    lips = view.poly(LIPS) & ~view.poly(INNER_LIPS)
    return bool(lips.any() and view.skin[lips].mean() >= LIPS_VISIBLE)


def teeth_area(a: Analysis) -> float:
    """Visible teeth (bright, colourless pixels between the inner lips) / mouth width^2."""
    view = face_view(a)
    inner = view.poly(INNER_LIPS)
    if not inner.any():
        return 0.0
    lab = view.lab[inner]
    ref_l, ref_c = view.ref[0], float(np.hypot(view.ref[1], view.ref[2]))
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    teeth = (lab[:, 0] > max(50.0, 0.8 * ref_l)) & (chroma < max(8.0, 0.6 * ref_c))
    width = float(np.linalg.norm(view.pts[MOUTH_CORNERS[0]] - view.pts[MOUTH_CORNERS[1]]))
    return float(teeth.sum() / max(width, 1.0) ** 2)


@detector("expression")
def expression(a: Analysis) -> dict[str, Any]:
    """Non-neutral mouth: a smile (the smile head over the blendshapes) or teeth shown, whichever is more.

    Any smile scores above the default 50, a closed-mouth one too (ICAO asks for a neutral
    expression); a spec that accepts a natural smile raises the threshold (the US passport does).
    A mouth under a mask or a hand is not judged: the blendshapes would only guess it."""
    if not lips_visible(a):
        raise MeasureError("the mouth is covered, so the expression cannot be judged")
    shapes = a.blendshapes
    p_smile = heads.load("smile").probability(shapes)
    teeth = teeth_area(a)
    value = {"smile_probability": round(p_smile, 3),
             "mouth_smile": round((shapes["mouthSmileLeft"] + shapes["mouthSmileRight"]) / 2, 3),
             "teeth": round(teeth, 4)}
    return {"expression": Measure(value=value, score=clamp_score(max(100 * p_smile, 50 * teeth / TEETH_HALF)))}
