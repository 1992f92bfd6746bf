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


def _warp_hand(cut: HandCut, anchor: int, at: tuple[float, float], size: float, pointing: float,
               shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cut hand placed in an image of ``shape``: (pixels float32, alpha H x W x 1, its 21 landmarks)."""
    src = cut.points
    direction = src[12] - src[0]
    now = float(np.degrees(np.arctan2(direction[1], direction[0])))
    m = cv2.getRotationMatrix2D((float(src[anchor, 0]), float(src[anchor, 1])), now - pointing, size / cut.size)
    m[:, 2] += np.asarray(at, np.float64) - src[anchor]
    h, w = shape
    hand = cv2.warpAffine(cut.rgb, m, (w, h), flags=cv2.INTER_LINEAR).astype(np.float32)
    alpha = cv2.warpAffine(cut.alpha, m, (w, h), flags=cv2.INTER_LINEAR)[..., None]
    points = np.c_[src, np.ones(len(src))] @ m.T
    return hand, alpha, points


def paste_hand(rgb: np.ndarray, cut: HandCut, anchor: int, at: tuple[float, float], size: float,
               pointing: float, keep: np.ndarray | None = None) -> np.ndarray:
    """Paste ``cut`` so its landmark ``anchor`` lands ``at`` (pixels), its wrist-to-knuckle length is
    ``size`` pixels and the wrist-to-middle-fingertip direction points ``pointing`` degrees (image
    convention: 0 = right, -90 = up). ``keep``: a bool mask of pixels the hand goes behind."""
    hand, alpha, _ = _warp_hand(cut, anchor, at, size, pointing, rgb.shape[:2])
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


# --- a held ID card ---------------------------------------------------------------------------------------
CARD_ASPECT = 85.6 / 54.0  # ISO/IEC 7810 ID-1: identity cards, driving licences, bank cards
CARD_PORTRAITS = ("hivision_idphoto_2.jpg", "hivision_idphoto_1.jpg", "hivision_test3.jpg")  # holders' photos


def make_card(portrait: np.ndarray, width: int = 428, seed: int = 0, tint: tuple[int, int, int] = (214, 230, 244)
              ) -> np.ndarray:
    """An ID-1 card face (RGB, ``width`` px): a pale tinted ground with a faint guilloche, a coloured
    header band, the holder's photo (``portrait``, cropped to 3:4) on the left, lines of dark text on
    the right and a machine-readable strip at the bottom; corners rounded as a real card's are (the
    pixels outside them are black, see card_alpha)."""
    rng = np.random.default_rng(seed)
    h = round(width / CARD_ASPECT)
    card = np.empty((h, width, 3), np.float32)
    yy, xx = np.mgrid[0:h, 0:width].astype(np.float32)
    card[:] = np.asarray(tint, np.float32)
    card += (6 * np.sin(xx / 9.0 + 3 * np.sin(yy / 23.0)))[..., None]  # guilloche
    head = round(0.16 * h)
    card[:head] = np.asarray((130, 170, 215), np.float32) + rng.uniform(-20, 20, 3)
    ph, pw = round(0.62 * h), round(0.62 * h * 3 / 4)
    py, px = round(0.24 * h), round(0.05 * width)
    src = portrait
    sh, sw = src.shape[:2]
    if sw / sh > 3 / 4:
        cut = round(sh * 3 / 4)
        src = src[:, (sw - cut) // 2:(sw - cut) // 2 + cut]
    else:
        cut = round(sw * 4 / 3)
        src = src[:cut]
    card[py:py + ph, px:px + pw] = cv2.resize(src, (pw, ph), interpolation=cv2.INTER_AREA)
    x_text = px + pw + round(0.05 * width)
    for k in range(6):
        y = py + round(k * 0.1 * h)
        length = rng.uniform(0.25, 0.5) * width
        cv2.rectangle(card, (x_text, y), (min(width - 8, round(x_text + length)), y + max(2, round(0.035 * h))),
                      (40, 40, 50), -1)
    for k in range(2):
        y = round(0.88 * h) + k * round(0.055 * h)
        cv2.rectangle(card, (round(0.05 * width), y), (round(0.95 * width), y + max(2, round(0.03 * h))),
                      (60, 60, 70), -1)
    out = card.round().clip(0, 255).astype(np.uint8)
    return out


def card_alpha(shape: tuple[int, int], radius: float = 0.04) -> np.ndarray:
    """The card's outline with rounded corners (3.2 mm of 85.6 mm is about 0.04 of its width)."""
    h, w = shape
    r = max(2, round(radius * w))
    m = np.zeros((h, w), np.uint8)
    cv2.rectangle(m, (r, 0), (w - 1 - r, h - 1), (255,), -1)
    cv2.rectangle(m, (0, r), (w - 1, h - 1 - r), (255,), -1)
    for cx, cy in ((r, r), (w - 1 - r, r), (r, h - 1 - r), (w - 1 - r, h - 1 - r)):
        cv2.circle(m, (cx, cy), r, (255,), -1, cv2.LINE_AA)
    return m.astype(np.float32) / 255


