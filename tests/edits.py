"""Known edits of real photos for the checks of issue 16 (hands, a held card, retouching, a neck shadow,
gaze), each placed from the photo's own analysis so its size and position are known.

The tests use them on ../shared/faces; bench/transformed.py runs the same edits over the labelled
photos of data/manifest.csv (calibration on the train split, figures on the held-out one).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from checker import models
from checker.context import CHIN, FACE_LEFT, FACE_OVAL, FACE_RIGHT, Analysis

SUBNASALE = 2  # mesh point under the nose


# --- hands -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HandCut:
    """A real hand cut out of a real photo: its pixels, a soft alpha and its 21 landmarks."""

    rgb: np.ndarray
    alpha: np.ndarray  # float32 0-1
    points: np.ndarray  # 21 x 2 pixels

    @property
    def size(self) -> float:
        return float(np.linalg.norm(self.points[9] - self.points[0]))


HAND_SOURCES = ("mask_pair106_without.jpg", "obama.jpg")  # real hands in ../shared/faces: open, and fingers


def cut_hand(rgb: np.ndarray) -> HandCut:
    """The most confident hand of ``rgb``: the landmarks' hull grown by a fifth of the hand's size,
    keeping only skin-coloured pixels (warm hue, some chroma, not dark): a sleeve, a phone or the
    background between the fingers is left out."""
    hand = models.get("hands").detect(rgb)[0]
    pts = hand.points[:, :2]
    h, w = rgb.shape[:2]
    hull = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(pts.astype(np.float32)).astype(np.int32), (255,))
    grow = max(2, int(0.2 * hand.size))
    region = cv2.dilate(hull, np.ones((2 * grow + 1,) * 2, np.uint8)) > 0
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
    hue = np.degrees(np.arctan2(lab[..., 2], lab[..., 1]))
    skin = (hue > 15) & (hue < 100) & (np.hypot(lab[..., 1], lab[..., 2]) > 6) & (lab[..., 0] > 25)
    keep = (region & skin).astype(np.uint8)
    keep = cv2.morphologyEx(keep, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    keep = cv2.morphologyEx(keep, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    alpha = cv2.GaussianBlur(keep.astype(np.float32), (0, 0), 1.2)
    return HandCut(rgb, alpha, pts)


def paste_hand(rgb: np.ndarray, cut: HandCut, anchor: int, at: tuple[float, float], size: float,
               pointing: float, keep: np.ndarray | None = None) -> np.ndarray:
    """Paste ``cut`` so its landmark ``anchor`` lands ``at`` (pixels), its wrist-to-knuckle length is
    ``size`` pixels and the wrist-to-middle-fingertip direction points ``pointing`` degrees (image
    convention: 0 = right, -90 = up). ``keep``: a bool mask of pixels the hand goes behind."""
    src = cut.points
    direction = src[12] - src[0]
    now = float(np.degrees(np.arctan2(direction[1], direction[0])))
    m = cv2.getRotationMatrix2D((float(src[anchor, 0]), float(src[anchor, 1])), now - pointing, size / cut.size)
    m[:, 2] += np.asarray(at, np.float64) - src[anchor]
    h, w = rgb.shape[:2]
    hand = cv2.warpAffine(cut.rgb, m, (w, h), flags=cv2.INTER_LINEAR).astype(np.float32)
    alpha = cv2.warpAffine(cut.alpha, m, (w, h), flags=cv2.INTER_LINEAR)[..., None]
    if keep is not None:
        alpha = alpha * (~keep)[..., None]
    out = rgb.astype(np.float32) * (1 - alpha) + hand * alpha
    return out.round().clip(0, 255).astype(np.uint8)


HAND_POSES = ("chin", "nose", "cheek", "behind_head", "raised")


def hand_pose(a: Analysis, cut: HandCut, pose: str) -> np.ndarray:
    """One of HAND_POSES on the photo of ``a``: the chin resting on the fingers, a fingertip at the
    nose, a palm on the cheek, a hand behind the head (only what shows beside it), a hand raised
    beside the face without touching it. The hand is 0.5 face widths from wrist to knuckle."""
    fw = a.face_width
    size = 0.5 * fw
    m = a.mesh
    if pose == "chin":
        return paste_hand(a.rgb, cut, 10, (m[CHIN, 0], m[CHIN, 1] + 0.08 * fw), size, -100.0)
    if pose == "nose":
        return paste_hand(a.rgb, cut, 8, (m[SUBNASALE, 0] + 0.05 * fw, m[SUBNASALE, 1]), size, -80.0)
    if pose == "cheek":
        edge = m[FACE_LEFT, :2]
        return paste_hand(a.rgb, cut, 9, (edge[0] - 0.15 * fw, edge[1] + 0.1 * fw), size, -95.0)
    if pose == "behind_head":
        side = m[FACE_RIGHT, :2]
        return paste_hand(a.rgb, cut, 9, (side[0] + 0.1 * fw, side[1] - 0.25 * fw), size, -120.0,
                          keep=_head_mask(a))
    if pose == "raised":
        side = m[FACE_LEFT, :2]
        return paste_hand(a.rgb, cut, 0, (side[0] + 0.3 * fw, m[CHIN, 1]), 0.8 * size, -90.0)
    raise ValueError(pose)


def _head_mask(a: Analysis) -> np.ndarray:
    """The person above the chin (head and hair)."""
    rows = np.arange(a.height)[:, None]
    return a.person & (rows < a.chin_y)


# --- gaze ---------------------------------------------------------------------------------------------
UPPER_LIDS = ((33, 246, 161, 160, 159, 158, 157, 173, 133), (263, 466, 388, 387, 386, 385, 384, 398, 362))
LOWER_LIDS = ((33, 7, 163, 144, 145, 153, 154, 155, 133), (263, 249, 390, 373, 374, 380, 381, 382, 362))
IRISES = ((468, 469, 471), (473, 474, 476))  # centre and two opposite rim points, image-left eye first


def eye_width(a: Analysis, k: int) -> float:
    """Corner-to-corner width of eye ``k`` (0 = image-left), pixels."""
    up = UPPER_LIDS[k]
    return float(np.linalg.norm(a.mesh[up[0], :2] - a.mesh[up[-1], :2]))


def move_irises(a: Analysis, dx: float, dy: float = 0.0, eyes: tuple[int, ...] = (0, 1)) -> np.ndarray:
    """Move the irises of ``eyes`` (0 = image-left) by (dx, dy) of their eye's width (+ = image right,
    down): the old disc is painted with the eye's own white, the disc is redrawn shifted, clipped to
    the eye opening (the lids keep covering what they covered)."""
    rgb, mesh = a.rgb, a.mesh
    out = rgb.copy()
    h, w = rgb.shape[:2]
    for k in eyes:
        upper, lower, (c, r0, r1) = UPPER_LIDS[k], LOWER_LIDS[k], IRISES[k]
        contour = np.vstack([mesh[list(upper), :2], mesh[list(lower)[::-1], :2]])
        width = eye_width(a, k)
        radius = float(np.linalg.norm(mesh[r0, :2] - mesh[r1, :2])) / 2
        cx, cy = mesh[c, :2]
        eye = np.zeros((h, w), np.uint8)
        cv2.fillPoly(eye, [np.round(contour).astype(np.int32)], (1,))
        disc = np.zeros_like(eye)
        cv2.circle(disc, (round(cx), round(cy)), round(1.1 * radius), (1,), -1)
        white_px = rgb[(eye == 1) & (disc == 0)]
        light = white_px.astype(np.float32).mean(axis=1)
        white = (np.median(white_px[light >= np.percentile(light, 85)], axis=0) if len(white_px)
                 else np.array([235, 235, 235]))
        sx, sy = dx * width, dy * width
        shifted = cv2.warpAffine(rgb, np.array([[1, 0, sx], [0, 1, sy]], np.float64), (w, h))
        moved = np.zeros_like(eye)
        cv2.circle(moved, (round(cx + sx), round(cy + sy)), round(1.05 * radius), (1,), -1)
        out[(eye == 1) & (disc == 1)] = np.asarray(white, np.uint8)
        sel = (eye == 1) & (moved == 1)
        out[sel] = shifted[sel]
    return out


# (dx, dy) in eye widths of the iris moves bench/transformed.py and the gaze tests use: about 14 and 30
# degrees sideways, 14 degrees up and down (asin(d / 0.4)).
GAZE_MOVES = ((0.1, 0.0), (-0.1, 0.0), (0.2, 0.0), (-0.2, 0.0), (0.0, 0.1), (0.0, -0.1))


# --- neck shadow --------------------------------------------------------------------------------------
def neck_shadow(a: Analysis, depth: float, reach: float = 0.3) -> np.ndarray:
    """A shadow cast by the chin: under the jaw line, down ``reach`` face widths (its lower edge fading
    over a third of that), across the person within 0.45 face widths of the chin, linear light
    multiplied by 1 - ``depth`` (0.5 halves the light reaching the neck)."""
    fw = a.face_width
    oval = a.mesh[list(FACE_OVAL), :2]
    lower = oval[oval[:, 1] > float(oval[:, 1].mean())]
    order = np.argsort(lower[:, 0])
    xs = np.arange(a.width, dtype=np.float32)
    jaw = np.interp(xs, lower[order, 0], lower[order, 1])
    rows = np.arange(a.height, dtype=np.float32)[:, None]
    below = rows - jaw[None, :]
    fade = np.clip(1 - (below - 0.67 * reach * fw) / (0.33 * reach * fw), 0, 1) * (below > 0)
    across = np.clip((0.45 * fw - np.abs(xs - a.point(CHIN)[0])) / (0.1 * fw), 0, 1)[None, :]
    person = cv2.GaussianBlur(a.person_mask, (0, 0), 1.5)
    k = 1 - depth * fade * across * person
    c = a.rgb.astype(np.float32) / 255
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4) * k[..., None]
    out = np.where(lin <= 0.0031308, lin * 12.92, 1.055 * np.power(lin, 1 / 2.4) - 0.055)
    return (out * 255).round().clip(0, 255).astype(np.uint8)


NECK_SHADOW_DEPTHS = (0.3, 0.5, 0.7)


# --- over-retouching ------------------------------------------------------------------------------------
def smooth_skin_texture(a: Analysis, strength: float, scale: float = 0.015) -> np.ndarray:
    """Take ``strength`` (0-1) of the fine texture off the facial skin, as retouching does: the skin's
    detail finer than ``scale`` face widths (a Gaussian's sigma: pores, fine lines) is multiplied by
    1 - strength; edges of the eyes, brows, lips and the face's outline are left as they are (the skin
    mask stops short of them, feathered)."""
    from checker.generate.beauty import skin_mask

    fw = a.face_width
    img = a.rgb.astype(np.float32)
    base = cv2.GaussianBlur(img, (0, 0), max(0.8, scale * fw))
    mask = cv2.erode(skin_mask(a.rgb.shape[:2], a.mesh).astype(np.uint8), np.ones((3, 3), np.uint8))
    w = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), max(1.0, 0.01 * fw))[..., None] * strength
    out = img - w * (img - base)
    return out.round().clip(0, 255).astype(np.uint8)


RETOUCH_STRENGTHS = (0.5, 0.8, 1.0)
