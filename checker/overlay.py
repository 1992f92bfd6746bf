"""What a picture of the report draws over the photo: the measured face geometry and the spec's
windows, all in the photo's pixels (y down), so a client needs no knowledge of the rules to draw it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _value(measures: Mapping[str, Any], name: str) -> Any:
    m = measures.get(name)
    return m.value if m is not None and m.ok else None


def _window(lo: float | None, hi: float | None) -> list[float | None] | None:
    """A [top, bottom] band; None when neither side is known."""
    if lo is None and hi is None:
        return None
    return [round(v, 1) if v is not None else None for v in (lo, hi)]


def geometry(measures: Mapping[str, Any], expected: Mapping[str, Mapping[str, Any]],
             size: tuple[int, int]) -> dict[str, Any]:
    """Face box, eye points, crown and chin lines, and where the spec wants the crown and the eye line.

    ``crown_window``: where the top of the head may lie given the chin, from ``head_length``;
    ``eye_window``: where the eye line may lie, from ``eyes_space_bottom`` (measured from the bottom
    edge). Either side of a window may be None (an open bound); a window is None when the spec has none.
    """
    width, height = size
    box = _value(measures, "face_box")
    eyes = _value(measures, "eyes_coordinates")
    chin = _value(measures, "chin_y")
    crown = _value(measures, "head_top")
    out: dict[str, Any] = {
        "size": [width, height],
        "face_box": list(box) if box is not None else None,
        "eyes": [list(map(float, e)) for e in eyes] if eyes is not None else None,
        "chin_y": chin, "crown_y": crown, "crown_window": None, "eye_window": None,
    }
    head = expected.get("head_length") or {}
    if chin is not None and ("min" in head or "max" in head):
        out["crown_window"] = _window(chin - head["max"] if head.get("max") is not None else None,
                                      chin - head["min"] if head.get("min") is not None else None)
    eye = expected.get("eyes_space_bottom") or {}
    if "min" in eye or "max" in eye:
        out["eye_window"] = _window(height - eye["max"] if eye.get("max") is not None else None,
                                    height - eye["min"] if eye.get("min") is not None else None)
    return out
