"""Checks of a generated photo that do not trust the service's own re-check: what a person looking at
the output would see as wrong with it."""

from __future__ import annotations

import numpy as np

from checker.context import CHIN, Analysis
from checker.imaging import load_photo

CORNER = 0.06  # of the output's width: the top corners looked at


def outside_checks(photo: bytes, cutout: np.ndarray) -> list[str]:
    """What is wrong with an output (``photo``, the file; ``cutout``, its RGBA before the background):
    a body that stops above the bottom edge under the chin, and anything of the old photo in the top
    corners (remnants, the wedge of a turned frame). Empty: nothing seen."""
    found = []
    alpha = cutout[:, :, 3]
    h, w = alpha.shape
    again = Analysis(load_photo(photo))
    cx, fw = float(again.point(CHIN)[0]), again.face_width  # under the chin, the neck's width or more
    under = alpha[-1, max(0, int(cx - 0.35 * fw)):min(w, int(cx + 0.35 * fw))]
    if under.size == 0 or (under > 128).mean() < 1.0:
        found.append("floating torso")
    c = max(2, int(CORNER * w))
    if alpha[:c, :c].max() > 32 or alpha[:c, -c:].max() > 32:
        found.append("old photo in a top corner")
    return found
