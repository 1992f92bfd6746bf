"""Shoulders and body, classically from the person mask and the face mesh: level shoulders,
shoulders inside the frame, a body that reaches the bottom edge, bare shoulders and shoulder
width. body_posture, which runs the body-pose and hand models, lives in posture.py.

Lengths are in face widths (cheek to cheek) so they hold at any photo size. Calibration:
docs/calibration/body.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..context import CHIN, Analysis, MeasureError, NotApplicable
from ..views import MIN_BACKGROUND_SHARE, View, background_median, lab_of, skin_mask, skin_model, small_view
from . import Measure, clamp_score, detector

# --- shoulder line ---------------------------------------------------------------------------------
# The top of the person mask on each side of the neck, between SHOULDER_NEAR and SHOULDER_FAR face
# widths from the chin's column (nearer is the neck, farther the arms), below the chin. Each side
# gets a line; the tilt compares their heights at a distance both sides share. Level frontal
# photos measure |tilt| <= 4.4 degrees, a 12-degree rotation moves it by 8.7-23 (the estimate runs
# high on steeply sloping shoulders), so 50 sits at 7 degrees.
SHOULDER_NEAR, SHOULDER_FAR = 0.3, 1.25
SHOULDER_MIN_COLUMNS = 3
SHOULDER_MIN_SPAN = 0.08  # face widths of contour each side needs (tight ID crops show little more)
SHOULDER_MAX_GAP = 0.3  # face widths allowed between the two sides' ranges
TILT_FULL_SCORE = 14.0

# --- shoulders in the frame ----------------------------------------------------------------------
# Shoulders start 0.1-0.4 face widths below the chin. Room under the chin scores 0 from ROOM_OK
# and 100 at ROOM_OK - ROOM_SPAN; the body's width at its lowest rows scores 0 from WIDTH_OK face
# widths (clean photos: 2.06 and more) and 100 at WIDTH_OK - WIDTH_SPAN (a neck alone: 0.8-1.4).
ROOM_OK, ROOM_SPAN = 0.6, 0.5
WIDTH_OK, WIDTH_SPAN = 1.8, 0.6
BOTTOM_ROWS = 3  # view rows that make "the lowest rows"

# --- body reaching the bottom edge ---------------------------------------------------------------
# A bottom row is empty when EMPTY_SHARE of it is within EMPTY_DE (ΔE76) of its own colour and
# that colour is the background's (within EMPTY_BG_DE) or the row holds almost no person.
# The segmenter tends to paint plain padding under a body as person, so colour decides first.
EMPTY_DE, EMPTY_SHARE, EMPTY_BG_DE = 8.0, 0.97, 12.0
HANG_FULL_SCORE = 0.2  # face widths of empty rows under the body that score 100 (0.1 scores 50)

# --- bare shoulders -------------------------------------------------------------------------------
# Band: BAND_TOP-BAND_BOTTOM face widths below the chin, farther than BAND_NECK from the chin's
# column (so neck and an open collar do not count). Score: the band's skin share; 40 % scores 50.
BAND_TOP, BAND_BOTTOM, BAND_NECK = 0.25, 1.2, 0.6
BARE_FULL_SHARE = 0.8

# --- the body's extent ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Extent:
    bottom: int  # view rows above this hold the body; rows from it down are empty background
    lowest_cols: tuple[int, int] | None  # person columns (first, last) in the body's lowest rows


def extent(a: Analysis) -> Extent:
    return a.memo("body.extent", lambda: _extent(a, small_view(a)))


def _extent(a: Analysis, v: View) -> Extent:
    bottom = v.person.shape[0] - _empty_rows(v)
    rows = v.person[max(0, bottom - BOTTOM_ROWS):bottom] >= 0.5
    cols = np.flatnonzero(rows.any(axis=0)) if rows.size else np.array([], int)
    return Extent(bottom, (int(cols[0]), int(cols[-1])) if cols.size else None)


def _empty_rows(v: View) -> int:
    """Rows at the bottom edge that hold only plain background (the body stops above them)."""
    ref = lab_of(background_median(v)) if v.bg_count >= MIN_BACKGROUND_SHARE * v.background.size else None
    h = v.lab.shape[0]
    count, block = 0, 8
    while count < h // 2:  # walk up from the bottom a few rows at a time; usually the first row ends it
        lo = max(0, h - count - block)
        rows = v.lab[lo:h - count]
        colour = rows.mean(axis=1)  # a plain row's mean is its colour; other rows fail plainness anyway
        off = rows - colour[:, None]
        plain = (np.einsum("ijk,ijk->ij", off, off) < EMPTY_DE**2).mean(axis=1) >= EMPTY_SHARE
        no_person = (v.person[lo:h - count] >= 0.5).mean(axis=1) < 0.1
        like_bg = np.zeros(len(rows), bool) if ref is None else ((colour - ref) ** 2).sum(axis=1) < EMPTY_BG_DE**2
        empty = plain & (like_bg | no_person)
        full = np.flatnonzero(~empty)
        if full.size:
            return count + len(rows) - 1 - int(full[-1])
        count += len(rows)
    return count


# --- shoulder line --------------------------------------------------------------------------------
@detector("shoulder_equal")
def shoulder_equal(a: Analysis) -> dict[str, Any]:
    """Signed shoulder-line tilt in degrees (> 0: the image-right shoulder is lower, clockwise)."""
    tilt = _shoulder_tilt(a, small_view(a), extent(a).bottom)
    return {"shoulder_equal": Measure(value=round(tilt, 1), score=clamp_score(100 * abs(tilt) / TILT_FULL_SCORE))}


def _shoulder_tilt(a: Analysis, v: View, bottom: int) -> float:
    person = v.person[:bottom] >= 0.5
    h, w = person.shape
    if h < 3:
        raise MeasureError("no body is visible below the face")
    top = np.where(person.any(axis=0), person.argmax(axis=0), h).astype(np.float32)
    fw = a.face_width / v.scale
    chin = a.chin_y / v.scale
    xs = np.arange(w, dtype=np.float32)
    d = (xs - a.point(CHIN)[0] / v.scale) / fw
    y = (top - chin) / fw
    # below the chin (higher is hair or head), above the frame's bottom, clear of the side edges
    ok = (y > -0.1) & (top < h - 2) & (np.abs(d) > SHOULDER_NEAR) & (np.abs(d) < SHOULDER_FAR)
    ok &= (xs > 1) & (xs < w - 2)
    lines = []
    for side, name in ((-1, "image-left"), (1, "image-right")):
        pick = ok & (np.sign(d) == side)
        dist, height = np.abs(d[pick]), y[pick]
        if len(dist) < SHOULDER_MIN_COLUMNS or np.ptp(dist) < SHOULDER_MIN_SPAN:
            raise NotApplicable(f"the {name} shoulder is not visible (outside the frame or under hair)")
        lines.append((_robust_line(dist, height), float(dist.min()), float(dist.max())))
    lo = max(lines[0][1], lines[1][1])
    hi = min(lines[0][2], lines[1][2])
    if lo > hi + SHOULDER_MAX_GAP:
        raise MeasureError("the two shoulders are visible at too different distances from the neck to compare")
    d0 = (lo + hi) / 2
    left, right = (float(np.polyval(line, d0)) for line, _, _ in lines)
    return float(np.degrees(np.arctan2(right - left, 2 * d0)))


def _robust_line(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares line, refitted without points far off it (hair strands, a collar tip)."""
    line = np.polyfit(x, y, 1)
    off = np.abs(np.polyval(line, x) - y)
    keep = off < max(0.05, 2.5 * float(np.median(off)))
    return np.polyfit(x[keep], y[keep], 1) if keep.sum() >= SHOULDER_MIN_COLUMNS else line


