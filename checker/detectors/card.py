"""A hand-held identity document (seed 004's id_exist): a card-shaped quadrilateral (straight edges,
the proportions of an ID-1 card or a passport page, card-sized against the face) held in front of the
person or next to a hand. Shapes like it in the background (doors, frames, windows) without a hand
near them score below the threshold. Calibration: docs/calibration/card.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..context import Analysis
from ..views import HAND_MIN_SCORE
from . import Measure, clamp_score, detector

VIEW_FACE_WIDTH = 160  # px: the photo is scaled so the face is at most this wide
VIEW_MAX_SIDE = 640  # px: and its long side at most this long
# A card's area in face widths squared: an ID-1 card (85.6 x 54 mm) at the face's distance is about
# 0.24 (a face is about 14 cm wide), held nearer the camera more; a passport page 0.4.
AREA_MIN, AREA_MAX = 0.12, 3.0
# Long side / short side of its bounding rectangle: ID-1 1.59, passport page 1.42, a card turned
# toward the camera's side foreshortens toward 1.2.
ASPECT_MIN, ASPECT_MAX = 1.2, 2.0
RECTANGULAR = 0.85  # contour area / its bounding rectangle's (a rounded-corner card: 0.99)
SEGMENT_MIN = 0.12  # face widths: the shortest straight segment looked at (a finger may break a side)
MAX_SEGMENTS = 120  # the longest this many segments are paired
MAX_CANDIDATES = 400  # quadrilaterals checked in full (edge support, contrast)
PARALLEL_TOL = 10.0  # degrees between a side and its opposite (a card held at a slant)
RIGHT_ANGLE_TOL = 15.0  # degrees off a right angle between neighbouring sides
SIDE_MIN, SIDE_MAX = 0.2, 1.8  # face widths between opposite sides
SIDE_SUPPORT = 0.5  # share of each side covered by segments along it (fingers may hide the rest)
# ...or by a step in lightness across it: a side crossed by a tie's stripes or a lanyard breaks into
# segments too short to find, but its points still show the card's edge.
STEP_MIN = 8.0  # L* between 2 px inside and 2 px outside a point of the side
EDGE_CONTRAST = 12.0  # L* between just inside and just outside its outline (a card stands out)
FACE_OVERLAP = 0.15  # at most this share of the quadrilateral on the face's box
ON_PERSON = 0.6  # share of the quadrilateral on the person mask: held in front of the body
HAND_REACH = 0.3  # face widths from the outline within which a hand landmark holds it
# Scores: a card in front of the person or at a hand 100 x its shape's fit; one elsewhere (a frame
# on the wall) 45 x the fit, under the seed's default 60.
LOOSE_WEIGHT = 45.0


@dataclass(frozen=True)
class Quad:
    corners: np.ndarray  # 4 x 2, photo pixels
    area: float  # face widths squared
    aspect: float
    fit: float  # 0-1, how card-like its outline is


def _fit(aspect: float, rectangular: float, contrast: float) -> float:
    """Card-likeness: 1 at an ID-1 or passport page aspect, a clean rectangle and a clear outline."""
    near = min(abs(aspect - 85.6 / 54.0), abs(aspect - 125.0 / 88.0))
    a = float(np.clip(1 - near / 0.4, 0, 1))
    r = float(np.clip((rectangular - RECTANGULAR) / (1 - RECTANGULAR), 0, 1))
    c = float(np.clip(contrast / (2 * EDGE_CONTRAST), 0, 1))
    return 0.4 + 0.6 * a * (0.5 + 0.5 * r) * (0.5 + 0.5 * c)


def quads(a: Analysis) -> list[Quad]:
    """Card-shaped quadrilaterals in the photo, most card-like first (memoised)."""
    return a.memo("card.quads", lambda: _quads(a))


def _quads(a: Analysis) -> list[Quad]:
    """Rectangles made of straight edge segments: two pairs of near-parallel segments at right angles
    whose lines bound a card-shaped quadrilateral, each side at least half covered by its segment (a
    hand may cover the rest)."""
    fw = a.face_width
    scale = min(1.0, VIEW_FACE_WIDTH / fw, VIEW_MAX_SIDE / max(a.width, a.height))
    gray = a.gray if scale == 1.0 else cv2.resize(a.gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    fws = fw * scale
    light = cv2.GaussianBlur(gray, (0, 0), 1.0).astype(np.float32) * (100.0 / 255.0)
    detector_ = cv2.ximgproc.createFastLineDetector(length_threshold=max(8, int(SEGMENT_MIN * fws)),
                                                     distance_threshold=1.5, canny_th1=30, canny_th2=60,
                                                     canny_aperture_size=3, do_merge=False)
    found = detector_.detect(gray)
    if found is None:
        return []
    segs = found.reshape(-1, 4).astype(np.float64)
    # only where a card could fail the check: on or next to the person, or within a hand's reach
    near = _near_person_or_hand(a, scale, gray.shape)
    mid = ((segs[:, :2] + segs[:, 2:]) / 2).round().astype(int)
    mid[:, 0] = mid[:, 0].clip(0, gray.shape[1] - 1)
    mid[:, 1] = mid[:, 1].clip(0, gray.shape[0] - 1)
    segs = segs[near[mid[:, 1], mid[:, 0]]]
    lengths = np.hypot(segs[:, 2] - segs[:, 0], segs[:, 3] - segs[:, 1])
    segs = segs[np.argsort(-lengths)][:MAX_SEGMENTS]
    angles = np.degrees(np.arctan2(segs[:, 3] - segs[:, 1], segs[:, 2] - segs[:, 0])) % 180.0
    pi, pj = _parallel_pairs(segs, angles, fws)
    h, w = gray.shape
    x0, y0, x1, y1 = (v * scale for v in a.face_rect)
    face_box = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)
    out: list[Quad] = []
    if len(pi) < 2:
        return out
    # pairs of pairs at right angles: their four lines' intersections, filtered in bulk
    pa = angles[pi]
    turn = np.abs((pa[:, None] - pa[None, :] + 90.0) % 180.0 - 90.0)
    ii, jj = np.nonzero(np.triu(turn >= 90.0 - RIGHT_ANGLE_TOL, 1))
    if not len(ii):
        return out
    lines = np.cross(np.c_[segs[:, :2], np.ones(len(segs))], np.c_[segs[:, 2:], np.ones(len(segs))])
    order = np.stack([pi[ii], pi[jj], pj[ii], pj[jj]], axis=1)  # p1, q1, p2, q2
    corners = np.empty((len(ii), 4, 2))
    ok = np.ones(len(ii), bool)
    for k, (u, v) in enumerate(((0, 1), (1, 2), (2, 3), (3, 0))):
        x = np.cross(lines[order[:, u]], lines[order[:, v]])
        ok &= np.abs(x[:, 2]) > 1e-9
        corners[:, k] = x[:, :2] / np.where(np.abs(x[:, 2]) > 1e-9, x[:, 2], 1.0)[:, None]
    inside = (corners[..., 0].min(1) >= -1) & (corners[..., 1].min(1) >= -1)
    inside &= (corners[..., 0].max(1) <= w) & (corners[..., 1].max(1) <= h)
    xs, ys = corners[..., 0], corners[..., 1]
    area = 0.5 * np.abs((xs * np.roll(ys, -1, 1) - np.roll(xs, -1, 1) * ys).sum(1)) / fws**2
    sides = np.linalg.norm(np.roll(corners, -1, 1) - corners, axis=2)
    s1, s2 = (sides[:, 0] + sides[:, 2]) / 2, (sides[:, 1] + sides[:, 3]) / 2
    aspect = np.maximum(s1, s2) / np.maximum(np.minimum(s1, s2), 1e-6)
    keep = ok & inside & (area >= AREA_MIN) & (area <= AREA_MAX) & (aspect >= ASPECT_MIN) & (aspect <= ASPECT_MAX)
    for k in np.flatnonzero(keep)[:MAX_CANDIDATES]:
        quad = _check(corners[k].astype(np.float32), segs, fws, face_box, light)
        if quad is not None:
            out.append(Quad(quad.corners / scale, quad.area, quad.aspect, quad.fit))
    out.sort(key=lambda q: -q.fit)
    kept: list[Quad] = []
    for q in out:  # one card gives several near-identical rectangles (inner and outer edges)
        if all(np.linalg.norm(q.corners.mean(axis=0) - k.corners.mean(axis=0)) > 0.15 * fw for k in kept):
            kept.append(q)
    return kept


def _near_person_or_hand(a: Analysis, scale: float, shape: tuple[int, ...]) -> np.ndarray:
    """Bool mask (view scale): the person grown by HAND_REACH face widths, and discs around hands."""
    h, w = shape[:2]
    person = cv2.resize(a.person.astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)
    grow = max(1, round(HAND_REACH * a.face_width * scale))
    near = cv2.dilate(person, np.ones((2 * grow + 1,) * 2, np.uint8))
    for hand in a.hands:
        if hand.score >= HAND_MIN_SCORE:
            x, y = (hand.points[:, :2].mean(axis=0) * scale).round().astype(int)
            cv2.circle(near, (int(x), int(y)), round(1.5 * a.face_width * scale), (1,), -1)
    return near.astype(bool)


def _parallel_pairs(segs: np.ndarray, angles: np.ndarray, fws: float) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of near-parallel segments a card's width or height apart that overlap
    along their length by at least 40% of the shorter."""
    rad = np.radians(angles)
    d = np.stack([np.cos(rad), np.sin(rad)], axis=1)
    normal = np.stack([-d[:, 1], d[:, 0]], axis=1)
    start = segs[:, :2]
    mid = (segs[:, :2] + segs[:, 2:]) / 2
    par = np.abs((angles[:, None] - angles[None, :] + 90.0) % 180.0 - 90.0) <= PARALLEL_TOL
    gap = np.abs(np.einsum("ijk,ik->ij", mid[None, :, :] - start[:, None, :], normal))
    par &= (gap >= SIDE_MIN * fws) & (gap <= SIDE_MAX * fws)
    # projections of every segment's ends on every segment's direction, from that segment's start
    ta = np.einsum("ijk,ik->ij", segs[None, :, :2] - start[:, None, :], d)
    tb = np.einsum("ijk,ik->ij", segs[None, :, 2:] - start[:, None, :], d)
    own = np.einsum("ik,ik->i", segs[:, 2:] - start, d)
    lo_i, hi_i = np.minimum(0.0, own), np.maximum(0.0, own)
    lo_j, hi_j = np.minimum(ta, tb), np.maximum(ta, tb)
    overlap = np.minimum(hi_i[:, None], hi_j) - np.maximum(lo_i[:, None], lo_j)
    shorter = np.minimum((hi_i - lo_i)[:, None], hi_j - lo_j)
    par &= overlap >= 0.4 * shorter
    i, j = np.nonzero(np.triu(par, 1))
    return i, j


