"""Artefacts of cut-and-paste photos: the old background left at the person's edge (a halo) or
elsewhere (remnants), a body that stops above the bottom edge, and the edges of a source frame
(straight lines, wedges in the corners where a rotated frame does not cover the canvas).

Generated ID photos and uploads made by other tools show these when matting fails or when a photo
is rotated, shrunk or shifted onto a new canvas. All four measures read one view of the photo,
scaled so the face is at most ``FACE_PX`` pixels wide (``edge_view``): its CIELAB colours, the
person mask, and a smooth backdrop surface (a quadratic in CIELAB, as bg_uniformity fits)
robustly fitted to the confident background. A pixel is background-coloured when it lies within
``BG_DE`` (ΔE76) of that surface. Lengths are in face widths (fw) or shares of the photo, so they
hold at any resolution. Calibration: docs/calibration/artefacts.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..context import CHIN, Analysis, MeasureError, NotApplicable
from ..views import halve, skin_mask
from . import Measure, clamp_score, detector

# --- the view and its backdrop ----------------------------------------------------------------------
FACE_PX = 160.0  # the view is scaled down (never up) until the face is at most this wide
BG_PERSON = 0.1  # person-mask level that counts as "near the person" (as views.small_view)
BG_MARGIN = 0.02  # of the photo's long side: the confident background keeps this far from it
FIT_POINTS = 3000  # backdrop fit sample
SEED_DE = 12.0  # the fit starts from the pixels this close to the background's median colour
BG_DE = 6.0  # ΔE76 from the fitted backdrop: closer is background-coloured
PLAIN_SHARE = 0.6  # the backdrop is plain when this share of the confident background fits it
MIN_BACKGROUND = 0.03  # share of the view

# --- halo -------------------------------------------------------------------------------------------
HALO_REACH = 0.15  # fw outside the person mask where a halo is looked for
HALO_DEPTH = 0.08  # fw: non-background deeper than this from the background is the person's own
MATCH_DE = 15.0  # ΔE76: a pixel this close to the nearest deep person colour is the person's
FLAT_DE = 4.0  # ΔE76 per view pixel: a halo is a flat band (a soft edge is a ramp)
SECTORS = 36  # around the face centre
MIN_SECTOR_EDGE = 0.05  # fw of outline a sector needs to be judged
HALO_FULL_SCORE = 0.036  # fw of halo width (75th percentile of the sectors) scoring 100

# --- remnants ---------------------------------------------------------------------------------------
REMNANT_OPEN = 0.05  # fw: thinner non-background structure (stray hair, lines) is dropped
REMNANT_MIN = 0.05  # fw: a blob's area must reach this squared
REMNANT_FULL_SCORE = 0.6  # % of the photo scoring 100

# --- body reaching the bottom edge ------------------------------------------------------------------
SHOULDER_ROW = 0.6  # fw below the chin: the row whose person run is the shoulder span
SPAN_TRIM = 0.15  # of the span each side: the outer ends curve into the arms
GAP_QUANTILE = 80
GAP_FULL_SCORE = 1.5  # % of the height scoring 100
# A bottom row is plain padding when STRIP_SHARE of the span lies within STRIP_DE of the row's median
# colour and that colour within STRIP_BG_DE of the backdrop surface (as body.py's empty rows).
STRIP_DE, STRIP_SHARE, STRIP_BG_DE = 8.0, 0.97, 25.0

# --- frame edges and wedges -------------------------------------------------------------------------
LINE_EPS = 1.0  # view px: polygon approximation of outlines
EDGE_MIN = 0.2  # of the short side: a straight outline between background and something else
SILHOUETTE_MIN = 0.4  # of the short side: a straight outline of the person at a slant
AXIS_DEG = 1.0  # degrees: a straight outline of the person this close to an image axis ...
AXIS_SILHOUETTE_MIN = 0.33  # ... needs only this (of the short side)
BORDER_KEEP = 0.025  # of the short side: lines this close to a parallel image border are the border
WEDGE_TOL = 6  # RGB levels: flood tolerance of a corner's colour
WEDGE_MAX_AREA = 0.25  # of the view: a larger corner region is the backdrop
WEDGE_LINE_RMS = 0.8  # view px: a wedge's inner side is one straight line
WEDGE_FILL = (0.8, 1.25)  # region area / triangle of its legs
WEDGE_STEP_DE = 15.0  # ΔE76 between a wedge and what lies just across its inner side
WEDGE_FULL_SCORE = 0.06  # hypotenuse, share of the short side, scoring 100


@dataclass(frozen=True)
class EdgeView:
    rgb: np.ndarray  # h x w x 3 uint8
    lab: np.ndarray  # h x w x 3 float32 CIELAB
    person: np.ndarray  # h x w float32 0-1
    scale: float  # photo px per view px
    fw: float  # face width, view px
    de: np.ndarray | None  # ΔE76 from the fitted backdrop; None when the backdrop is not plain
    plain_share: float  # share of the confident background within BG_DE of the fit
    bg_share: float  # confident background, share of the view


def edge_view(a: Analysis) -> EdgeView:
    return a.memo("artefacts.view", lambda: _edge_view(a))


def _edge_view(a: Analysis) -> EdgeView:
    rgb = _shrink(a.rgb, FACE_PX / max(a.face_width, 1.0))
    h, w = rgb.shape[:2]
    person = cv2.resize(a.person_mask, (w, h), interpolation=cv2.INTER_LINEAR) if h != a.height else a.person_mask
    lab = cv2.transform(cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32), _LAB8)  # = views.to_lab
    scale = a.width / w
    fw = a.face_width / scale
    margin = max(1, math.ceil(max(3, round(BG_MARGIN * max(a.height, a.width))) / scale))
    near = cv2.dilate((person > BG_PERSON).astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8))
    ys, xs = np.nonzero(near == 0)
    bg_share = len(ys) / (h * w)
    if bg_share < MIN_BACKGROUND:
        return EdgeView(rgb, lab, person, scale, fw, None, 0.0, bg_share)
    step = len(ys) // FIT_POINTS + 1
    ys, xs = ys[::step], xs[::step]
    design = _design(xs.astype(np.float32) / w - 0.5, ys.astype(np.float32) / h - 0.5)
    colours = lab[ys, xs]
    # The dominant colour first, then a quadratic surface through what lies near it: remnants and
    # wedges in the background must not pull the surface toward themselves.
    keep = np.linalg.norm(colours - np.median(colours, axis=0), axis=1) < SEED_DE
    coef = np.zeros((6, 3), np.float32)
    for _ in range(3):
        if keep.sum() < 30:
            return EdgeView(rgb, lab, person, scale, fw, None, 0.0, bg_share)
        x = design[keep]
        coef = np.linalg.solve(x.T @ x + 1e-6 * np.eye(6, dtype=np.float32), x.T @ colours[keep])
        keep = np.linalg.norm(design @ coef - colours, axis=1) < BG_DE
    share = float(keep.mean())
    if share < PLAIN_SHARE:
        return EdgeView(rgb, lab, person, scale, fw, None, share, bg_share)
    # The surface is smooth: evaluated on a coarse grid and interpolated.
    gh, gw = max(2, h // 8), max(2, w // 8)
    gu, gt = np.meshgrid(((np.arange(gw, dtype=np.float32) + 0.5) * (w / gw)) / w - 0.5,
                         ((np.arange(gh, dtype=np.float32) + 0.5) * (h / gh)) / h - 0.5)
    coarse = (_design(gu, gt) @ coef).astype(np.float32)
    surface = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
    diff = cv2.subtract(lab, surface)
    de = cv2.sqrt(cv2.transform(cv2.multiply(diff, diff), np.ones((1, 3), np.float32)))
    return EdgeView(rgb, lab, person, scale, fw, de, share, bg_share)


# OpenCV's 8-bit Lab -> CIELAB (L 0-100, a/b signed), as views.to_lab, in one pass
_LAB8 = np.array([[100 / 255, 0, 0, 0], [0, 1, 0, -128], [0, 0, 1, -128]], np.float32)


def _shrink(rgb: np.ndarray, scale: float) -> np.ndarray:
    """Scale down by ``scale`` (never up): whole-number box steps (exact halvings), then bilinear for
    the remaining factor of 0.5-1 (OpenCV's area resampling by a fraction costs 5x more)."""
    if scale >= 1:
        return rgb
    while scale <= 0.5 and min(rgb.shape[:2]) >= 4:
        rgb, scale = halve(rgb), scale * 2
    if scale < 1:
        h, w = rgb.shape[:2]
        rgb = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(rgb)


def _design(u: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.stack([np.ones_like(u), u, t, u * u, t * t, u * t], axis=-1)


def _need_plain(v: EdgeView) -> np.ndarray:
    if v.de is None:
        if v.bg_share < MIN_BACKGROUND:
            raise NotApplicable("too little background is visible to look for its remnants")
        raise NotApplicable(f"the background is not one plain colour or gradient (only {100 * v.plain_share:.0f}% "
                            "of it fits one); uniformity judges it")
    return v.de


# --- the person's edge ------------------------------------------------------------------------------
@dataclass(frozen=True)
class EdgeMaps:
    solid: np.ndarray  # uint8 person mask >= 0.5
    dist_out: np.ndarray  # view px from the person mask (0 inside)
    person_like: np.ndarray  # bool: within MATCH_DE of the nearest deep person colour
    halo: np.ndarray  # bool: halo pixels
    outline: np.ndarray  # bool: the person mask's outline, image border excluded


def edge_maps(a: Analysis) -> EdgeMaps:
    return a.memo("artefacts.edge", lambda: _edge_maps(a))


def _edge_maps(a: Analysis) -> EdgeMaps:
    v = edge_view(a)
    de = _need_plain(v)
    solid = (v.person >= 0.5).astype(np.uint8)
    dist_out = cv2.distanceTransform(1 - solid, cv2.DIST_L2, 3)
    background = de < BG_DE
    # Depth into the non-background region, from the background (the image border is not background).
    depth = cv2.distanceTransform((~background).astype(np.uint8), cv2.DIST_L2, 3)
    deep = (depth > HALO_DEPTH * v.fw) & (solid == 1)
    if not deep.any():
        raise MeasureError("the person is too thin in the photo to tell its colours from a halo")
    # Each pixel against the colour of the nearest deep person pixel (hair, skin or clothes nearby).
    # For a pixel outside the deep region the nearest deep pixel lies on the region's rim, so the rim
    # alone is the (much smaller) set searched.
    rim = deep & (cv2.erode(deep.astype(np.uint8), np.ones((3, 3), np.uint8)) == 0)
    _, nearest = cv2.distanceTransformWithLabels((~rim).astype(np.uint8), cv2.DIST_L2, 3,
                                                 labelType=cv2.DIST_LABEL_PIXEL)
    iy, ix = np.nonzero(rim)
    table = np.zeros((len(iy) + 1, 3), np.float32)
    table[1:] = v.lab[iy, ix]  # DIST_LABEL_PIXEL numbers the zero pixels in row-major order from 1
    near = dist_out <= HALO_REACH * v.fw
    # Only pixels that are not background can be a halo (near the person's edge) or a remnant (away
    # from the person): judge just those, not the person's inside.
    ys, xs = np.nonzero(~background & ((depth <= HALO_DEPTH * v.fw) | ~near))
    off = v.lab[ys, xs] - table[nearest[ys, xs]]
    like = (off * off).sum(axis=1) <= MATCH_DE ** 2
    person_like = np.zeros(de.shape, bool)
    person_like[ys, xs] = like
    # A halo: a flat band that is neither background nor the person's colour, within reach of the
    # person, with the band's own edges (where the gradient is steep) added back.
    pick = ~like & near[ys, xs] & (depth[ys, xs] <= HALO_DEPTH * v.fw)
    ys, xs = ys[pick], xs[pick]
    keep = ~skin_mask(a, v.lab[ys, xs])
    ys, xs = ys[keep], xs[keep]
    band = np.zeros(de.shape, bool)
    band[ys, xs] = True
    flat = np.zeros(de.shape, bool)
    flat[ys, xs] = _sobel2(v.lab, ys, xs) < (8 * FLAT_DE) ** 2  # a unit ramp reads 8 through Sobel
    core = cv2.morphologyEx(flat.astype(np.uint8), cv2.MORPH_OPEN, np.ones((2, 2), np.uint8))
    halo = band & (cv2.dilate(core, np.ones((5, 5), np.uint8)) > 0)
    outline = (solid == 1) & (cv2.erode(solid, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE) == 0)
    outline[:, [0, -1]] = False
    outline[[0, -1], :] = False
    return EdgeMaps(solid, dist_out, person_like, halo, outline)


def _sobel2(lab: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Squared 3x3 Sobel gradient magnitude (summed over the channels) at the given pixels only, the
    border reflected as OpenCV does (BORDER_REFLECT_101): the halo band is a small share of the view."""
    h, w = lab.shape[:2]

    def at(dy: int, dx: int) -> np.ndarray:
        y, x = np.abs(ys + dy), np.abs(xs + dx)
        y = np.where(y > h - 1, 2 * (h - 1) - y, y)
        x = np.where(x > w - 1, 2 * (w - 1) - x, x)
        return lab[y, x]

    up, down, left, right = at(-1, 0), at(1, 0), at(0, -1), at(0, 1)
    ul, ur, dl, dr = at(-1, -1), at(-1, 1), at(1, -1), at(1, 1)
    gx = (ur + 2 * right + dr) - (ul + 2 * left + dl)
    gy = (dl + 2 * down + dr) - (ul + 2 * up + ur)
    return (gx * gx + gy * gy).sum(axis=1)


@detector("edge_halo")
def edge_halo(a: Analysis) -> dict[str, Any]:
    """Width of the band of old background along the person's outline (fw, photo px) where it is
    widest for a quarter of the outline, and the share of the outline it covers."""
    v, m = edge_view(a), edge_maps(a)
    x0, y0, x1, y1 = a.face_rect
    cx, cy = (x0 + x1) / 2 / v.scale, (y0 + y1) / 2 / v.scale

    def per_sector(mask: np.ndarray) -> np.ndarray:
        ys, xs = np.nonzero(mask)
        k = ((np.arctan2(ys - cy, xs - cx) + np.pi) / (2 * np.pi) * SECTORS).astype(int) % SECTORS
        return np.bincount(k, minlength=SECTORS)

    edge = per_sector(m.outline)
    judged = edge >= MIN_SECTOR_EDGE * v.fw
    if not judged.any():
        raise MeasureError("the person's outline is not visible against the background")
    width = per_sector(m.halo)[judged] / edge[judged] / v.fw  # fw
    q75 = float(np.percentile(width, 75))
    value = {"width_fw": round(q75, 4), "width_px": round(q75 * a.face_width, 1),
             "coverage": round(float((width > HALO_FULL_SCORE / 4).mean()), 2)}
    return {"edge_halo": Measure(value=value, score=clamp_score(100 * q75 / HALO_FULL_SCORE))}


@detector("bg_remnants")
def bg_remnants(a: Analysis) -> dict[str, Any]:
    """Blobs of something other than the backdrop away from the person: the old background's
    remnants (a flag, a wall, a lamp). Value: their area in % of the photo, and how many."""
    v, m = edge_view(a), edge_maps(a)
    de = _need_plain(v)
    foreign = ((de >= BG_DE) & (m.dist_out > HALO_REACH * v.fw) & ~m.person_like).astype(np.uint8)
    k = max(3, round(REMNANT_OPEN * v.fw) | 1)
    blobs = cv2.morphologyEx(foreign, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    _, _, stats, _ = cv2.connectedComponentsWithStats(blobs, connectivity=8)
    areas = stats[1:, cv2.CC_STAT_AREA]
    areas = areas[areas >= (REMNANT_MIN * v.fw) ** 2]
    pct = 100 * float(areas.sum()) / de.size
    value = {"area_pct": round(pct, 3), "blobs": len(areas)}
    return {"bg_remnants": Measure(value=value, score=clamp_score(100 * pct / REMNANT_FULL_SCORE))}


# --- the body's bottom ------------------------------------------------------------------------------
@detector("lower_body_gap")
def lower_body_gap(a: Analysis) -> dict[str, Any]:
    """How far the body stops above the bottom edge, in % of the photo height: per column of the
    shoulder span, the rows of open background under the body (80th percentile of the columns)."""
    v = edge_view(a)
    h, w = v.person.shape
    chin_x, chin_y = a.point(CHIN) / v.scale
    row = int(round(chin_y + SHOULDER_ROW * v.fw))
    if row >= h:  # the frame ends above the shoulders' span: nothing can hang
        return _gap_measure(0.0, 0.0)
    if v.de is None:
        body = v.person >= 0.5
        empty = ~body
    else:
        # The segmenter paints plain padding under a body as person, so colour decides; the empty
        # strip must be open to the background beside or under the body (a white shirt between
        # the lapels is enclosed by the jacket, padding under a floating torso is not).
        bg = (v.de < BG_DE).astype(np.uint8)
        bg[:row] = 0
        _, labels = cv2.connectedComponents(bg, connectivity=4)
        body = (v.person >= 0.5) & (v.de >= BG_DE)
        empty = np.zeros((h, w), bool)
    body = cv2.morphologyEx(body.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
    cx = int(np.clip(round(chin_x), 0, w - 1))
    lo, hi = _run(v.person[row] >= 0.5, cx)  # the span by the mask: a white shirt is person too
    if lo is None:  # no body under the chin at all: the lowest person pixel near the chin's column
        near = body[:row, max(0, cx - int(v.fw)):cx + int(v.fw) + 1]
        rows = np.flatnonzero(near.any(axis=1))
        bottom = int(rows[-1]) if rows.size else int(chin_y)
        return _gap_measure(100.0 * (h - 1 - bottom) / h, 1.0)
    if v.de is not None:
        outside = np.ones(w, bool)
        outside[lo:hi + 1] = False
        outside[[0, -1]] = True
        seeds = np.unique(labels[row:][:, outside])
        empty = np.isin(labels, seeds[seeds > 0])
    trim = int((hi - lo) * SPAN_TRIM)
    cols = np.arange(lo + trim, hi - trim + 1)
    if v.de is not None:
        empty[h - _plain_rows(v, row, cols):, cols] = True
    strip = empty[row:, cols][::-1]  # from the bottom edge up
    gaps = np.where(strip.all(axis=0), strip.shape[0], np.argmin(strip, axis=0)).astype(np.float32)
    gap = 100.0 * float(np.percentile(gaps, GAP_QUANTILE)) / h
    return _gap_measure(gap, float((gaps > 0.005 * h).mean()))


def _plain_rows(v: EdgeView, top: int, cols: np.ndarray) -> int:
    """Rows at the bottom edge, up to ``top``, that are one plain colour across ``cols`` close to the
    backdrop: padding under a body where the backdrop surface, extrapolated under the body (a
    gradient), strays from the padding's colour by more than BG_DE."""
    assert v.de is not None
    count = 0
    for r in range(v.de.shape[0] - 1, top - 1, -1):
        lab = v.lab[r, cols]
        off = lab - np.median(lab, axis=0)
        if float(((off * off).sum(axis=1) <= STRIP_DE ** 2).mean()) < STRIP_SHARE:
            break
        if float(np.median(v.de[r, cols])) > STRIP_BG_DE:
            break
        count += 1
    return count


def _gap_measure(gap: float, floating: float) -> dict[str, Any]:
    value = {"gap_pct": round(gap, 2), "floating": round(floating, 2)}
    return {"lower_body_gap": Measure(value=value, score=clamp_score(100 * gap / GAP_FULL_SCORE))}


def _run(row: np.ndarray, x: int) -> tuple[int | None, int]:
    """The run of True around column ``x`` (or the nearest run within reach)."""
    idx = np.flatnonzero(row)
    if idx.size == 0:
        return None, 0
    if not row[x]:
        x = int(idx[np.argmin(np.abs(idx - x))])
    lo = x
    while lo > 0 and row[lo - 1]:
        lo -= 1
    hi = x
    while hi < len(row) - 1 and row[hi + 1]:
        hi += 1
    return lo, hi


# --- frame edges and wedges -------------------------------------------------------------------------
@detector("frame_edges")
def frame_edges(a: Analysis) -> dict[str, Any]:
    """Straight edges of a source frame: flat triangles in the corners (a rotated frame's wedges)
    and long straight outlines between the backdrop and anything else."""
    v = edge_view(a)
    h, w = v.person.shape
    short = min(h, w)
    wedges = [wd for wd in (_corner_wedge(v, cy, cx) for cy, cx in ((0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1)))
              if wd is not None]
    wedge_hyp = max((wd[0] for wd in wedges), default=0.0) / short
    wedge_area = sum(wd[1] for wd in wedges) / (h * w)
    best: tuple[float, float, str, float] = (0.0, 0.0, "", 0.0)
    if v.de is not None:
        background = cv2.morphologyEx((v.de < BG_DE).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
        for length, angle, side in _straight_lines(background, v.person):
            # A person's outline runs straight for a while (a suit's shoulder, a sleeve, long hair
            # hanging straight down) but not for long; along an image axis a long one is the source
            # frame's edge cutting the body.
            need = EDGE_MIN if side != "person" else AXIS_SILHOUETTE_MIN if angle <= AXIS_DEG else SILHOUETTE_MIN
            if length / short / need > best[0]:
                best = (length / short / need, angle, side, length / short)
    line_score = 50 * best[0]
    wedge_score = 100 * wedge_hyp / WEDGE_FULL_SCORE
    value = {"wedges": len(wedges), "wedge_area_pct": round(100 * wedge_area, 2),
             "line": round(best[3], 3),
             "line_angle": round(best[1], 1), "line_kind": best[2] or None}
    return {"frame_edges": Measure(value=value, score=clamp_score(max(line_score, wedge_score)))}


def _corner_wedge(v: EdgeView, cy: int, cx: int) -> tuple[float, float] | None:
    """(hypotenuse, area) in view px of a flat triangle filling the corner at (cy, cx), or None."""
    h, w = v.person.shape
    mask = np.zeros((h + 2, w + 2), np.uint8)
    flags = 4 | cv2.FLOODFILL_FIXED_RANGE | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
    tol = (WEDGE_TOL,) * 3
    cv2.floodFill(v.rgb.copy(), mask, (cx, cy), (0, 0, 0), tol, tol, flags)
    region = mask[1:-1, 1:-1].astype(bool)
    area = int(region.sum())
    if area < 6 or area > WEDGE_MAX_AREA * h * w or float(v.person[region].mean()) >= 0.5:
        return None  # nothing, the backdrop, or the person's own clothes
    # legs along the two image sides from the corner
    row = region[cy]
    col = region[:, cx]
    a_len = int(np.argmin(row[::-1] if cx else row)) if not row.all() else w
    b_len = int(np.argmin(col[::-1] if cy else col)) if not col.all() else h
    if a_len < 3 or b_len < 3 or a_len >= w or b_len >= h:
        return None
    if not WEDGE_FILL[0] <= area / (0.5 * a_len * b_len) <= WEDGE_FILL[1]:
        return None
    # A wedge ends in a step: just across its inner side the colour jumps (a flood stopped by a
    # smooth gradient or vignetting, where the colour only drifts past the tolerance, is no wedge).
    grown = cv2.dilate(region.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    ring = grown & ~cv2.dilate(region.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    if not ring.any():
        return None
    step = np.median(v.lab[ring], axis=0) - np.median(v.lab[region], axis=0)
    if float(np.sqrt((step * step).sum())) < WEDGE_STEP_DE:
        return None
    # its inner side: the region's outline away from the image border, one straight line
    inner = region & (cv2.erode(region.astype(np.uint8), np.ones((3, 3), np.uint8),
                                borderType=cv2.BORDER_REPLICATE) == 0)
    inner[:, [0, -1]] = False
    inner[[0, -1], :] = False
    ys, xs = np.nonzero(inner)
    if len(ys) < 5:
        return None
    pts = np.stack([xs, ys], axis=1).astype(np.float32)
    vx, vy, x0, y0 = cv2.fitLine(pts, cv2.DIST_L2, 0, 0.01, 0.01).ravel()
    rms = float(np.sqrt(np.mean(((pts[:, 0] - x0) * vy - (pts[:, 1] - y0) * vx) ** 2)))
    if rms > WEDGE_LINE_RMS:
        return None
    return float(math.hypot(a_len, b_len)), float(area)


def _straight_lines(background: np.ndarray, person: np.ndarray) -> list[tuple[float, float, str]]:
    """(length px, degrees off the nearest image axis, "person" | "other") of each long straight
    piece of the backdrop's outline, away from the image border."""
    h, w = background.shape
    short = min(h, w)
    keep = BORDER_KEEP * short
    contours, _ = cv2.findContours(background, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    out = []
    for c in contours:
        if len(c) < EDGE_MIN * short:
            continue
        poly = cv2.approxPolyDP(c, LINE_EPS, True)[:, 0, :].astype(np.float32)
        for p, q in zip(poly, np.roll(poly, -1, axis=0), strict=True):
            d = q - p
            length = float(math.hypot(*d))
            if length < EDGE_MIN * short:
                continue
            if (max(p[0], q[0]) <= keep or min(p[0], q[0]) >= w - 1 - keep
                    or max(p[1], q[1]) <= keep or min(p[1], q[1]) >= h - 1 - keep):
                continue  # the image border itself
            angle = math.degrees(math.atan2(abs(d[1]), abs(d[0])))
            off_axis = min(angle, 90 - angle)
            # which side is not background: sample the person mask a few px off the line's middle
            mid = (p + q) / 2
            normal = np.array([-d[1], d[0]]) / length
            probes = [mid + k * normal for k in (-3, 3)]
            on_person = max(float(person[int(np.clip(y, 0, h - 1)), int(np.clip(x, 0, w - 1))]) for x, y in probes)
            out.append((length, off_axis, "person" if on_person >= 0.5 else "other"))
    return out