# --- frame: shoulders in it, body reaching its bottom ---------------------------------------------
@detector("missing_shoulder", "lower_body_hanging", "shoulder_width_ratio")
def body_in_frame(a: Analysis) -> dict[str, Any]:
    v = small_view(a)
    ext = extent(a)
    fw = a.face_width
    room = (ext.bottom * v.scale - a.chin_y) / fw
    width_px = 0 if ext.lowest_cols is None else ext.lowest_cols[1] - ext.lowest_cols[0] + 1
    width = width_px * v.scale / fw
    missing = max(100 * (ROOM_OK - room) / ROOM_SPAN, 100 * (WIDTH_OK - width) / WIDTH_SPAN)
    gap = (v.person.shape[0] - ext.bottom) * v.scale
    return {
        "missing_shoulder": Measure(value={"below_chin": round(room, 2), "bottom_width": round(width, 2)},
                                    score=clamp_score(missing)),
        "lower_body_hanging": Measure(value=gap, score=clamp_score(100 * gap / (HANG_FULL_SCORE * fw))),
        "shoulder_width_ratio": round(100 * width_px / v.person.shape[1], 2),
    }


@detector("body_incomplete")
def body_incomplete(a: Analysis) -> dict[str, Any]:
    """The worst of missing shoulders, a hanging body and a head cut by the frame."""
    from . import measure

    parts = ("missing_shoulder", "lower_body_hanging", "incomplete_head")
    got = measure(a, parts)
    failed = [f"{p}: {got[p].error}" for p in parts if not got[p].ok or got[p].score is None]
    if failed:
        raise MeasureError("; ".join(failed))
    worst = max(parts, key=lambda p: got[p].score or 0.0)
    return {"body_incomplete": Measure(value=worst, score=got[worst].score)}


# --- bare shoulders ----------------------------------------------------------------------------------
@detector("bare_shouldered")
def bare_shouldered(a: Analysis) -> dict[str, Any]:
    v = small_view(a)
    if skin_model(a) is None:
        raise MeasureError("the photo has too little colour to tell skin from clothes")
    h, w = v.person.shape
    fw = a.face_width / v.scale
    chin = a.chin_y / v.scale
    rows = np.arange(h)[:, None]
    cols = np.arange(w)[None, :]
    band = (v.person >= 0.5) & (rows > chin + BAND_TOP * fw) & (rows < min(extent(a).bottom, chin + BAND_BOTTOM * fw))
    band &= np.abs(cols - a.point(CHIN)[0] / v.scale) > BAND_NECK * fw
    if band.sum() < 20:
        raise NotApplicable("the shoulders are not visible")
    share = float(skin_mask(a, v.lab[band][::2]).mean())
    return {"bare_shouldered": Measure(value=round(share, 3), score=clamp_score(100 * share / BARE_FULL_SHARE))}