CARD_PLACES = ("chest", "chest_with_hand", "beside_face_with_hand")


def hold_card(a: Analysis, card: np.ndarray, place: str, width: float = 0.8, angle: float = 0.0,
              tilt: float = 0.0, hand: HandCut | None = None) -> np.ndarray | None:
    """Paste ``card`` into the photo of ``a``, ``width`` face widths wide, turned ``angle`` degrees and
    foreshortened by ``tilt`` (0-0.3: one side that much shorter, as a card held at a slant), at
    ``place``: held up at the chest (centred 0.9 face widths under the chin, raised to stay in a
    tight frame), the same with a real hand's thumb over its lower edge, or beside the face (its near
    edge 0.15 face widths off the cheek) held the same way; None when the frame has no room for it there."""
    fw = a.face_width
    h_c, w_c = card.shape[:2]
    s = width * fw / w_c
    cx, cy = a.point(CHIN)
    if place in ("chest", "chest_with_hand"):
        # 0.9 face widths under the chin, raised to stay inside a tight frame (never onto the chin)
        low = a.height - 0.6 * width * fw / CARD_ASPECT
        centre = np.array([cx, max(cy + 0.4 * fw, min(cy + 0.9 * fw, low))])
    elif place == "beside_face_with_hand":
        edge = a.point(FACE_LEFT)
        centre = np.array([edge[0] + 0.15 * fw + width * fw / 2, (a.eye_mid[1] + cy) / 2])
    else:
        raise ValueError(place)
    src = np.float32([[0, 0], [w_c, 0], [w_c, h_c], [0, h_c]])
    half = np.array([w_c, h_c], np.float32) * s / 2
    corners = np.float32([[-half[0], -half[1] * (1 - tilt)], [half[0], -half[1]], [half[0], half[1]],
                          [-half[0], half[1] * (1 - tilt)]])
    t = np.radians(angle)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]], np.float32)
    dst = (corners @ rot.T + centre).astype(np.float32)
    over = float(dst[:, 1].max()) - (a.height - 1 - 0.05 * fw)
    if over > 0:  # keep the whole card in a tight frame
        dst[:, 1] -= over
    if float(dst[:, 0].max()) > a.width - 1 - 0.05 * fw:
        return None  # no room beside the face in this frame
    m = cv2.getPerspectiveTransform(src, dst)
    hgt, wid = a.rgb.shape[:2]
    warped = cv2.warpPerspective(card, m, (wid, hgt), flags=cv2.INTER_AREA).astype(np.float32)
    alpha = cv2.warpPerspective(card_alpha((h_c, w_c)), m, (wid, hgt), flags=cv2.INTER_LINEAR)[..., None]
    base = a.rgb.astype(np.float32)
    thumb = None
    if place.endswith("_with_hand"):
        if hand is None:
            raise ValueError(f"{place} needs a hand")
        # the hand behind the card, its middle knuckle at the card's lower edge, pointing up; then its
        # thumb's tip over the edge, in front
        grip = dst[3] + 0.4 * (dst[2] - dst[3])
        pix, h_alpha, pts = _warp_hand(hand, 9, (float(grip[0]), float(grip[1])), 0.45 * fw, -90.0 + angle,
                                       a.rgb.shape[:2])
        base = base * (1 - h_alpha) + pix * h_alpha
        disc = np.zeros(a.rgb.shape[:2], np.float32)
        cv2.circle(disc, (round(pts[4, 0]), round(pts[4, 1])), max(3, round(0.1 * fw)), (1.0,), -1)
        thumb = (pix, h_alpha * cv2.GaussianBlur(disc, (0, 0), 2.0)[..., None])
    out_f = base * (1 - alpha) + warped * alpha
    if thumb is not None:
        out_f = out_f * (1 - thumb[1]) + thumb[0] * thumb[1]
    out = out_f.round().clip(0, 255).astype(np.uint8)
    return out