def _support(start: np.ndarray, end: np.ndarray, segs: np.ndarray) -> float:
    """Share of the side start-end covered by segments lying along it (within 2 px and 8 degrees)."""
    length = float(np.linalg.norm(end - start))
    d = (end - start) / max(length, 1e-6)
    normal = np.array([-d[1], d[0]])
    a, b = segs[:, :2] - start, segs[:, 2:] - start
    na, nb = a @ normal, b @ normal
    run = np.linalg.norm(b - a, axis=1)
    along = (np.abs(na) <= 2.0) & (np.abs(nb) <= 2.0) & (np.abs(nb - na) <= 0.14 * np.maximum(run, 1e-6))
    if not along.any():
        return 0.0
    ta, tb = a[along] @ d, b[along] @ d
    lo = np.clip(np.minimum(ta, tb), 0.0, length)
    hi = np.clip(np.maximum(ta, tb), 0.0, length)
    covered, reach = 0.0, 0.0
    for lo_k, hi_k in sorted(zip(lo.tolist(), hi.tolist(), strict=True)):
        if hi_k > reach:
            covered += hi_k - max(lo_k, reach)
            reach = hi_k
    return covered / max(length, 1e-6)


def _step_support(light: np.ndarray, start: np.ndarray, end: np.ndarray) -> float:
    """Share of points along the side start-end where lightness steps across it by STEP_MIN."""
    d = end - start
    n = np.array([-d[1], d[0]]) / max(float(np.linalg.norm(d)), 1e-6)
    pts = start + np.linspace(0.05, 0.95, 24)[:, None] * d
    h, w = light.shape
    a = (pts + 2 * n).round().astype(int)
    b = (pts - 2 * n).round().astype(int)
    ok = (a[:, 0] >= 0) & (a[:, 0] < w) & (a[:, 1] >= 0) & (a[:, 1] < h)
    ok &= (b[:, 0] >= 0) & (b[:, 0] < w) & (b[:, 1] >= 0) & (b[:, 1] < h)
    if not ok.any():
        return 0.0
    step = np.abs(light[a[ok, 1], a[ok, 0]] - light[b[ok, 1], b[ok, 0]])
    return float((step >= STEP_MIN).sum()) / len(pts)


