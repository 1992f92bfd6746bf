"""Outfit change (seed 002's ``clothes_id``): formal clothing laid over the matted person.

A garment is an RGBA template with three anchor points: the collar's centre (under the chin) and the two
shoulder points (image left and image right). The 50 built-in garments (man_1..20, woman_1..20,
child_1..10) are drawn here as shaded vector shapes (``render_template``); a user's garment is a PNG with
alpha and the same three anchors (``Garment.from_png``). Fitting is the same for both:

- the photo's anchors come from the mesh (chin, face width), the person mask (neck width, shoulder span)
  and, where it sees both shoulders, the body-pose model;
- the template is mapped by a similarity (shoulder width and tilt) with a bounded vertical stretch that
  puts the collar under the chin;
- the garment goes over the body; the face (the mesh's oval, grown a little) and the hair stay on top,
  and the collar's edge is feathered so the neck meets it softly; the background is untouched.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from ..context import CHIN, FACE_OVAL, L_SHOULDER, POSE_VISIBLE, R_SHOULDER, Analysis, MeasureError
from ..errors import CheckerError

# Template canvas (px) and its anchors: collar centre and the two shoulder points.
T_W, T_H = 1000, 1500
T_COLLAR = (500.0, 200.0)
T_LEFT, T_RIGHT = (130.0, 290.0), (870.0, 290.0)
# Photo anchors, in face widths (fw): the collar sits this far under the chin, and the shoulders are at
# least this wide where the photo cuts them off (people's shoulders span about 2.4-3 face widths).
COLLAR_BELOW_CHIN = 0.18
SHOULDER_ROW = 0.9  # fw under the chin: the row whose person run is the shoulder span
MIN_SHOULDERS = 2.5
MAX_SHOULDERS = 4.2
GARMENT_REACH = 1.15  # the templates' width at the chest, in shoulder widths
STRETCH = (0.75, 1.35)  # the vertical scale stays within these times the horizontal one
FEATHER = 0.012  # fw: the collar's soft edge
FACE_GROW = 0.03  # fw: the face's oval is kept clear by this much
HAIR_DE = 14.0  # ΔE76 from the hair's colour beside the eyes (at least; the hair's own spread widens it)
HAIR_BAND = 0.6  # fw beside the face where long hair may lie over the garment
HAIR_FADE = 0.05  # fw: how far hair tips fade into the garment
HAIR_DROP = 1.3  # fw under the chin: as far as hair is followed down
HAIR_NOT_SKIN = 20.0  # ΔE76 from the face's skin: beside the eyes, person pixels further from it are hair ...
HAIR_SEEDS = 0.12  # ... and long hair shows at least this much of it there (fw squared, both sides)
HAIR_GRAIN = 0.02  # fw: the window of the texture that tells hair from smooth cloth of its colour ...
HAIR_SMOOTH = 0.5  # ... below this share of the hair's own texture (beside the eyes) it is cloth


@dataclass(frozen=True)
class Garment:
    id: str
    name: str
    name_zh: str
    rgba: np.ndarray  # H x W x 4 uint8
    collar: tuple[float, float]
    left: tuple[float, float]  # image-left shoulder point
    right: tuple[float, float]

    @staticmethod
    def from_png(data: bytes, anchors: str | bytes | dict[str, object], gid: str = "custom") -> Garment:
        """A user's garment: PNG bytes with alpha and its anchors (JSON ``{"collar": [x, y],
        "left_shoulder": [x, y], "right_shoulder": [x, y]}``, image-left and image-right, in the PNG's
        pixels). A bad file or bad anchors is INVALID_ARGUMENT naming what is wrong."""
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
        if img is None or img.ndim != 3 or img.shape[2] != 4:
            raise CheckerError("INVALID_ARGUMENT", "clothes_file must be a PNG with an alpha channel")
        h, w = img.shape[:2]
        if not (16 <= w <= 4096 and 16 <= h <= 4096):
            raise CheckerError("INVALID_ARGUMENT", f"clothes_file is {w}x{h} px; it must be 16-4096 px each side")
        if not (img[:, :, 3] > 0).any():
            raise CheckerError("INVALID_ARGUMENT", "clothes_file is fully transparent")
        try:
            spec: Any = json.loads(anchors) if isinstance(anchors, (str, bytes)) else anchors
            pts = {k: tuple(float(v) for v in spec[k]) for k in ("collar", "left_shoulder", "right_shoulder")}
        except (ValueError, TypeError, KeyError) as exc:
            raise CheckerError("INVALID_ARGUMENT", "clothes_anchors must be JSON with collar, left_shoulder and "
                                                   "right_shoulder, each [x, y] in the PNG's pixels") from exc
        for k, p in pts.items():
            if len(p) != 2 or not all(math.isfinite(v) for v in p) or not (0 <= p[0] <= w and 0 <= p[1] <= h):
                raise CheckerError("INVALID_ARGUMENT", f"clothes_anchors: {k} {list(p)} is not a point inside the "
                                                       f"{w}x{h} px garment")
        if pts["right_shoulder"][0] - pts["left_shoulder"][0] < 8:
            raise CheckerError("INVALID_ARGUMENT", "clothes_anchors: left_shoulder must be at least 8 px left of "
                                                   "right_shoulder (image left and right)")
        rgba = cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
        return Garment(gid, "your garment", "自定义服装", rgba, _pair(pts["collar"]), _pair(pts["left_shoulder"]),
                       _pair(pts["right_shoulder"]))


def _pair(p: tuple[float, ...]) -> tuple[float, float]:
    return (p[0], p[1])


# --- the catalogue ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Style:
    """How a built-in garment is drawn."""

    kind: str  # suit, blazer, shirt, blouse, sailor, polo
    body: tuple[int, int, int]  # jacket / top colour
    shirt: tuple[int, int, int] = (245, 245, 242)
    tie: tuple[int, int, int] | None = None
    stripes: bool = False  # diagonal stripes on the tie
    v_depth: float = 1.0  # how deep the jacket's opening goes (1: to the chest)
    buttons: int = 2
    trim: tuple[int, int, int] | None = None  # sailor collar stripe, blazer piping
    emblem: bool = False  # a school badge on the left chest


NAVY, BLACK, CHARCOAL, GREY, BROWN = (28, 36, 62), (22, 22, 26), (54, 56, 62), (104, 108, 114), (78, 58, 44)
BEIGE, WINE, GREEN, CAMEL, BLUE = (196, 178, 150), (92, 28, 38), (36, 70, 52), (168, 128, 82), (46, 78, 140)
WHITE, SKY, PINK, CREAM, LILAC = (246, 246, 244), (204, 222, 240), (240, 212, 214), (240, 232, 212), (214, 204, 230)
RED, GOLD, SILVER, MAROON = (160, 30, 36), (190, 150, 60), (150, 152, 160), (110, 30, 40)

_STYLES: dict[str, tuple[str, str, Style]] = {
    # men: suits with and without a tie, several cloths; two shirts without jacket
    "man_1": ("navy suit, red tie", "藏青西装红领带", Style("suit", NAVY, tie=RED)),
    "man_2": ("black suit, black tie", "黑色西装黑领带", Style("suit", BLACK, tie=(30, 30, 34))),
    "man_3": ("charcoal suit, blue tie", "深灰西装蓝领带", Style("suit", CHARCOAL, tie=BLUE)),
    "man_4": ("grey suit, wine tie", "灰色西装酒红领带", Style("suit", GREY, tie=WINE)),
    "man_5": ("navy suit, striped tie", "藏青西装条纹领带", Style("suit", NAVY, tie=MAROON, stripes=True)),
    "man_6": ("black suit, silver tie", "黑色西装银色领带", Style("suit", BLACK, tie=SILVER)),
    "man_7": ("brown suit, gold tie", "棕色西装金色领带", Style("suit", BROWN, tie=GOLD)),
    "man_8": ("navy suit, no tie", "藏青西装无领带", Style("suit", NAVY, v_depth=0.8)),
    "man_9": ("black suit, no tie", "黑色西装无领带", Style("suit", BLACK, v_depth=0.8)),
    "man_10": ("charcoal suit, blue shirt", "深灰西装浅蓝衬衫", Style("suit", CHARCOAL, shirt=SKY, tie=NAVY)),
    "man_11": ("grey suit, blue shirt, no tie", "灰色西装浅蓝衬衫", Style("suit", GREY, shirt=SKY, v_depth=0.8)),
    "man_12": ("black suit, striped tie", "黑色西装条纹领带", Style("suit", BLACK, tie=BLUE, stripes=True)),
    "man_13": ("navy suit, blue tie", "藏青西装蓝领带", Style("suit", NAVY, tie=BLUE)),
    "man_14": ("green suit, brown tie", "墨绿西装棕领带", Style("suit", GREEN, tie=BROWN)),
    "man_15": ("camel jacket, navy tie", "驼色西装藏青领带", Style("suit", CAMEL, tie=NAVY)),
    "man_16": ("charcoal suit, red tie", "深灰西装红领带", Style("suit", CHARCOAL, tie=RED)),
    "man_17": ("white shirt, navy tie", "白衬衫藏青领带", Style("shirt", WHITE, tie=NAVY)),
    "man_18": ("white shirt", "白衬衫", Style("shirt", WHITE)),
    "man_19": ("blue shirt, navy tie", "浅蓝衬衫藏青领带", Style("shirt", SKY, tie=NAVY)),
    "man_20": ("black shirt", "黑衬衫", Style("shirt", (40, 40, 44), shirt=(40, 40, 44))),
    # women: blazers over blouses, blouses and shirts
    "woman_1": ("black blazer, white blouse", "黑色西装白衬衫", Style("blazer", BLACK)),
    "woman_2": ("navy blazer, white blouse", "藏青西装白衬衫", Style("blazer", NAVY)),
    "woman_3": ("grey blazer, white blouse", "灰色西装白衬衫", Style("blazer", GREY)),
    "woman_4": ("beige blazer, white blouse", "米色西装白衬衫", Style("blazer", BEIGE)),
    "woman_5": ("wine blazer, cream blouse", "酒红西装米白衬衫", Style("blazer", WINE, shirt=CREAM)),
    "woman_6": ("charcoal blazer, pink blouse", "深灰西装粉衬衫", Style("blazer", CHARCOAL, shirt=PINK)),
    "woman_7": ("camel blazer, white blouse", "驼色西装白衬衫", Style("blazer", CAMEL)),
    "woman_8": ("black blazer, blue blouse", "黑色西装浅蓝衬衫", Style("blazer", BLACK, shirt=SKY)),
    "woman_9": ("navy blazer, navy bow", "藏青西装领结", Style("blazer", NAVY, tie=NAVY, v_depth=0.7)),
    "woman_10": ("white round-neck top", "白色圆领上衣", Style("blouse", WHITE)),
    "woman_11": ("blue shirt", "浅蓝衬衫", Style("shirt", SKY)),
    "woman_12": ("pink shirt", "粉色衬衫", Style("shirt", PINK)),
    "woman_13": ("black round-neck top", "黑色圆领上衣", Style("blouse", BLACK)),
    "woman_14": ("navy round-neck top", "藏青圆领上衣", Style("blouse", NAVY)),
    "woman_15": ("cream round-neck top", "米白圆领上衣", Style("blouse", CREAM)),
    "woman_16": ("lilac round-neck top", "淡紫圆领上衣", Style("blouse", LILAC)),
    "woman_17": ("grey blazer, black top", "灰色西装黑色内搭", Style("blazer", GREY, shirt=(36, 36, 40))),
    "woman_18": ("black blazer, black top", "黑色西装黑色内搭", Style("blazer", BLACK, shirt=(60, 60, 66))),
    "woman_19": ("green blazer, white blouse", "墨绿西装白衬衫", Style("blazer", GREEN)),
    "woman_20": ("blue blazer, white blouse", "蓝色西装白衬衫", Style("blazer", BLUE)),
    # children: school uniforms
    "child_1": ("navy school blazer, red tie", "藏青校服红领带", Style("suit", NAVY, tie=RED, emblem=True)),
    "child_2": ("green school blazer, striped tie", "墨绿校服条纹领带",
                Style("suit", GREEN, tie=GOLD, stripes=True, emblem=True)),
    "child_3": ("maroon school blazer, grey tie", "酒红校服灰领带", Style("suit", MAROON, tie=GREY, emblem=True)),
    "child_4": ("white shirt, red tie", "白衬衫红领带", Style("shirt", WHITE, tie=RED)),
    "child_5": ("cream shirt", "米白衬衫", Style("shirt", CREAM)),
    "child_6": ("navy sailor collar", "藏青水手领", Style("sailor", WHITE, shirt=WHITE, trim=NAVY, tie=RED)),
    "child_7": ("white sailor collar", "白色水手领", Style("sailor", NAVY, shirt=WHITE, trim=WHITE, tie=NAVY)),
    "child_8": ("white polo", "白色polo衫", Style("polo", WHITE)),
    "child_9": ("navy polo", "藏青polo衫", Style("polo", NAVY, trim=WHITE)),
    "child_10": ("grey school blazer, navy tie", "灰色校服藏青领带", Style("suit", GREY, tie=NAVY, emblem=True)),
}
IDS = tuple(_STYLES)


def catalogue() -> list[dict[str, str]]:
    """The built-in garments: id, English and Chinese names, and the address of each thumbnail."""
    return [{"id": gid, "name": name, "name_zh": zh, "thumbnail": f"/api/clothes/{gid}.png"}
            for gid, (name, zh, _) in _STYLES.items()]


def garment(gid: str) -> Garment:
    """A built-in garment by seed 002's id; an unknown id is INVALID_ARGUMENT listing the families."""
    if gid not in _STYLES:
        raise CheckerError("INVALID_ARGUMENT", f"clothes_id {gid!r} is not one of man_1..man_20, woman_1..woman_20, "
                                               "child_1..child_10 (GET /api/clothes lists them)")
    name, zh, _ = _STYLES[gid]
    return Garment(gid, name, zh, render_template(gid), T_COLLAR, T_LEFT, T_RIGHT)


