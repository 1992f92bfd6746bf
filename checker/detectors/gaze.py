"""Where the eyes look, in degrees from the camera (seed 004's face_gazeNG; its answer names the
parts gaze_LR and gaze_UD). Two readings of the eyes from the face landmarker are combined: the iris
centres inside the eye openings of the mesh (as eyes_nature reads them) and the eyeLook* blendshapes,
the landmarker's own gaze estimate, which follows an iris moved up or down far better than the mesh
does. The head's yaw is added, so eyes turned back to the camera from a turned head look at it; the
head's pitch is not (on frontal portraits it spreads by +-8 degrees, more than the gaze it would
correct; headpose_pitch judges it). Calibration: docs/calibration/gaze.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..context import Analysis
from ..views import iris_offsets, visible_eyes
from . import Measure, clamp_score, detector

# Iris offset in eye widths -> eye rotation: the iris centre turns on a circle of about 12 mm
# around the eye's centre and an eye opening is about 30 mm wide, so an offset d is asin(d / 0.4).
EYE_RADIUS = 0.4
# The mesh follows an iris painted sideways at about 0.7 of the move (train split, 74 photos).
MESH_FOLLOW = 0.7
# Blendshapes: (out - in) of the two eyes, toward the image's left, changes by about -3.0 per eye width
# the irises move toward the image's right and rests at -0.10 on photos looking at the camera; down -
# up changes by about 2.0 per eye width down and rests at 0.02.
BS_SIDE_REST, BS_SIDE_GAIN = -0.10, -3.0
BS_DOWN_REST, BS_DOWN_GAIN = 0.02, 2.0
# Degrees up or down count half: eyes looking at the camera read -15 to +17 degrees from the
# blendshapes alone (narrowed lids read as looking down), sideways -4 to +6 with the head's yaw.
VERTICAL_WEIGHT = 0.5
GAZE_AT_60 = 16.0  # combined degrees scoring 60 (the seed's default threshold)


def _degrees(offset: float) -> float:
    return float(np.degrees(np.arcsin(np.clip(offset / EYE_RADIUS, -1.0, 1.0))))


@detector("gaze_direction")
def gaze_direction(a: Analysis) -> dict[str, Any]:
    """gaze_LR (+ = toward the image's right) and gaze_UD (+ = up) in degrees, and their combination."""
    mesh = visible_eyes(a)
    bs = a.blendshapes
    # image-left eye is the subject's right: its "out" is toward the image's left
    side = ((bs["eyeLookOutRight"] - bs["eyeLookInRight"]) + (bs["eyeLookInLeft"] - bs["eyeLookOutLeft"])) / 2
    down = ((bs["eyeLookDownLeft"] + bs["eyeLookDownRight"]) - (bs["eyeLookUpLeft"] + bs["eyeLookUpRight"])) / 2
    mesh_dx = float(np.mean([h for h, _ in iris_offsets(mesh)])) / MESH_FOLLOW
    bs_dx = (side - BS_SIDE_REST) / BS_SIDE_GAIN
    eye_lr = _degrees((mesh_dx + bs_dx) / 2)
    eye_down = _degrees((down - BS_DOWN_REST) / BS_DOWN_GAIN)
    lr = a.head_pose.yaw + eye_lr
    ud = -eye_down
    combined = float(np.hypot(lr, VERTICAL_WEIGHT * ud))
    value = {"gaze_LR": round(lr, 1), "gaze_UD": round(ud, 1), "eyes_LR": round(eye_lr, 1),
             "head_yaw": round(a.head_pose.yaw, 1), "combined": round(combined, 1)}
    return {"gaze_direction": Measure(value=value, score=clamp_score(60.0 * combined / GAZE_AT_60))}
