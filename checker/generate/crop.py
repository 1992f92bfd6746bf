"""Where the person goes in the output frame: roll alignment, the placement solvers and rendering.

A placement is a uniform scale and an offset: output = scale * source + offset. It is never a
stretch; where the frame reaches beyond the photo the output is transparent.

Two solvers:
- ``place_for_windows``: spec-driven (``fix``). The head height (crown from the matte, chin from
  the mesh) and the eye line are put at the middle of the spec's windows, as far as the other
  windows (space above the head, below the chin) allow.
- ``place_hivision``: seed 000's ratios (head_measure_ratio, head_height_ratio,
  top_distance_min/max) for the Hivision-compatible endpoints.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import overload

import cv2
import numpy as np

from ..context import CHIN, FACE_LEFT, FACE_RIGHT, LEFT_IRIS, RIGHT_IRIS, Analysis
from ..errors import CheckerError

# The crown is read over this central share of the face's width (as the checker reads it).
CROWN_COLUMNS = 0.6
# Windows are aimed at from this far inside (share of the frame height, 1.5 px at least): the
# re-check's crown, read from its own segmentation of the output, differs by up to ~2 px.
SAFETY_MARGIN = 0.006
# Hard bounds on what rendering allocates, whatever placement it is handed (issue 12: a 1 px face
# width once asked for a 75,649 x 105,908 px HD canvas, 22 GB). The HD framing (the same framing at
# the source's resolution) covers at most HD_SOURCE_FACTOR times the source's pixels: a frame that
# reaches far beyond the photo is transparent there, and more resolution than the photo has adds
# nothing. No canvas is ever larger than MAX_CANVAS_PIXELS (the largest output, 4096 x 4096 px).
HD_SOURCE_FACTOR = 4.0
MAX_CANVAS_PIXELS = 4096 * 4096
# The solver never shrinks the head below this share of the frame height, whatever the windows say
# (the request's windows are refused long before this, see autofix.check_options).
MIN_HEAD_SHARE = 0.05
# The shoulder span is read this far below the chin (face widths) and trimmed by this share each side
# (its outer ends curve into the arms), as the checker's lower_body_gap reads it.
SHOULDER_ROW = 0.6
SPAN_TRIM = 0.15
# The body "reaches" a frame's bottom where this low percentile of the span's columns does.
REACH_PERCENTILE = 5
# Matte from this level up shows where the photo's own edge cuts it (a faint remnant's cut shows too).
EDGE_ALPHA = 0.1
# Placements render only inside these (a NaN or an infinity is outside too): the source rectangle
# the output covers stays a finite number of pixels.
MIN_SCALE, MAX_SCALE, MAX_OFFSET = 1e-6, 1e6, 1e9


@dataclass(frozen=True)
class Subject:
    """The person, in the pixels of ``rgb``: what the solvers need."""

    rgb: np.ndarray  # H x W x 3 uint8
    alpha: np.ndarray  # H x W float32 0-1
    crown_y: float  # top of the hair
    chin_y: float
    eye_y: float  # the line through the iris centres
    eye_x: float  # midpoint between the irises
    face_cx: float  # midline between the cheeks
    face_width: float
    face_box: tuple[float, float, float, float]  # detector box x, y, w, h
    body_bottom: float  # last row the person reaches
    roll: float  # degrees the eye line is tilted (0 after alignment)
    bottoms: np.ndarray  # per column: the row under the person's lowest pixel (0: none in that column)
    shoulders: tuple[float, float]  # the columns of the shoulder span (trimmed), where the body must reach down
    edges: np.ndarray  # K x 3 (x, y, side 0 top 1 left 2 right 3 bottom): the person on the photo's own edges


@dataclass(frozen=True)
class Placement:
    """output pixel = scale * source pixel + (tx, ty); the output is width x height."""

    scale: float
    tx: float
    ty: float
    width: int
    height: int

    def at_native(self, source: tuple[int, ...]) -> Placement:
        """The same framing at the source's own resolution (the HD photo): no upscaling of the
        source, and never smaller than this placement's output. ``source`` is the shape (height,
        width, ...) of the photo rendered from: the canvas stays within HD_SOURCE_FACTOR times its
        pixels and MAX_CANVAS_PIXELS, at a lower resolution than the source's when the frame covers
        far more than the photo (a person placed tiny in it)."""
        if not self.scale > 0:  # NaN too
            raise CheckerError("CANNOT_FRAME", f"the placement's scale {self.scale!r} is not a positive number")
        if self.scale >= 1.0:
            return self
        out = float(self.width * self.height)
        budget = max(out, min(HD_SOURCE_FACTOR * source[0] * source[1], MAX_CANVAS_PIXELS))
        k = min(1.0 / self.scale, math.sqrt(budget / out))
        w, h = max(1, round(self.width * k)), max(1, round(self.height * k))
        if w * h > budget:  # rounding up past the bound
            w, h = max(1, math.floor(self.width * k)), max(1, math.floor(self.height * k))
        return Placement(self.scale * k, self.tx * k, self.ty * k, w, h)


def subject_from(a: Analysis, alpha: np.ndarray, rgb: np.ndarray | None = None) -> Subject:
    """Measure the person of an Analysis with a matte (the photo's own pixels unless ``rgb`` is a
    retouched copy of the same geometry)."""
    mesh = a.mesh
    eyes = (mesh[RIGHT_IRIS[0], :2] + mesh[LEFT_IRIS[0], :2]) / 2
    dx, dy = mesh[LEFT_IRIS[0], :2] - mesh[RIGHT_IRIS[0], :2]
    box = a.face
    return _measured(
        rgb if rgb is not None else a.rgb, alpha, points=mesh[:, :2],
        face_box=(box.x, box.y, box.w, box.h), roll=float(np.degrees(np.arctan2(dy, dx))), eyes=eyes,
    )


def _measured(rgb: np.ndarray, alpha: np.ndarray, points: np.ndarray, face_box: Sequence[float], roll: float,
              eyes: np.ndarray) -> Subject:
    left, right = points[FACE_RIGHT], points[FACE_LEFT]
    bx, by, bw, bh = face_box
    face_w = float(np.linalg.norm(right - left))
    face_cx = float((left[0] + right[0]) / 2)
    chin_y = float(points[CHIN, 1])
    return Subject(
        rgb=rgb, alpha=alpha, crown_y=crown_of(alpha, face_cx, face_w, float(eyes[1])),
        chin_y=chin_y, eye_y=float(eyes[1]), eye_x=float(eyes[0]), face_cx=face_cx,
        face_width=face_w, face_box=(float(bx), float(by), float(bw), float(bh)), body_bottom=_body_bottom(alpha),
        roll=roll, bottoms=bottoms_of(alpha), shoulders=_shoulder_span(alpha, face_cx, chin_y, face_w),
        edges=photo_edges(alpha),
    )


def crown_of(alpha: np.ndarray, face_cx: float, face_w: float, eye_y: float) -> float:
    """Top of the head from the matte, over the central columns of the face (10th percentile of
    each column's first covered row, so one stray hair does not move it)."""
    h, w = alpha.shape
    half = max(1.0, face_w * CROWN_COLUMNS / 2)
    x0, x1 = int(max(0, face_cx - half)), int(min(w, face_cx + half + 1))
    band = alpha[: max(1, int(eye_y)), x0:x1] >= 0.5
    has = band.any(axis=0)
    if x1 <= x0 or not has.any():
        raise CheckerError("CANNOT_FRAME", "the top of the head could not be found in the matte")
    return float(np.percentile(np.argmax(band, axis=0)[has], 10))


def _body_bottom(alpha: np.ndarray) -> float:
    rows = np.flatnonzero((alpha >= 0.5).any(axis=1))
    return float(rows[-1] + 1) if rows.size else float(alpha.shape[0])


def bottoms_of(alpha: np.ndarray) -> np.ndarray:
    covered = alpha >= 0.5
    last = alpha.shape[0] - np.argmax(covered[::-1], axis=0)
    return np.where(covered.any(axis=0), last, 0).astype(np.float32)


def _shoulder_span(alpha: np.ndarray, face_cx: float, chin_y: float, face_w: float) -> tuple[float, float]:
    """Columns of the shoulder span (SHOULDER_ROW face widths under the chin), trimmed; where the photo
    ends above that row, the face's own width under the chin."""
    h, w = alpha.shape
    row = int(round(chin_y + SHOULDER_ROW * face_w))
    cx = int(np.clip(round(face_cx), 0, w - 1))
    if 0 <= row < h:
        covered = np.flatnonzero(alpha[row] >= 0.5)
        if covered.size:
            x = int(covered[np.argmin(np.abs(covered - cx))])
            gaps = np.flatnonzero(np.diff(covered) > 1)  # runs of covered columns
            starts, ends = np.r_[covered[0], covered[gaps + 1]], np.r_[covered[gaps], covered[-1]]
            i = int(np.searchsorted(ends, x))
            lo, hi = float(starts[i]), float(ends[i] + 1)
            trim = SPAN_TRIM * (hi - lo)
            return lo + trim, hi - trim
    return face_cx - face_w / 2, face_cx + face_w / 2


def photo_edges(alpha: np.ndarray) -> np.ndarray:
    """The person's pixels on the photo's four edges (x, y, side), at pixel centres: where the photo's
    own frame cuts the person. Rotated and placed with the person, they show where that cut lands."""
    h, w = alpha.shape
    out = []
    for side, ys, xs in ((0, np.zeros(w), np.arange(w)), (1, np.arange(h), np.zeros(h)),
                         (2, np.arange(h), np.full(h, w - 1)), (3, np.full(w, h - 1), np.arange(w))):
        on = alpha[ys.astype(int), xs.astype(int)] >= EDGE_ALPHA
        out.append(np.c_[xs[on] + 0.5, ys[on] + 0.5, np.full(int(on.sum()), side)])
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 3), np.float32)