def thumbnail(gid: str, width: int = 160) -> np.ndarray:
    """RGBA thumbnail of a built-in garment (the collar and shoulders, as it will be worn)."""
    g = garment(gid)
    top = g.rgba[: int(T_H * 0.55)]
    return cv2.resize(top, (width, round(width * top.shape[0] / top.shape[1])), interpolation=cv2.INTER_AREA)


# --- drawing ----------------------------------------------------------------------------------------------
def _poly(canvas: np.ndarray, pts: list[tuple[float, float]], color: tuple[int, ...]) -> None:
    cv2.fillPoly(canvas, [np.round(np.array(pts) * 4).astype(np.int32)], color, lineType=cv2.LINE_AA, shift=2)


def _line(canvas: np.ndarray, pts: list[tuple[float, float]], color: tuple[int, ...], width: int) -> None:
    cv2.polylines(canvas, [np.round(np.array(pts) * 4).astype(np.int32)], False, color, width, cv2.LINE_AA, shift=2)


def _shade(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Cloth lit from the front and above: darker toward the sides (a body is round) and lower down,
    with a faint weave so it does not read as flat paint."""
    h, w = mask.shape
    x = (np.arange(w, dtype=np.float32) - w / 2) / (w / 2)
    y = np.arange(h, dtype=np.float32) / h
    light = (1.0 - 0.28 * x[None, :] ** 2) * (1.0 - 0.12 * y[:, None])
    rng = np.random.default_rng(7)
    weave = 1.0 + 0.025 * cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), 1.2)
    out = rgb.astype(np.float32) * (light * weave)[:, :, None]
    return np.where(mask[:, :, None], np.clip(out, 0, 255), rgb).astype(np.uint8)


def _darker(c: tuple[int, int, int], k: float) -> tuple[int, int, int]:
    return (int(c[0] * k), int(c[1] * k), int(c[2] * k))


def _lighter(c: tuple[int, int, int], k: float) -> tuple[int, int, int]:
    return tuple(int(v + (255 - v) * k) for v in c)  # type: ignore[return-value]


@lru_cache(maxsize=64)
def _template(gid: str) -> bytes:
    return _draw(_STYLES[gid][2]).tobytes()


def render_template(gid: str) -> np.ndarray:
    """The built-in garment ``gid`` drawn on its T_W x T_H canvas (RGBA), anchors T_COLLAR, T_LEFT, T_RIGHT."""
    return np.frombuffer(_template(gid), np.uint8).reshape(T_H, T_W, 4).copy()


def _draw(st: Style) -> np.ndarray:
    rgb = np.zeros((T_H, T_W, 3), np.uint8)
    alpha = np.zeros((T_H, T_W), np.uint8)
    cx, cy = T_COLLAR
    neck = 88.0 if st.kind in ("suit", "blazer", "shirt", "polo") else 110.0  # half-width of the neck opening
    # The body: from the collar out along the shoulders' slope, down the arms to the bottom.
    # The neckline is a shallow U: the collar's band sits higher at the sides of the neck than in front.
    outline = [(cx - neck, cy - 34), (cx - 250, cy + 30), (T_LEFT[0] + 10, T_LEFT[1] - 8), (T_LEFT[0] - 40, 360),
               (T_LEFT[0] - 80, 620), (T_LEFT[0] - 100, T_H), (T_RIGHT[0] + 100, T_H), (T_RIGHT[0] + 80, 620),
               (T_RIGHT[0] + 40, 360), (T_RIGHT[0] - 10, T_RIGHT[1] - 8), (cx + 250, cy + 30), (cx + neck, cy - 34),
               (cx + 0.6 * neck, cy - 14), (cx, cy), (cx - 0.6 * neck, cy - 14)]
    _poly(alpha, outline, (255,))
    _poly(rgb, outline, st.body)
    if st.kind in ("suit", "blazer"):
        _jacket(rgb, st, neck)
    elif st.kind == "sailor":
        _sailor(rgb, st, neck)
    else:
        _shirt_top(rgb, st, neck)
    # The arms' seams: a darker curve from each shoulder down.
    for side in (-1, 1):
        x0 = T_LEFT[0] + 40 if side < 0 else T_RIGHT[0] - 40
        _line(rgb, [(x0, T_LEFT[1] + 10), (x0 + side * 12, 500), (x0 + side * 30, 760)], _darker(st.body, 0.7), 5)
    mask = alpha > 0
    rgb = _shade(rgb, mask)
    return np.dstack([rgb, alpha])


def _collar_points(neck: float) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    cx, cy = T_COLLAR
    left = [(cx - neck, cy - 34), (cx - neck - 20, cy + 60), (cx - 12, cy + 95), (cx, cy + 4)]
    right = [(2 * cx - x, y) for x, y in left]
    return left, right


def _tie(rgb: np.ndarray, st: Style, bottom: float) -> None:
    if st.tie is None:
        return
    cx, cy = T_COLLAR
    if st.kind == "blazer":  # a bow at the throat
        _poly(rgb, [(cx, cy + 50), (cx - 70, cy + 20), (cx - 70, cy + 95)], st.tie)
        _poly(rgb, [(cx, cy + 50), (cx + 70, cy + 20), (cx + 70, cy + 95)], st.tie)
        cv2.circle(rgb, (int(cx), int(cy + 55)), 18, _darker(st.tie, 0.8), -1, cv2.LINE_AA)
        return
    knot = [(cx - 30, cy + 35), (cx + 30, cy + 35), (cx + 20, cy + 85), (cx - 20, cy + 85)]
    blade = [(cx - 20, cy + 85), (cx + 20, cy + 85), (cx + 48, bottom - 60), (cx, bottom), (cx - 48, bottom - 60)]
    _poly(rgb, blade, st.tie)
    if st.stripes:  # diagonal stripes, kept on the blade
        on_blade = np.zeros(rgb.shape[:2], np.uint8)
        _poly(on_blade, blade, (1,))
        striped = rgb.copy()
        for k in range(8):
            y = cy + 110 + k * 70
            _line(striped, [(cx - 60, y), (cx + 60, y + 50)], _lighter(st.tie, 0.55), 12)
        rgb[on_blade == 1] = striped[on_blade == 1]
    _poly(rgb, knot, _darker(st.tie, 0.85))


def _jacket(rgb: np.ndarray, st: Style, neck: float) -> None:
    cx, cy = T_COLLAR
    v_bottom = cy + 330 * st.v_depth + 120
    # The shirt in the jacket's opening, its collar points, the tie.
    opening = [(cx - neck - 8, cy - 10), (cx + neck + 8, cy - 10), (cx, v_bottom)]
    _poly(rgb, opening, st.shirt)
    _tie(rgb, st, v_bottom - 10)
    left, right = _collar_points(neck)
    for pts in (left, right):
        _poly(rgb, pts, _darker(st.shirt, 0.93))
        _line(rgb, pts + [pts[0]], _darker(st.shirt, 0.78), 3)
    # The lapels: from the collar down the opening, with a notch, a shade lighter than the jacket.
    lapel_c = _lighter(st.body, 0.08)
    for side in (-1, 1):
        s = float(side)
        pts = [(cx + s * (neck + 10), cy - 14), (cx + s * (neck + 70), cy + 60), (cx + s * (neck + 40), cy + 100),
               (cx + s * (neck + 110), cy + 150), (cx + s * 30, v_bottom - 20), (cx + s * 6, v_bottom),
               (cx + s * (neck - 2), cy + 10)]
        _poly(rgb, pts, lapel_c)
        _line(rgb, pts[1:6], _darker(st.body, 0.6), 4)
        _line(rgb, [pts[0], pts[1]], _lighter(st.body, 0.2), 3)
    # The front edge and buttons below the opening.
    _line(rgb, [(cx, v_bottom), (cx + 6, T_H)], _darker(st.body, 0.55), 4)
    for k in range(st.buttons):
        cv2.circle(rgb, (int(cx + 16), int(v_bottom + 70 + k * 140)), 11, _darker(st.body, 0.5), -1, cv2.LINE_AA)
    if st.emblem:
        centre = (int(T_LEFT[0] + 230), int(cy + 330))
        cv2.ellipse(rgb, centre, (48, 56), 0, 0, 360, GOLD, -1, cv2.LINE_AA)
        cv2.ellipse(rgb, centre, (34, 42), 0, 0, 360, _darker(st.body, 0.8), -1, cv2.LINE_AA)
        cv2.line(rgb, (centre[0] - 18, centre[1]), (centre[0] + 18, centre[1]), GOLD, 5, cv2.LINE_AA)
    # A breast pocket on the other side.
    _line(rgb, [(T_RIGHT[0] - 300, cy + 360), (T_RIGHT[0] - 190, cy + 352)], _darker(st.body, 0.6), 4)


def _shirt_top(rgb: np.ndarray, st: Style, neck: float) -> None:
    cx, cy = T_COLLAR
    if st.kind == "blouse":  # a round neckline, a seam under it
        _line(rgb, [(cx - neck, cy - 4), (cx - neck * 0.6, cy + 40), (cx, cy + 58), (cx + neck * 0.6, cy + 40),
                    (cx + neck, cy - 4)], _darker(st.body, 0.75), 6)
        return
    left, right = _collar_points(neck)
    placket = _darker(st.body, 0.9)
    _poly(rgb, [(cx - 16, cy + 30), (cx + 16, cy + 30), (cx + 16, T_H), (cx - 16, T_H)], placket)
    _tie(rgb, st, cy + 720)
    for pts in (left, right):
        _poly(rgb, pts, _lighter(st.body, 0.1) if st.kind == "shirt" else st.body)
        _line(rgb, pts + [pts[0]], _darker(st.body, 0.7), 3)
    if st.tie is None:
        for k in range(4):
            cv2.circle(rgb, (int(cx), int(cy + 150 + k * 150)), 8, _darker(st.body, 0.75), -1, cv2.LINE_AA)
    if st.kind == "polo" and st.trim is not None:
        for pts in (left, right):
            _line(rgb, pts[1:3], st.trim, 6)


def _sailor(rgb: np.ndarray, st: Style, neck: float) -> None:
    cx, cy = T_COLLAR
    trim = st.trim or NAVY
    collar_c = trim if st.body == WHITE else WHITE
    # A broad square collar over the shoulders, a V in front with the tie knotted at its point.
    _poly(rgb, [(cx - neck, cy - 6), (cx - 330, cy + 60), (cx - 300, cy + 230), (cx, cy + 300),
                (cx + 300, cy + 230), (cx + 330, cy + 60), (cx + neck, cy - 6), (cx, cy + 230)], collar_c)
    stripe = st.body if collar_c != WHITE else trim
    _line(rgb, [(cx - 300, cy + 90), (cx - 280, cy + 200), (cx, cy + 262), (cx + 280, cy + 200), (cx + 300, cy + 90)],
          stripe, 8)
    _poly(rgb, [(cx - neck + 10, cy), (cx + neck - 10, cy), (cx, cy + 200)], st.shirt)
    if st.tie is not None:
        _poly(rgb, [(cx - 40, cy + 250), (cx + 40, cy + 250), (cx + 25, cy + 420), (cx, cy + 380), (cx - 25, cy + 420)],
              st.tie)
        cv2.circle(rgb, (int(cx), int(cy + 250)), 24, _darker(st.tie, 0.8), -1, cv2.LINE_AA)


# --- fitting --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Anchors:
    collar: tuple[float, float]
    left: tuple[float, float]
    right: tuple[float, float]


def anchors_of(a: Analysis, alpha: np.ndarray) -> Anchors:
    """Where a garment's collar and shoulders go on this person (see the module docstring)."""
    fw = a.face_width
    chin = a.point(CHIN)
    collar = (float(chin[0]), float(chin[1] + COLLAR_BELOW_CHIN * fw))
    h, w = alpha.shape
    row = int(round(chin[1] + SHOULDER_ROW * fw))
    left = right = None
    try:
        pose = a.body_pose
        if min(pose[L_SHOULDER, 3], pose[R_SHOULDER, 3]) >= POSE_VISIBLE:
            p1, p2 = pose[L_SHOULDER, :2], pose[R_SHOULDER, :2]
            lo, hi = (p1, p2) if p1[0] <= p2[0] else (p2, p1)
            left, right = (float(lo[0]), float(lo[1])), (float(hi[0]), float(hi[1]))
    except MeasureError:  # no pose: the mask decides
        left = right = None
    if left is None or right is None:
        y = min(max(row, 0), h - 1)
        covered = np.flatnonzero(alpha[y] >= 0.5)
        x0, x1 = (float(covered[0]), float(covered[-1])) if covered.size else (collar[0] - fw, collar[0] + fw)
        drop = collar[1] + 0.35 * fw
        left, right = (x0 + 0.08 * (x1 - x0), drop), (x1 - 0.08 * (x1 - x0), drop)
    span = right[0] - left[0]
    # The garment covers the clothes the person wears: at least the person's width well under the shoulders
    # (the template's outline there is GARMENT_REACH times its shoulder width).
    y = int(min(max(chin[1] + 1.4 * fw, 0), h - 1))
    run = np.flatnonzero(alpha[y] >= 0.5)
    if run.size:
        span = max(span, (float(run[-1] - run[0]) + 1) / GARMENT_REACH)
    want = min(max(span, MIN_SHOULDERS * fw), MAX_SHOULDERS * fw)
    mid_x, mid_y = (left[0] + right[0]) / 2, (left[1] + right[1]) / 2
    tilt = math.atan2(right[1] - left[1], max(1e-3, span))
    dx, dy = want / 2 * math.cos(tilt), want / 2 * math.sin(tilt)
    mid_x = collar[0]  # the garment is centred on the neck, whatever the shoulders' detection says
    return Anchors(collar, (mid_x - dx, mid_y - dy), (mid_x + dx, mid_y + dy))


def fit(g: Garment, anchors: Anchors, shape: tuple[int, int]) -> np.ndarray:
    """The garment mapped onto a photo of ``shape`` (H, W): RGBA float32 0-1."""
    tl, tr, tc = np.array(g.left), np.array(g.right), np.array(g.collar)
    pl, pr, pc = np.array(anchors.left), np.array(anchors.right), np.array(anchors.collar)
    sx = float(np.linalg.norm(pr - pl)) / max(1e-6, float(np.linalg.norm(tr - tl)))
    rot = math.atan2(pr[1] - pl[1], pr[0] - pl[0]) - math.atan2(tr[1] - tl[1], tr[0] - tl[0])
    t_drop = float((tl[1] + tr[1]) / 2 - tc[1])
    p_drop = float((pl[1] + pr[1]) / 2 - pc[1])
    sy = sx * (min(max(p_drop / t_drop, STRETCH[0] * sx), STRETCH[1] * sx) / sx if t_drop > 1 else 1.0)
    c, s = math.cos(rot), math.sin(rot)
    m = np.array([[c * sx, -s * sy], [s * sx, c * sy]])
    offset = pc - m @ tc
    warp = np.c_[m, offset].astype(np.float32)
    h, w = shape
    rgba = g.rgba
    # The garment continues straight down below its template (a photo may reach further than it).
    below = int(max(0, (h - (m @ [0, rgba.shape[0]] + offset)[1]) / max(sy, 1e-6))) + 2
    if below > 2:
        rgba = np.vstack([rgba, np.repeat(rgba[-1:], below, axis=0)])
    out = cv2.warpAffine(rgba.astype(np.float32) / 255.0, warp, (w, h), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 0))
    return np.asarray(out, np.float32)


