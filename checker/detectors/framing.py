"""Where the face and head sit in the frame, in image pixels (and percent where the seed uses it)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..context import FOREHEAD_TOP, NOSE_TIP, Analysis
from . import Measure, clamp_score, detector

# When the head touches the top edge its crown is outside the frame; it is estimated this far
# above the mesh's forehead point, as a fraction of forehead-to-chin (hair included; 0.45 is the
# median over the uncut portraits in ../shared/faces, see docs/calibration/framing.md).
CROWN_ABOVE_FOREHEAD = 0.45
# Fraction of the head outside the frame that scores 100 on incomplete_head.
CUT_FOR_FULL_SCORE = 0.15
# A head that touches the top edge has lost at least this much of itself.
MIN_CUT_WHEN_CLIPPED = 0.05


@detector(
    "eyes_coordinates", "eye_space", "eyes_center_left", "eyes_space_bottom", "face_width", "face_width_ratio",
    "chin_y", "chin_bottom", "face_center", "face_center_offset", "face_rect", "facial_points", "face_box",
    "face_count",
)
def face_geometry(a: Analysis) -> dict[str, Any]:
    left, right = a.eyes
    mid = a.eye_mid
    x0, y0, x1, y1 = a.face_rect
    box = a.face
    face_cx = float((a.mesh[234, 0] + a.mesh[454, 0]) / 2)
    offset = face_cx - a.width / 2
    nose = a.point(NOSE_TIP)
    return {
        "eyes_coordinates": [[round(left[0]), round(left[1])], [round(right[0]), round(right[1])]],
        "eye_space": round(float(np.linalg.norm(right - left)), 1),
        "eyes_center_left": round(float(mid[0]), 1),
        "eyes_space_bottom": round(float(a.height - mid[1]), 1),
        "face_width": round(a.face_width, 1),
        "face_width_ratio": round(100 * a.face_width / a.width, 2),
        "chin_y": round(a.chin_y, 1),
        "chin_bottom": round(a.height - a.chin_y, 1),
        "face_center": round(100 * abs(offset) / a.width, 2),
        "face_center_offset": round(offset, 1),
        "face_rect": [x0, y0, x1, y1],
        "facial_points": [round(v) for v in (left[0], left[1], right[0], right[1], nose[0], nose[1])],
        "face_box": [round(box.x), round(box.y), round(box.w), round(box.h)],
        "face_count": a.face_count,
    }


@detector("head_top", "head_top_pct", "head_length", "head_occupy", "incomplete_head")
def head_extent(a: Analysis) -> dict[str, Any]:
    crown = a.crown
    forehead = float(a.mesh[FOREHEAD_TOP, 1])
    if crown.clipped:
        top = forehead - CROWN_ABOVE_FOREHEAD * (a.chin_y - forehead)
    else:
        top = crown.y
    head_h = a.chin_y - top
    x0, _, x1, _ = a.face_rect
    pad = 0.1 * (x1 - x0)
    cut = _outside_fraction((x0 - pad, top, x1 + pad, a.chin_y), a.width, a.height)
    pts = a.mesh[:468, :2]
    face_out = float(np.mean((pts[:, 0] < 0) | (pts[:, 0] >= a.width) | (pts[:, 1] < 0) | (pts[:, 1] >= a.height)))
    cut = max(cut, face_out, MIN_CUT_WHEN_CLIPPED if crown.clipped else 0.0)
    measured_h = a.chin_y - crown.y
    return {
        "head_top": round(crown.y, 1),
        "head_top_pct": round(100 * crown.y / a.height, 2),
        "head_length": round(measured_h, 1),
        "head_occupy": round(100 * measured_h / a.height, 2),
        "incomplete_head": Measure(value=round(cut, 3), score=clamp_score(100 * cut / CUT_FOR_FULL_SCORE)),
    } | ({"head_length_estimated": round(head_h, 1)} if crown.clipped else {})


def _outside_fraction(box: tuple[float, float, float, float], w: int, h: int) -> float:
    bx0, by0, bx1, by1 = box
    area = max(1e-6, (bx1 - bx0) * (by1 - by0))
    ix0, iy0, ix1, iy1 = max(0, bx0), max(0, by0), min(w, bx1), min(h, by1)
    inside = max(0.0, ix1 - ix0) * max(0.0, iy1 - iy0)
    return float(1 - inside / area)


@detector("left_right_empty", "head_span")
def side_margins(a: Analysis) -> dict[str, Any]:
    """Free space left and right of the head (hair and ears included), from the person mask
    between the crown and the chin."""
    top = int(max(0, a.crown.y))
    bottom = int(min(a.height, a.chin_y))
    rows = a.person[top:bottom]
    cols = np.flatnonzero(rows.mean(axis=0) > 0.05) if rows.size else np.array([], int)
    if cols.size == 0:
        x0, _, x1, _ = a.face_rect
        cols = np.array([x0, x1 - 1])
    left_gap, right_gap = int(cols[0]), int(a.width - 1 - cols[-1])
    return {"left_right_empty": min(left_gap, right_gap), "head_span": [int(cols[0]), int(cols[-1])]}