def body_reach(s: Subject, x0: float, x1: float) -> float | None:
    """The source row the body reaches down to over the shoulder span's columns inside [x0, x1) (a
    frame's columns): REACH_PERCENTILE of their bottoms. None when the frame holds none of the span."""
    lo, hi = max(x0, s.shoulders[0]), min(x1, s.shoulders[1])
    a, b = int(max(0, math.floor(lo))), int(min(len(s.bottoms), math.ceil(hi)))
    if b <= a:
        return None
    return float(np.percentile(s.bottoms[a:b], REACH_PERCENTILE))


def body_gap(s: Subject, p: Placement) -> float:
    """Output px the body stops above the frame's bottom edge under the shoulders (0: it reaches)."""
    x0, x1 = -p.tx / p.scale, (p.width - p.tx) / p.scale
    reach = body_reach(s, x0, x1)
    return 0.0 if reach is None else max(0.0, p.height - (p.scale * reach + p.ty))


# A cut by the photo's own edge this long (share of the frame's short side) inside the frame is a
# visible straight edge the person did not have (the check's frame_edges reads straight outlines of a
# fifth of the short side as source-frame edges too). At the top it cuts the hair, and the head's top is
# part of every document's geometry: a twentieth is enough there.
EXPOSED_MIN = 0.2
EXPOSED_MIN_TOP = 0.05


