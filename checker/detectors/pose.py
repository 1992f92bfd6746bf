"""Head pose from the face mesh, and the eye line."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..context import Analysis
from . import Measure, clamp_score, detector

# Degrees of the worst axis that score 100 on the seed's head_pose scale.
POSE_FOR_FULL_SCORE = 30.0


@detector("headpose_yaw", "headpose_pitch", "headpose_roll", "facial_pose", "head_pose")
def head_pose(a: Analysis) -> dict[str, Any]:
    p = a.head_pose
    worst = max(abs(p.yaw), abs(p.pitch), abs(p.roll))
    return {
        "headpose_yaw": round(p.yaw, 1),
        "headpose_pitch": round(p.pitch, 1),
        "headpose_roll": round(p.roll, 1),
        "facial_pose": round(worst, 1),
        "head_pose": Measure(value=round(worst, 1), score=clamp_score(100 * worst / POSE_FOR_FULL_SCORE)),
    }


@detector("sight_line")
def eye_line(a: Analysis) -> dict[str, Any]:
    """Tilt of the line through the two iris centres, degrees (0 = level)."""
    left, right = a.eyes
    dx, dy = right - left
    return {"sight_line": round(abs(float(np.degrees(np.arctan2(dy, dx)))), 1)}
