"""Body posture (seed 004's body_posture: body not square, a selfie from below, a hand raised, a hand
behind the head, a finger at the nose, the chin on a hand), from two models the mediapipe wheel
carries: the body-pose model (shoulder line, torso lean and turn, raised wrists and elbows) and the hand
landmark model (hands at the face or above the chin). Off by default; asked for, it costs the pose
model (~17 ms) and the hand model (~15 ms).

Lengths are in face widths (cheek to cheek) so they hold at any photo size. Calibration:
docs/calibration/posture.md.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ..context import (
    FACE_OVAL,
    L_ELBOW,
    L_HIP,
    L_SHOULDER,
    L_WRIST,
    POSE_VISIBLE,
    R_ELBOW,
    R_HIP,
    R_SHOULDER,
    R_WRIST,
    Analysis,
    MeasureError,
)
from ..views import HAND_MIN_SCORE
from . import Measure, clamp_score, detector

# --- body (pose model) ----------------------------------------------------------------------------
# Each part's score is 60 (the seed's default threshold) at its *_AT_60 value and linear from 0.
# Shoulder line: level frontal photos read |tilt| <= 4.9 degrees, photos turned 20 degrees 5-21.
TILT_AT_60 = 10.0
# Torso lean from the hips' midpoint to the shoulders' (only when both hips are visible).
LEAN_AT_60 = 15.0
# Torso turn: where the chin sits between the two shoulder landmarks, in shoulder widths from their
# midpoint. Bodies square to the camera (the London and Canada sets, studio protocol, train split)
# read at most 0.11, the clean ID photos of ../shared/faces at most 0.10; official 3/4 portraits
# 0.15-0.25, bodies turned sideways 0.4 and more.
TURN_AT_60 = 0.20

# --- hands (hand model) -------------------------------------------------------------------------------
# Gap from the hand's nearest landmark to the face oval, in face widths (negative: on the face).
# Scores 100 at HAND_TOUCH and less, 0 at HAND_FAR and more, linear between: 60 at 0.54.
# Hands at the chin, nose, cheek or ear read -0.2 to 0.13, a hand under the chin or raised beside the
# face 0.37-0.54, hands held at the chest 0.6-1.0, crossed arms 1.5 and more.
HAND_TOUCH, HAND_FAR = 0.1, 1.2
# A hand reaching above the chin line (at head height) scores 100 however far from the face.
RAISED_SCORE = 100.0
# A pose wrist or elbow counts as raised this many face widths above the shoulders' midpoint, and only
# inside the frame less FRAME_MARGIN of its width each side (on close-ups the model places a guessed
# wrist at the edge, above the shoulders).
RAISED_MARGIN = 0.1
FRAME_MARGIN = 0.02


def _at60(x: float, at60: float) -> float:
    return 60.0 * x / at60


def _inside(a: Analysis, p: np.ndarray) -> bool:
    """A landmark inside the frame (the pose model also places parts it only guesses beyond the edges)."""
    margin = FRAME_MARGIN * a.width
    return bool(margin <= p[0] <= a.width - margin and 0 <= p[1] <= a.height)


def _pose_parts(a: Analysis) -> tuple[dict[str, float], dict[str, Any]]:
    """Scores and values of the body-pose parts; empty when the model does not find both shoulders
    inside the frame."""
    try:
        pose = a.body_pose
    except MeasureError:
        return {}, {}
    shoulders = (pose[L_SHOULDER], pose[R_SHOULDER])
    if min(p[3] for p in shoulders) < POSE_VISIBLE or not all(_inside(a, p) for p in shoulders):
        return {}, {}
    left, right = sorted((pose[L_SHOULDER, :2], pose[R_SHOULDER, :2]), key=lambda p: p[0])
    tilt = float(np.degrees(np.arctan2(right[1] - left[1], right[0] - left[0])))
    mid = (left + right) / 2
    span = max(float(right[0] - left[0]), 1.0)
    turn = float((a.point(152)[0] - mid[0]) / span)
    scores = {"shoulder_tilt": _at60(abs(tilt), TILT_AT_60), "torso_turn": _at60(abs(turn), TURN_AT_60)}
    values: dict[str, Any] = {"shoulder_tilt": round(tilt, 1), "torso_turn": round(turn, 3), "torso_lean": None}
    hips = (pose[L_HIP], pose[R_HIP])
    if min(p[3] for p in hips) >= POSE_VISIBLE and all(_inside(a, p) for p in hips):
        mid_hip = (pose[L_HIP, :2] + pose[R_HIP, :2]) / 2
        lean = float(np.degrees(np.arctan2(mid[0] - mid_hip[0], mid_hip[1] - mid[1])))
        scores["torso_lean"] = _at60(abs(lean), LEAN_AT_60)
        values["torso_lean"] = round(lean, 1)
    # a visible wrist or elbow well above the shoulder line is an arm raised toward the head
    line = mid[1] - RAISED_MARGIN * a.face_width
    raised = [i for i in (L_WRIST, R_WRIST, L_ELBOW, R_ELBOW)
              if pose[i, 3] >= POSE_VISIBLE and _inside(a, pose[i]) and pose[i, 1] < line]
    values["arms_raised"] = len(raised)
    if raised:
        scores["arm_raised"] = RAISED_SCORE
    return scores, values


def _mask_tilt(a: Analysis) -> tuple[dict[str, float], dict[str, Any]]:
    """Without the pose model's shoulders, the shoulder line of the person mask (shoulder_equal's)."""
    from . import measure

    m = measure(a, ["shoulder_equal"])["shoulder_equal"]
    if not m.ok or m.value is None:
        return {}, {}
    return {"shoulder_tilt": _at60(abs(float(m.value)), TILT_AT_60)}, {"shoulder_tilt": m.value,
                                                                       "shoulders_from": "person mask"}


def hand_gaps(a: Analysis) -> list[tuple[float, float]]:
    """Per confident hand: (gap to the face oval, height of its top above the chin), in face widths.
    The gap is negative when a landmark lies on the face; the height positive above the chin line."""
    oval = a.mesh[list(FACE_OVAL), :2].astype(np.float32)
    fw = a.face_width
    out = []
    for hand in a.hands:
        if hand.score < HAND_MIN_SCORE:
            continue
        inside = max(cv2.pointPolygonTest(oval, (float(x), float(y)), True) for x, y in hand.points[:, :2])
        out.append((-inside / fw, float(a.chin_y - hand.points[:, 1].min()) / fw))
    return out


def _hand_parts(a: Analysis) -> tuple[dict[str, float], dict[str, Any]]:
    gaps = hand_gaps(a)
    values: dict[str, Any] = {"hands": len(gaps), "hand_gap": None, "hand_above_chin": None}
    if not gaps:
        return {}, values
    gap = min(g for g, _ in gaps)
    above = max(h for _, h in gaps)
    values["hand_gap"], values["hand_above_chin"] = round(gap, 3), round(above, 3)
    scores = {"hand_near_face": 100.0 * (HAND_FAR - gap) / (HAND_FAR - HAND_TOUCH)}
    if above > 0:
        scores["hand_raised"] = RAISED_SCORE
    return scores, values


@detector("body_posture")
def body_posture(a: Analysis) -> dict[str, Any]:
    """The worst posture part, 0-100 (60 = the seed's default threshold).

    Without the pose model's shoulders the person mask's shoulder line stands in for the tilt; with
    neither (the shoulders are outside the frame, which missing_shoulder judges) the hands alone are
    judged, and the value says so."""
    pose_scores, pose_values = _pose_parts(a)
    if not pose_scores:
        pose_scores, pose_values = _mask_tilt(a)
    if not pose_scores:
        pose_values = {"shoulders_from": "not in the frame"}
    hand_scores, hand_values = _hand_parts(a)
    scores = pose_scores | hand_scores or {"hands": 0.0}
    worst = max(scores, key=scores.__getitem__)
    value = {**pose_values, **hand_values, "worst": worst}
    return {"body_posture": Measure(value=value, score=clamp_score(scores[worst]))}