def _check(corners: np.ndarray, segs: np.ndarray, fws: float, face_box: np.ndarray,
           light: np.ndarray) -> Quad | None:
    """A card-shaped quadrilateral, or None: inside the photo, convex, card-sized and -proportioned,
    each side at least half covered by segments, off the face, with a clear outline."""
    if not cv2.isContourConvex(corners.reshape(-1, 1, 2)):
        return None
    area = abs(cv2.contourArea(corners)) / fws**2
    lens = [float(np.linalg.norm(corners[(k + 1) % 4] - corners[k])) for k in range(4)]
    a_side, b_side = (lens[0] + lens[2]) / 2, (lens[1] + lens[3]) / 2
    aspect = max(a_side, b_side) / max(min(a_side, b_side), 1e-6)
    for k in range(4):
        p, q = corners[k], corners[(k + 1) % 4]
        if _support(p, q, segs) < SIDE_SUPPORT and _step_support(light, p, q) < SIDE_SUPPORT:
            return None
    inter, _ = cv2.intersectConvexConvex(corners, face_box)
    if inter > FACE_OVERLAP * area * fws**2:
        return None
    contrast = _edge_contrast(light, corners)
    if contrast < EDGE_CONTRAST:
        return None
    return Quad(corners, area, aspect, _fit(aspect, 1.0, contrast))