# --- accessories on the face ------------------------------------------------------------------------------
# Real accessories cut out of ../shared/faces: (photo, centre x, y, radius) of a disc around each, in the
# photo's pixels: the astronaut's mission patch, the flower on hivision_test2's headband, the astronaut's
# name badge (a rectangle given by its half sides instead: negative radius = (half width, half height)).
ORNAMENTS = {
    "patch": ("astronaut.png", 171, 385, 38),
    "flower": ("hivision_test2_png.jpg", 422, 120, 30),
    "badge": ("astronaut.png", 304, 356, -1),
}
BADGE_HALF = (25, 17)
ORNAMENT_PLACES = ("forehead", "cheek", "nose")  # on the face: a clip at the temple sits on the hair


def cut_ornament(rgb: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(pixels, soft alpha) of ornament ``name`` of ORNAMENTS, cut from ``rgb`` (its source photo)."""
    _, cx, cy, r = ORNAMENTS[name]
    if r > 0:
        crop = rgb[cy - r:cy + r, cx - r:cx + r].copy()
        alpha = np.zeros(crop.shape[:2], np.float32)
        cv2.circle(alpha, (r, r), r - 1, (1.0,), -1, cv2.LINE_AA)
    else:
        hw, hh = BADGE_HALF
        crop = rgb[cy - hh:cy + hh, cx - hw:cx + hw].copy()
        alpha = np.ones(crop.shape[:2], np.float32)
    return crop, cv2.GaussianBlur(alpha, (0, 0), 0.8)


def place_ornament(a: Analysis, ornament: tuple[np.ndarray, np.ndarray], place: str, size: float) -> np.ndarray:
    """Paste an ornament ``size`` face widths across onto the face of ``a``: in the middle of the
    forehead above the brows (a bindi, a forehead jewel), on the cheek under an eye (a sticker, face
    jewellery) or beside the nose (a nose stud)."""
    pix, alpha = ornament
    fw = a.face_width
    m = a.mesh[:, :2]
    if place == "forehead":
        at = (m[107] + m[336]) / 2 - [0, 0.12 * fw]
    elif place == "cheek":
        at = m[205] + [0.0, -0.03 * fw]
    elif place == "nose":
        at = m[129] + [-0.01 * fw, 0.0]
    else:
        raise ValueError(place)
    s = size * fw / max(pix.shape[:2])
    mtx = np.array([[s, 0, at[0] - s * pix.shape[1] / 2], [0, s, at[1] - s * pix.shape[0] / 2]], np.float64)
    h, w = a.rgb.shape[:2]
    warped = cv2.warpAffine(pix, mtx, (w, h), flags=cv2.INTER_AREA).astype(np.float32)
    al = cv2.warpAffine(alpha, mtx, (w, h), flags=cv2.INTER_LINEAR)[..., None]
    out = a.rgb.astype(np.float32) * (1 - al) + warped * al
    return out.round().clip(0, 255).astype(np.uint8)


ORNAMENT_SIZES = (0.12, 0.2)