def _hair(a: Analysis, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Long hair over the shoulders, which stays on top of the garment: person pixels under row ``below``
    coloured like the hair beside the face at the eye line, hanging down without a break from it. Short
    hair (ears and background beside the eyes) keeps nothing, and clothes of the hair's colour are not hair
    unless hair runs into them. Also returns the person pixels of the hair's colour in that band (none for short
    hair): they are not taken for old clothes."""
    from ..views import to_lab

    h, w = alpha.shape
    fw = a.face_width
    oval = a.mesh[list(FACE_OVAL), :2]
    x0, x1 = float(oval[:, 0].min()), float(oval[:, 0].max())
    eye_y = int(np.clip(a.eye_mid[1], 0, h - 1))
    cols = np.arange(w)
    beside = ((cols < x0) & (cols > x0 - 0.5 * fw)) | ((cols > x1) & (cols < x1 + 0.5 * fw))
    lab = to_lab(a.rgb)
    rows = slice(max(0, eye_y - int(0.2 * fw)), min(h, eye_y + int(0.2 * fw)))
    skin = np.median(lab[a.face_skin], axis=0) if a.face_skin.any() else lab[int(a.point(CHIN)[1]) - 1, cols[0]]
    not_skin = np.linalg.norm(lab[rows] - skin, axis=2) > HAIR_NOT_SKIN
    seed_px = (alpha[rows] > 0.9) & beside[None, :] & not_skin
    if seed_px.sum() < HAIR_SEEDS * fw * fw:  # background and ears beside the eyes (short hair)
        return np.zeros((h, w), bool), np.zeros((h, w), bool)
    sample = lab[rows][seed_px]
    centre = np.median(sample, axis=0)
    spread = np.linalg.norm(sample - centre, axis=1)
    tol = float(np.clip(1.5 * np.percentile(spread, 80), HAIR_DE, 2.5 * HAIR_DE))
    # Hair is strands: its fine texture sets it apart from cloth of the same colour (a dark jacket under
    # dark hair is smooth). Texture: the local spread of brightness over a window of HAIR_GRAIN face widths.
    grey = a.gray.astype(np.float32)
    r = max(1, round(HAIR_GRAIN * fw))
    mean = cv2.blur(grey, (2 * r + 1, 2 * r + 1))
    grain = np.sqrt(np.maximum(cv2.blur(grey * grey, (2 * r + 1, 2 * r + 1)) - mean * mean, 0.0))
    hair_grain = float(np.median(grain[rows][seed_px]))
    coloured = (np.linalg.norm(lab - centre, axis=2) < tol) & (alpha > 0.5)
    coloured = cv2.morphologyEx(coloured.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)).astype(bool)
    textured = cv2.morphologyEx((grain >= HAIR_SMOOTH * hair_grain).astype(np.uint8), cv2.MORPH_CLOSE,
                                np.ones((2 * r + 1,) * 2, np.uint8)).astype(bool)
    close = coloured & textured
    inside_face = np.zeros((h, w), np.uint8)
    cv2.fillPoly(inside_face, [oval.round().astype(np.int32)], (1,))
    inside_face = inside_face.astype(bool)
    keep = np.zeros((h, w), bool)
    run = close[eye_y] & beside
    step = max(1, round(0.015 * fw))  # hair strands lean: a run may move this far sideways per row
    kernel = np.ones((1, 2 * step + 1), np.uint8)
    # Hair over the shoulders falls beside the neck: the band HAIR_BAND face widths beside the face (clothes of
    # the hair's colour further out are clothes).
    band = HAIR_BAND * fw
    near = ((cols > x0 - band) & (cols < x0 + 0.1 * fw)) | ((cols < x1 + band) & (cols > x1 - 0.1 * fw))
    last = int(min(h, a.point(CHIN)[1] + HAIR_DROP * fw))  # hair below this is rare; cloth edges are not
    for y in range(eye_y + 1, last):
        grown = cv2.dilate(run.astype(np.uint8)[None], kernel)[0].astype(bool)
        run = close[y] & grown & ~inside_face[y] & near
        if not run.any():
            break
        keep[y] = run
    return keep, coloured & near[None, :]


@dataclass(frozen=True)
class Dressed:
    rgb: np.ndarray  # H x W x 3 uint8: the person in the garment
    alpha: np.ndarray  # H x W float32: the person's new matte
    garment: np.ndarray  # H x W float32: how much of each pixel the garment covers
    anchors: Anchors
    hair: np.ndarray | None = None  # H x W bool: long hair kept over the garment


def dress(a: Analysis, rgb: np.ndarray, alpha: np.ndarray, g: Garment) -> tuple[np.ndarray, np.ndarray]:
    """The person in ``g``: (rgb, alpha) of the same geometry (see dress_layers)."""
    d = dress_layers(a, rgb, alpha, g)
    return d.rgb, d.alpha


def dress_layers(a: Analysis, rgb: np.ndarray, alpha: np.ndarray, g: Garment) -> Dressed:
    """The person in ``g``, with the garment's own coverage. The garment goes over the body; the face and
    hair stay on top; the background (alpha 0) is untouched outside the garment."""
    anchors = anchors_of(a, alpha)
    worn = fit(g, anchors, (alpha.shape[0], alpha.shape[1]))
    fw = a.face_width
    ga = worn[:, :, 3].copy()
    # Feather the collar's edge (only where the garment meets the neck: its top).
    k = max(1.0, FEATHER * fw)
    ga = np.minimum(ga, cv2.GaussianBlur(ga, (0, 0), k))
    # The face stays clear, and hair joined to the head stays on top.
    face = np.zeros(alpha.shape, np.uint8)
    cv2.fillPoly(face, [a.mesh[list(FACE_OVAL), :2].round().astype(np.int32)], (1,))
    grow = max(1, round(FACE_GROW * fw))
    face = cv2.dilate(face, np.ones((2 * grow + 1,) * 2, np.uint8)).astype(bool)
    hair, hair_coloured = _hair(a, alpha)
    keep = face | hair
    ga[face] = 0.0
    # Hair lies over the garment with soft ends: its tips fade into the cloth rather than stop in a line.
    soft_hair = cv2.GaussianBlur(hair.astype(np.float32), (0, 0), sigmaX=k, sigmaY=HAIR_FADE * fw)
    soft_hair = np.maximum(soft_hair, hair * 0.85)
    ga *= 1.0 - np.clip(np.maximum(cv2.GaussianBlur(face.astype(np.float32), (0, 0), k), soft_hair), 0, 1)
    out_rgb = rgb.astype(np.float32) * (1 - ga[:, :, None]) + worn[:, :, :3] * 255.0 * ga[:, :, None]
    out_alpha = np.maximum(alpha, ga)
    # Under the collar the garment is the body's outline: the old clothes sticking out beside it go (the neck
    # above the collar, the face and the hair stay).
    h, w = alpha.shape
    rows, cols = np.arange(h)[:, None], np.arange(w)[None, :]
    chin = a.point(CHIN)
    neck = (rows <= anchors.collar[1] + 0.05 * fw) & (np.abs(cols - chin[0]) < 0.4 * fw)
    # Per column, from a little above where the garment starts (old collars and shoulders peeking over it),
    # never higher than just above the chin (beside the garment, from there down).
    has = (ga > 0.5).any(axis=0)
    top = np.where(has, np.argmax(ga > 0.5, axis=0), 0).astype(np.float32)[None, :]
    below = (rows > chin[1] - 0.25 * fw) & (rows >= top - 0.35 * fw) & ~neck
    out_alpha = np.where(below & ~keep & ~hair_coloured, ga, out_alpha)  # hair beyond the band is not cut
    return Dressed(np.clip(out_rgb + 0.5, 0, 255).astype(np.uint8), out_alpha.astype(np.float32),
                   ga.astype(np.float32), anchors, hair)