def _edge_contrast(light: np.ndarray, box: np.ndarray) -> float:
    """Median |L* inside - L* outside| at points just either side of the box's edges."""
    centre = box.mean(axis=0)
    diffs = []
    h, w = light.shape
    for i in range(4):
        p, q = box[i], box[(i + 1) % 4]
        for t in np.linspace(0.15, 0.85, 8):
            m = p + t * (q - p)
            out_dir = m - centre
            out_dir /= max(float(np.linalg.norm(out_dir)), 1e-6)
            pin, pout = m - 3 * out_dir, m + 3 * out_dir
            if not (0 <= pout[0] < w and 0 <= pout[1] < h and 0 <= pin[0] < w and 0 <= pin[1] < h):
                continue
            diffs.append(abs(float(light[int(pin[1]), int(pin[0])]) - float(light[int(pout[1]), int(pout[0])])))
    return float(np.median(diffs)) if len(diffs) >= 8 else 0.0


def _held(a: Analysis, q: Quad) -> tuple[bool, bool]:
    """(a confident hand within reach of its outline, most of it on the person mask)."""
    poly = q.corners.astype(np.float32)
    reach = HAND_REACH * a.face_width
    near = any(
        cv2.pointPolygonTest(poly, (float(x), float(y)), True) > -reach
        for hand in a.hands if hand.score >= HAND_MIN_SCORE for x, y in hand.points[:, :2])
    mask = np.zeros((a.height, a.width), np.uint8)
    cv2.fillConvexPoly(mask, poly.round().astype(np.int32), (1,))
    inside = mask.astype(bool)
    on_person = float(a.person[inside].mean()) if inside.any() else 0.0
    return near, on_person >= ON_PERSON


@detector("id_card_held")
def id_card_held(a: Analysis) -> dict[str, Any]:
    best_score = 0.0
    best: dict[str, Any] = {"card": False}
    found = quads(a)
    for q in found[:8]:
        near, on_person = _held(a, q)
        score = 100.0 * q.fit if (near or on_person) else LOOSE_WEIGHT * q.fit
        if score > best_score:
            best_score = score
            best = {"card": True, "aspect": round(q.aspect, 2), "area": round(q.area, 3), "fit": round(q.fit, 3),
                    "hand_near": near, "on_person": on_person,
                    "corners": [[round(float(x)), round(float(y))] for x, y in q.corners]}
    best["candidates"] = len(found)
    return {"id_card_held": Measure(value=best, score=clamp_score(best_score))}