def exposed_min(side: str) -> float:
    """The share of the short side from which the photo's own ``side`` edge in the frame is visible."""
    return EXPOSED_MIN_TOP if side == "top" else EXPOSED_MIN
EXPOSURE_WEIGHT = 50.0  # in the solver's cost: a visible cut outweighs mid-window placement
EDGE_MARGIN = 2.0  # output px: a photo edge this close to the frame's own border is that border


def exposed_edges(s: Subject, p: Placement) -> dict[str, float]:
    """Length (output px) of each of the photo's own edges that shows inside the frame where it cuts the
    person: a straight cut (or, after levelling, a slanted one) that the person did not have."""
    if not len(s.edges):
        return {}
    x = p.scale * s.edges[:, 0] + p.tx
    y = p.scale * s.edges[:, 1] + p.ty
    m = EDGE_MARGIN
    inside = (x >= m) & (x <= p.width - m) & (y >= m) & (y <= p.height - m)
    out = {}
    for side, name in enumerate(("top", "left", "right", "bottom")):
        n = int((inside & (s.edges[:, 2] == side)).sum())
        if n:
            out[name] = round(n * p.scale, 1)
    return out


# --- roll alignment ------------------------------------------------------------------------------
def align_roll(s: Subject, points: np.ndarray | None = None,
               min_degrees: float = 0.5) -> tuple[Subject, np.ndarray | None]:
    """Rotate the photo and matte about the eye midpoint so the eyes are level. The canvas grows
    so no corner is lost; new pixels are transparent. ``points`` (N x 2) are carried along."""
    if abs(s.roll) < min_degrees:
        return s, points
    h, w = s.alpha.shape
    m: np.ndarray = cv2.getRotationMatrix2D((s.eye_x, s.eye_y), s.roll, 1.0)
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ m.T
    x0, y0 = np.floor(corners.min(axis=0)).astype(int)
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int)
    m[:, 2] -= (x0, y0)
    size = (int(x1 - x0), int(y1 - y0))
    rgb = cv2.warpAffine(s.rgb, m, size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    alpha = cv2.warpAffine(s.alpha, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                           borderValue=(0,))

    def move(p: np.ndarray) -> np.ndarray:
        return np.c_[p[:, :2], np.ones(len(p))] @ m.T

    eye = move(np.array([[s.eye_x, s.eye_y]]))[0]
    fx, fy, fw, fh = s.face_box
    centre = move(np.array([[fx + fw / 2, fy + fh / 2]]))[0]
    chin = move(np.array([[s.face_cx, s.chin_y]]))[0]
    moved_points = move(points) if points is not None else None
    edges = np.c_[move(s.edges[:, :2]), s.edges[:, 2]].astype(np.float32) if len(s.edges) else s.edges
    if moved_points is None:
        face_cx = float(eye[0])
    else:
        face_cx = float((moved_points[FACE_LEFT, 0] + moved_points[FACE_RIGHT, 0]) / 2)
    chin_y = float(chin[1]) if moved_points is None else float(moved_points[CHIN, 1])
    aligned = replace(
        s, rgb=rgb, alpha=np.clip(alpha, 0, 1), eye_x=float(eye[0]), eye_y=float(eye[1]), face_cx=face_cx,
        chin_y=chin_y, face_box=(float(centre[0] - fw / 2), float(centre[1] - fh / 2), fw, fh),
        body_bottom=_body_bottom(alpha), roll=0.0, bottoms=bottoms_of(alpha), edges=edges,
    )
    aligned = replace(aligned, crown_y=crown_of(aligned.alpha, aligned.face_cx, s.face_width, aligned.eye_y),
                      shoulders=_shoulder_span(aligned.alpha, face_cx, chin_y, s.face_width))
    return aligned, moved_points


# --- spec-driven placement ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Windows:
    """Allowed ranges in output pixels (None = open)."""

    head: tuple[float, float]
    eyes_above_bottom: tuple[float | None, float | None] = (None, None)
    crown_gap: tuple[float | None, float | None] = (None, None)
    chin_gap_min: float | None = None
    face_width: tuple[float | None, float | None] = (None, None)
    chin_gap_max: float | None = None


def _mid(lo: float | None, hi: float | None) -> float | None:
    if lo is None and hi is None:
        return None
    if lo is None:
        return hi
    if hi is None:
        return lo
    return (lo + hi) / 2


@overload
def _shrink(lo: float, hi: float, m: float) -> tuple[float, float]: ...
@overload
def _shrink(lo: float | None, hi: float | None, m: float) -> tuple[float | None, float | None]: ...
def _shrink(lo: float | None, hi: float | None, m: float) -> tuple[float | None, float | None]:
    """A window less a safety margin each side (at most a fifth of its width): the re-check
    measures the output afresh (its own segmentation of the new image), and a placement on the
    very edge of a window could land a pixel or two outside it."""
    if lo is not None and hi is not None:
        m = min(m, 0.2 * (hi - lo))
    return (None if lo is None else lo + m, None if hi is None else hi - m)


def _inset(win: Windows, height: int) -> Windows:
    m = max(1.5, SAFETY_MARGIN * height)
    head = _shrink(*win.head, m)
    return Windows(head=(float(head[0]), float(head[1])), eyes_above_bottom=_shrink(*win.eyes_above_bottom, m),
                   crown_gap=_shrink(*win.crown_gap, m),
                   chin_gap_min=None if win.chin_gap_min is None else win.chin_gap_min + m,
                   face_width=_shrink(*win.face_width, m),
                   chin_gap_max=None if win.chin_gap_max is None else win.chin_gap_max - m)


def _scale_range(win: Windows, s: Subject) -> tuple[float, float]:
    """Scales the size windows allow: head height, and face width where the spec gives one."""
    head_src = s.chin_y - s.crown_y
    lo, hi = win.head[0] / head_src, win.head[1] / head_src
    f_lo, f_hi = win.face_width
    if f_lo is not None or f_hi is not None:
        flo = (f_lo if f_lo is not None else 0.0) / s.face_width
        fhi = (f_hi if f_hi is not None else math.inf) / s.face_width
        if max(lo, flo) <= min(hi, fhi):
            lo, hi = max(lo, flo), min(hi, fhi)
        else:  # the windows disagree for this person: the face width is the more specific rule
            lo, hi = flo, (fhi if math.isfinite(fhi) else flo * 1.1)
    return lo, hi


def place_for_windows(s: Subject, width: int, height: int, win: Windows, steps: int = 81) -> Placement:
    """Scale and offset putting head height (or face width) and eye line mid-window, within the
    other windows.

    For each candidate scale the size windows allow, the vertical offsets every window allows
    form an interval; the chosen (scale, offset) is the one nearest the windows' midpoints (in
    units of their widths) among those where the body reaches the bottom edge (a photo cut at the
    chest takes a larger head or a lower eye line, inside the windows, rather than a floating
    torso). Where no offset satisfies every window, the one violating them least is used, and the
    re-check says what is left; where only a floating torso meets the windows, body_gap() of the
    placement says by how much."""
    head_src = s.chin_y - s.crown_y
    if head_src <= 1 or s.face_width <= 1:
        raise CheckerError("CANNOT_FRAME", "the head is too small in the photo to frame it")
    win = _inset(win, height)
    h_lo, h_hi = win.head
    h_mid, h_span = (h_lo + h_hi) / 2, max(1.0, h_hi - h_lo)
    f_mid = _mid(*win.face_width)
    f_lo, f_hi = win.face_width
    f_span = max(1.0, (f_hi - f_lo) if f_lo is not None and f_hi is not None else h_span / 2)
    e_lo, e_hi = win.eyes_above_bottom
    e_mid = _mid(e_lo, e_hi)
    e_span = max(1.0, (e_hi - e_lo) if e_lo is not None and e_hi is not None else h_span)
    c_lo, c_hi = win.crown_gap
    c_mid = _mid(c_lo, c_hi)
    k_lo, k_hi = _scale_range(win, s)
    floor = MIN_HEAD_SHARE * height / head_src  # never a zero, negative or vanishing scale
    k_lo = max(k_lo, floor) if math.isfinite(k_lo) else floor
    k_hi = max(k_hi, k_lo) if math.isfinite(k_hi) else k_lo
    best: tuple[float, float, float] | None = None  # cost, scale, ty
    for k in np.linspace(k_lo, k_hi, steps):
        lo, hi = -math.inf, math.inf
        if e_hi is not None:  # eyes above bottom = height - (k * eye_y + ty)
            lo = max(lo, height - e_hi - k * s.eye_y)
        if e_lo is not None:
            hi = min(hi, height - e_lo - k * s.eye_y)
        if c_lo is not None:  # crown gap = k * crown_y + ty
            lo = max(lo, c_lo - k * s.crown_y)
        if c_hi is not None:
            hi = min(hi, c_hi - k * s.crown_y)
        if win.chin_gap_min is not None:  # chin gap = height - (k * chin_y + ty)
            hi = min(hi, height - win.chin_gap_min - k * s.chin_y)
        if win.chin_gap_max is not None:
            lo = max(lo, height - win.chin_gap_max - k * s.chin_y)
        if e_mid is not None:
            want = height - e_mid - k * s.eye_y
        elif c_mid is not None:
            want = c_mid - k * s.crown_y
        else:
            want = (height - k * head_src) / 2 - k * s.crown_y
        violation = max(0.0, lo - hi)
        # The body must reach the bottom edge under the shoulders: ty >= height - k * reach. Where the
        # windows leave no such offset, they win and the body gap is left for the caller to report.
        reach = body_reach(s, s.face_cx - width / (2 * k), s.face_cx + width / (2 * k))
        body_lo = -math.inf if reach is None else height - k * reach
        if lo <= hi:
            ty = min(max(want, max(lo, body_lo)), hi)
        else:
            ty = (lo + hi) / 2
        cost = 1000.0 * (max(0.0, body_lo - ty) / h_span) ** 2
        cost += ((k * head_src - h_mid) / h_span) ** 2
        if f_mid is not None:
            cost += 4 * ((k * s.face_width - f_mid) / f_span) ** 2  # spec-given: weighs more than the default
        if e_mid is not None:
            cost += ((height - (k * s.eye_y + ty) - e_mid) / e_span) ** 2
        cost += 100.0 * (violation / h_span) ** 2
        # The photo's own edge cutting the person (shoulders cut at its sides, hair at its top) should
        # stay outside the frame where a scale inside the windows allows it.
        # Only cuts near the length that counts as visible (exposed_min) weigh: a short one is not worth
        # moving the head off mid-window.
        shown = exposed_edges(s, Placement(float(k), width / 2 - k * s.face_cx, ty, width, height))
        short = min(width, height)
        over = sum(max(0.0, v - 0.75 * exposed_min(side) * short) for side, v in shown.items() if side != "bottom")
        cost += EXPOSURE_WEIGHT * (over / width) ** 2
        if best is None or cost < best[0]:
            best = (cost, float(k), float(ty))
    assert best is not None, "np.linspace gives at least one candidate scale (steps >= 1)"
    _, k, ty = best
    return Placement(k, width / 2 - k * s.face_cx, ty, width, height)


# --- seed 000 placement ---------------------------------------------------------------------------------
def place_hivision(s: Subject, width: int, height: int, *, head_measure_ratio: float = 0.2,
                   head_height_ratio: float = 0.45, top_distance_min: float = 0.10,
                   top_distance_max: float = 0.12) -> Placement:
    """Seed 000's framing: the face box covers ``head_measure_ratio`` of the photo's area, the face
    centre sits ``head_height_ratio`` of the height from the top, the space above the head is
    ``top_distance_min``-``top_distance_max`` of the height, and the body reaches the bottom."""
    for name, v, lo, hi in (("head_measure_ratio", head_measure_ratio, 0.01, 1.0),
                            ("head_height_ratio", head_height_ratio, 0.0, 1.0),
                            ("top_distance_min", top_distance_min, 0.0, 1.0),
                            ("top_distance_max", top_distance_max, 0.0, 1.0)):
        if not lo <= v <= hi:  # NaN too
            raise CheckerError("INVALID_ARGUMENT", f"{name} must be in [{lo}, {hi}], got {v}")
    if top_distance_min > top_distance_max:
        raise CheckerError("INVALID_ARGUMENT", "top_distance_min is larger than top_distance_max")
    fx, fy, fw, fh = s.face_box
    crop_area = fw * fh / head_measure_ratio
    crop_w = math.sqrt(crop_area * width / height)
    crop_h = crop_w * height / width
    k = width / crop_w
    cx, cy = fx + fw / 2, fy + fh / 2
    x0 = cx - crop_w / 2
    y0 = cy - crop_h * head_height_ratio
    gap = s.crown_y - y0
    if gap > top_distance_max * crop_h:
        y0 = s.crown_y - top_distance_max * crop_h
    elif gap < top_distance_min * crop_h:
        y0 = s.crown_y - top_distance_min * crop_h
    # The body should reach the bottom edge: if the frame reaches below it, lift the frame,
    # but not so far that the space above the head leaves its window.
    below = y0 + crop_h - s.body_bottom
    if below > 0:
        room = top_distance_max * crop_h - (s.crown_y - y0)
        y0 -= min(below, max(0.0, room))
    return Placement(k, -k * x0, -k * y0, width, height)


# --- rendering -----------------------------------------------------------------------------------------
def render(s: Subject, p: Placement) -> np.ndarray:
    """The placed person as RGBA (straight alpha), transparent where the frame leaves the photo.
    Downscaling goes through an area filter; nothing is stretched. A placement that is not finite,
    or whose canvas is beyond MAX_CANVAS_PIXELS, is refused before anything is allocated."""
    h, w = s.alpha.shape
    if not (MIN_SCALE <= p.scale <= MAX_SCALE and abs(p.tx) <= MAX_OFFSET and abs(p.ty) <= MAX_OFFSET):
        raise CheckerError("CANNOT_FRAME", f"the placement {p} is outside scale {MIN_SCALE:g}-{MAX_SCALE:g},"
                                           f" offset ±{MAX_OFFSET:g} px")
    if not (p.width >= 1 and p.height >= 1 and p.width * p.height <= MAX_CANVAS_PIXELS):
        raise CheckerError("CANNOT_FRAME", f"a {p.width} x {p.height} px canvas is outside 1-{MAX_CANVAS_PIXELS} px")
    # The source rectangle the output covers, padded by a pixel for interpolation.
    sx0, sy0 = -p.tx / p.scale, -p.ty / p.scale
    sx1, sy1 = sx0 + p.width / p.scale, sy0 + p.height / p.scale
    ix0, iy0 = max(0, int(math.floor(sx0)) - 1), max(0, int(math.floor(sy0)) - 1)
    ix1, iy1 = min(w, int(math.ceil(sx1)) + 1), min(h, int(math.ceil(sy1)) + 1)
    out_rgb: np.ndarray = np.zeros((p.height, p.width, 3), np.uint8)
    out_a: np.ndarray = np.zeros((p.height, p.width), np.float32)
    if ix1 <= ix0 or iy1 <= iy0:
        return np.dstack([out_rgb, out_a.astype(np.uint8)])
    rgb = s.rgb[iy0:iy1, ix0:ix1]
    alpha = s.alpha[iy0:iy1, ix0:ix1]
    k = p.scale
    if k < 1.0:
        # Area-resize the source region first, then place it with a sub-pixel shift.
        small = (max(1, round((ix1 - ix0) * k)), max(1, round((iy1 - iy0) * k)))
        kx, ky = small[0] / (ix1 - ix0), small[1] / (iy1 - iy0)
        rgb = cv2.resize(rgb, small, interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(alpha, small, interpolation=cv2.INTER_AREA)
        m = np.array([[k / kx, 0, p.tx + k * ix0], [0, k / ky, p.ty + k * iy0]], np.float32)
        interp = cv2.INTER_LINEAR
    else:
        m = np.array([[k, 0, p.tx + k * ix0], [0, k, p.ty + k * iy0]], np.float32)
        interp = cv2.INTER_CUBIC
    out_rgb = cv2.warpAffine(rgb, m, (p.width, p.height), flags=interp, borderMode=cv2.BORDER_REPLICATE)
    out_a = cv2.warpAffine(alpha, m, (p.width, p.height), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=(0,))
    a8 = np.clip(out_a * 255 + 0.5, 0, 255).astype(np.uint8)
    return np.dstack([out_rgb, a8])


def placed(value_y: float, p: Placement) -> float:
    """A source row in output pixels."""
    return p.scale * value_y + p.ty
