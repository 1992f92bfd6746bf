"""Shared views of one photo's face and background, each built once per Analysis (``a.memo``).

Several detectors read the same small, fixed-scale views; they live here so that no detector
imports another detector's module, and so each is computed once whichever check asks first:

* :func:`face_view` - the face cropped and scaled so it is ``FACE_VIEW_WIDTH`` pixels wide, in
  CIELAB, with the mesh mapped into it and a reference skin colour;
* :func:`eye_view` - the band around both eyes, scaled so an eye is ``EYE_VIEW_WIDTH`` pixels
  from corner to corner;
* :func:`small_view` - the photo and its person mask at most ``VIEW_MAX_SIDE`` pixels on the long
  side, with the background region and its Lab colours (background and body checks);

plus the mesh index groups and colour helpers they share. Working at a fixed scale keeps every
pixel constant independent of the photo's size and the cost to a few tens of thousands of pixels.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .context import FACE_OVAL, Analysis, MeasureError

# --- mesh indices (subject's right eye = image left) ------------------------------------------
# Eye corners (outer, inner) and three upper/lower lid pairs, outer to inner.
EYE_CORNERS = ((33, 133), (263, 362))
EYE_LID_PAIRS = (((160, 144), (159, 145), (158, 153)), ((387, 373), (386, 374), (385, 380)))
EYE_CONTOURS = (
    (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246),
    (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466),
)
IRIS_CENTRES = (468, 473)
IRIS_RIMS = ((469, 471), (474, 476))  # horizontal pair of iris boundary points
MOUTH_CORNERS = (61, 291)
LIP_GAP_PAIRS = ((82, 87), (13, 14), (312, 317))  # inner upper / inner lower lip, left to right
INNER_LIPS = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)

FACE_VIEW_WIDTH = 128  # px across the cheeks: colour statistics need no more
EYE_VIEW_WIDTH = 48  # px per eye, corner to corner: a 1-2 px frame on a 600x800 ID photo stays 1-2 px
MIN_EYE_PX = 8.0  # an eye narrower than this in the photo cannot be measured honestly


# ==============================================================================================
# Face and eye views
# ==============================================================================================
@dataclass(frozen=True)
class FaceView:
    """The face at a fixed width, in CIELAB (L 0-100, a/b signed), with the mesh mapped into it."""

    lab: np.ndarray  # H x W x 3 float32
    pts: np.ndarray  # 478 x 2 patch pixels
    scale: float  # patch px per photo px
    skin: np.ndarray  # H x W bool: skin-coloured by an absolute rule (hue/chroma/lightness)
    ref: np.ndarray  # reference skin colour (Lab): median over several skin cells of the face

    @property
    def shape(self) -> tuple[int, int]:
        return self.lab.shape[0], self.lab.shape[1]

    def poly(self, idx: Iterable[int]) -> np.ndarray:
        """Bool mask of the polygon through mesh points ``idx``."""
        return polygon_mask(self.shape, self.pts[list(idx)])

    def disc(self, centre: np.ndarray | Sequence[float], radius: float) -> np.ndarray:
        mk = np.zeros(self.shape, np.uint8)
        cv2.circle(mk, (round(float(centre[0])), round(float(centre[1]))), max(1, round(radius)), (1,), -1)
        return mk.astype(bool)

    def cells(self) -> dict[str, np.ndarray]:
        """Small discs on parts of the face that are bare skin on an uncovered frontal face."""
        p, w = self.pts, FACE_VIEW_WIDTH
        under = [(p[o] + p[i]) / 2 + [0, 0.09 * w] for o, i in EYE_CORNERS]
        return {
            "forehead": self.disc(p[151], 0.05 * w),
            "nose": self.disc((p[6] + p[195]) / 2, 0.04 * w),
            "under_eye_left": self.disc(under[0], 0.04 * w),
            "under_eye_right": self.disc(under[1], 0.04 * w),
            "cheek_left": self.disc(p[205], 0.08 * w),
            "cheek_right": self.disc(p[425], 0.08 * w),
            "chin": self.disc(p[152] + 0.4 * (p[17] - p[152]), 0.06 * w),
        }


def polygon_mask(shape: tuple[int, int], pts: np.ndarray) -> np.ndarray:
    mk = np.zeros(shape, np.uint8)
    cv2.fillPoly(mk, [np.round(pts).astype(np.int32)], (1,))
    return mk.astype(bool)


# 8-bit OpenCV Lab -> CIELAB (L 0-100, a/b signed)
_LAB_SCALE = np.array([100.0 / 255.0, 1.0, 1.0], np.float32)
_LAB_OFFSET = np.array([0.0, -128.0, -128.0], np.float32)


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB (H x W x 3, or N x 3 pixels) -> float32 CIELAB, L in 0-100.

    Through OpenCV's 8-bit conversion: a/b come out in whole units, plenty for ΔE tolerances of
    5 and more, at a fraction of the float conversion's cost."""
    img = rgb if rgb.ndim == 3 else rgb.reshape(1, -1, 3)  # one wide row: OpenCV's cost is per row
    lab = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2LAB).astype(np.float32) * _LAB_SCALE + _LAB_OFFSET
    return lab if rgb.ndim == 3 else lab.reshape(-1, 3)


def lab_of(rgb: np.ndarray) -> np.ndarray:
    """One RGB colour (0-255 floats) -> its CIELAB triple."""
    return to_lab(np.asarray(rgb).round().astype(np.uint8)[None])[0]


def skin_coloured(lab: np.ndarray) -> np.ndarray:
    """Skin by an absolute rule: a warm hue (15-100 deg in the a*b* plane), some chroma, not black.

    Skin of every tone in ../shared/faces falls inside (pale retouched ID photos have chroma ~11,
    dark or reddish skin ~30); surgical masks (blue/white), black or grey fabric and most
    backgrounds fall outside. It cannot tell a beige mask or a hand from skin (documented)."""
    a, b = lab[..., 1], lab[..., 2]
    # hue >= 15 deg: b >= tan(15) a; hue <= 100 deg: a >= -tan(10) b (no trigonometry per pixel)
    return (a * a + b * b >= 25) & (b >= 0.2679 * a) & (a >= -0.1763 * b) & (lab[..., 0] >= 20)


def resize_to(img: np.ndarray, scale: float) -> np.ndarray:
    """Scale an image by ``scale``: area averaging when shrinking, bilinear when enlarging.

    OpenCV's area resampling is fast only for whole-number factors, so a large shrink is done
    as a whole-number step (block means) followed by a small remainder (0.5-1)."""
    if scale < 0.5:
        k = int(1 / scale)
        h, w = img.shape[:2]
        if h >= k and w >= k:
            img = cv2.resize(img[: h // k * k, : w // k * k], (w // k, h // k), interpolation=cv2.INTER_AREA)
            scale *= k
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(img, None, fx=scale, fy=scale, interpolation=interp)


def face_view(a: Analysis) -> FaceView:
    return a.memo("views.face_view", lambda: _build_face_view(a))


def _build_face_view(a: Analysis) -> FaceView:
    mesh = a.mesh
    if a.face_width < 4 * MIN_EYE_PX:
        raise MeasureError(f"the face is {a.face_width:.0f} px wide: too small to judge")
    x0, y0, x1, y1 = a.face_rect
    w, h = x1 - x0, y1 - y0
    cx0, cx1 = int(max(0, x0 - 0.1 * w)), int(min(a.width, x1 + 0.1 * w))
    cy0, cy1 = int(max(0, y0 - 0.1 * h)), int(min(a.height, y1 + 0.05 * h))
    scale = FACE_VIEW_WIDTH / a.face_width
    lab = to_lab(resize_to(np.ascontiguousarray(a.rgb[cy0:cy1, cx0:cx1]), scale))
    pts = (mesh[:, :2] - [cx0, cy0]) * scale
    view = FaceView(lab=lab, pts=pts, scale=scale, skin=skin_coloured(lab), ref=np.zeros(3, np.float32))
    medians = [np.median(lab[m], axis=0) for m in view.cells().values() if m.any()]
    if not medians:
        raise MeasureError("the face lies outside the photo")
    # Median of the cells' medians: one or two covered cells (a hand, a fringe) do not move it.
    ref = np.median(np.array(medians), axis=0).astype(np.float32)
    return FaceView(lab=lab, pts=pts, scale=scale, skin=view.skin, ref=ref)


@dataclass(frozen=True)
class EyeView:
    """Grey band around both eyes, scaled so one eye is EYE_VIEW_WIDTH px wide."""

    gray: np.ndarray  # uint8
    lab: np.ndarray  # float32 Lab of the same pixels
    pts: np.ndarray  # 478 x 2 in view pixels
    scale: float

    def eye(self, k: int) -> tuple[np.ndarray, float]:
        """Centre (mid-corners) and corner-to-corner width of eye ``k`` (0 = image left)."""
        o, i = EYE_CORNERS[k]
        return (self.pts[o] + self.pts[i]) / 2, float(np.linalg.norm(self.pts[o] - self.pts[i]))


def eye_view(a: Analysis) -> EyeView:
    return a.memo("views.eye_view", lambda: _build_eye_view(a))


def _build_eye_view(a: Analysis) -> EyeView:
    mesh = a.mesh
    ew = eye_width(mesh)
    if ew < MIN_EYE_PX:
        raise MeasureError(f"the eyes are {ew:.0f} px wide: too small to judge")
    outer = mesh[[EYE_CORNERS[0][0], EYE_CORNERS[1][0]], :2]
    ys = mesh[[c for pair in EYE_CORNERS for c in pair], 1]
    x0, x1 = int(max(0, outer[:, 0].min() - 1.0 * ew)), int(min(a.width, outer[:, 0].max() + 1.0 * ew))
    y0, y1 = int(max(0, ys.mean() - 1.1 * ew)), int(min(a.height, ys.mean() + 1.3 * ew))
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise MeasureError("the eyes lie outside the photo")
    scale = EYE_VIEW_WIDTH / ew
    rgb = resize_to(np.ascontiguousarray(a.rgb[y0:y1, x0:x1]), scale)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return EyeView(gray=gray, lab=to_lab(rgb), pts=(mesh[:, :2] - [x0, y0]) * scale, scale=scale)


def eye_width(mesh: np.ndarray) -> float:
    """Mean corner-to-corner eye width in photo pixels."""
    return float(np.mean([np.linalg.norm(mesh[o, :2] - mesh[i, :2]) for o, i in EYE_CORNERS]))


def lens_lightness(a: Analysis) -> list[float]:
    """Per eye (image-left first): median lightness of the area a spectacle lens covers (the
    eye, its lids and the skin just around) / the face's reference skin lightness."""

    def compute() -> list[float]:
        view = eye_view(a)
        skin_l = max(float(face_view(a).ref[0]), 5.0)
        out = []
        for k in (0, 1):
            c, w = view.eye(k)
            lens = np.zeros(view.gray.shape, np.uint8)
            cv2.ellipse(lens, (round(c[0]), round(c[1])), (round(0.6 * w), round(0.4 * w)), 0, 0, 360, (1,), -1)
            out.append(float(np.median(view.lab[..., 0][lens == 1]) / skin_l) if lens.any() else 1.0)
        return out

    return a.memo("views.lens_lightness", compute)


def face_oval_arc_below(pts: np.ndarray, top: float) -> np.ndarray:
    """Face-oval points below row ``top``, in their order along the oval (one run through the chin)."""
    oval = pts[list(FACE_OVAL)]
    below = oval[:, 1] >= top
    if not below.any():
        return oval[:0]
    if below.all():
        return oval
    start = int(np.argmax(below & ~np.roll(below, 1)))
    order = [(start + k) % len(oval) for k in range(len(oval))]
    return np.array([oval[k] for k in order if below[k]])


# ==============================================================================================
# The small view of the whole photo (background and body)
# ==============================================================================================
VIEW_MAX_SIDE = 320
BACKGROUND_MARGIN = 0.02  # of the long side, as Analysis.background
BACKGROUND_PERSON = 0.1  # person-mask level that counts as "near the person", as Analysis.background
# Under this share of the photo the visible background is too small to name its colour or judge it.
MIN_BACKGROUND_SHARE = 0.03
MAX_COLOR_POINTS = 3000  # colour medians use at most this many


@dataclass(frozen=True)
class View:
    """The photo scaled down by ``scale`` (a power of two)."""

    rgb: np.ndarray  # h x w x 3 uint8
    lab: np.ndarray  # h x w x 3 float32 CIELAB
    person: np.ndarray  # h x w float32 0-1
    background: np.ndarray  # h x w bool
    scale: int
    bg_points: tuple[np.ndarray, np.ndarray]  # rows, cols of an even sample of the background
    bg_count: int  # background pixels in the view


def small_view(a: Analysis) -> View:
    """The photo at most VIEW_MAX_SIDE px on its long side (exact halvings), with its person mask
    and the confident background (farther than 2% of the long side from where the mask exceeds 0.1)."""
    return a.memo("views.small_view", lambda: _make_view(a))


def halve(x: np.ndarray) -> np.ndarray:
    """An exact 2:1 area resize (OpenCV's fast path; a generic INTER_AREA resize is ~10x slower)."""
    h, w = x.shape[:2]
    return cv2.resize(x[: h // 2 * 2, : w // 2 * 2], (w // 2, h // 2), interpolation=cv2.INTER_AREA)


def _make_view(a: Analysis) -> View:
    rgb, scale = a.rgb, 1
    while max(rgb.shape[:2]) > VIEW_MAX_SIDE:
        rgb, scale = halve(rgb), scale * 2
    h, w = rgb.shape[:2]
    # The soft mask is smooth (guided filter), so plain sampling loses nothing worth the cost.
    person = cv2.resize(a.person_mask, (w, h), interpolation=cv2.INTER_LINEAR) if scale > 1 else a.person_mask
    margin = math.ceil(max(3, round(BACKGROUND_MARGIN * max(a.height, a.width))) / scale)
    near = cv2.dilate((person > BACKGROUND_PERSON).astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8))
    background = near == 0
    ys, xs = np.nonzero(background)
    return View(rgb=rgb, lab=to_lab(rgb), person=person, background=background, scale=scale,
                bg_points=sample_points(ys, xs, MAX_COLOR_POINTS), bg_count=len(ys))


def sample_points(ys: np.ndarray, xs: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """An even sample of at most about ``limit`` of the given pixel coordinates."""
    step = len(ys) // limit + 1
    return ys[::step], xs[::step]


def background_median(v: View, where: np.ndarray | None = None) -> np.ndarray:
    """Per-channel median RGB of the view's background (or of the background under ``where``),
    from a sample."""
    ys, xs = v.bg_points
    if where is not None:
        keep = where[ys, xs]
        ys, xs = ys[keep], xs[keep]
    return np.median(v.rgb[ys, xs], axis=0)


# ==============================================================================================
# The face's own skin colour, in the small view
# ==============================================================================================
# --- skin colour model (bare shoulders and clothes_similar) -------------------------------------
# From the face's own skin: the brighter three quarters (drops hair over the forehead and shade),
# then hue within SKIN_HUE_K spreads and chroma within SKIN_CHROMA of the face's median. Chroma
# keeps white and cream cloth out, which hue alone does not.
SKIN_HUE_K = 2.5
SKIN_HUE_MIN_SPREAD = 4.0  # degrees
SKIN_CHROMA = (0.65, 1.5)
SKIN_L_BELOW, SKIN_L_ABOVE = 25.0, 8.0  # L* margin under / over the face's 5th / 98th percentile
SKIN_MIN_CHROMA = 4.0  # a face greyer than this (black-and-white photo) gives no usable skin colour
SKIN_MAX_SAMPLES = 1500


@dataclass(frozen=True)
class SkinModel:
    chroma: float
    hue: float
    hue_spread: float
    l_lo: float
    l_hi: float


def skin_model(a: Analysis) -> SkinModel | None:
    """The face's skin colour; None when the photo has too little colour to tell skin by it."""
    return a.memo("views.skin_model", lambda: _skin_model(a))


def _skin_model(a: Analysis) -> SkinModel | None:
    # Learnt in the small view, from the same box-averaged colours the skin masks are applied to;
    # the facial-skin mask is read at each view pixel's top-left corner.
    v = small_view(a)
    s = v.scale
    x0, y0, x1, y1 = a.face_rect
    vx0, vy0 = math.ceil(x0 / s), math.ceil(y0 / s)
    vx1, vy1 = min(x1 // s, v.lab.shape[1]), min(y1 // s, v.lab.shape[0])
    on_skin = a.face_skin[vy0 * s:vy1 * s:s, vx0 * s:vx1 * s:s]
    lab = v.lab[vy0:vy0 + on_skin.shape[0], vx0:vx0 + on_skin.shape[1]][on_skin]
    if len(lab) < 30:
        raise MeasureError("too little facial skin is visible to learn its colour")
    lab = lab[:: len(lab) // SKIN_MAX_SAMPLES + 1]
    lo, hi = np.percentile(lab[:, 0], [25, 98])
    lab = lab[(lab[:, 0] >= lo) & (lab[:, 0] <= hi)]
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    if float(np.median(chroma)) < SKIN_MIN_CHROMA:
        return None
    hue = np.degrees(np.arctan2(lab[:, 2], lab[:, 1]))
    med_hue = float(np.median(hue))
    spread = max(SKIN_HUE_MIN_SPREAD, 1.4826 * float(np.median(np.abs(hue - med_hue))))
    l_lo, l_hi = np.percentile(lab[:, 0], [5, 98])
    return SkinModel(float(np.median(chroma)), med_hue, spread, float(l_lo), float(l_hi))


def skin_mask(a: Analysis, lab: np.ndarray) -> np.ndarray:
    """Bool mask of skin-coloured pixels in a CIELAB image (all False for a colourless face)."""
    m = skin_model(a)
    if m is None:
        return np.zeros(lab.shape[:-1], bool)
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    hue_off = (np.degrees(np.arctan2(lab[..., 2], lab[..., 1])) - m.hue + 180.0) % 360.0 - 180.0
    light = lab[..., 0]
    return ((np.abs(hue_off) < SKIN_HUE_K * m.hue_spread)
            & (chroma > SKIN_CHROMA[0] * m.chroma) & (chroma < SKIN_CHROMA[1] * m.chroma)
            & (light > m.l_lo - SKIN_L_BELOW) & (light < m.l_hi + SKIN_L_ABOVE))


# --- the eyes, for the eye checks and the gaze -------------------------------------------------------
# Lenses this dark (lens lightness / skin lightness of the LESS dark lens; open eyes read
# 0.64-0.84, sunglasses 0.07-0.24) hide the eyes: closure and gaze are then not measured at all,
# since the mesh only guesses lids and irises it cannot see.
EYES_HIDDEN_RATIO = 0.40
# The iris centre of an eye looking at the camera sits above the corner-to-corner line by this
# fraction of the eye width (median over the frontal photos); the offset is measured from there.
IRIS_REST_Y = -0.09


def visible_eyes(a: Analysis) -> np.ndarray:
    """The mesh, once it is sure the eyes can be seen (large enough, not behind dark lenses)."""
    mesh = a.mesh
    if eye_width(mesh) < MIN_EYE_PX:
        raise MeasureError("the eyes are too small in the photo to judge")
    if max(lens_lightness(a)) < EYES_HIDDEN_RATIO:
        raise MeasureError("the eyes are hidden behind dark lenses")
    return mesh


def iris_offsets(mesh: np.ndarray) -> list[tuple[float, float]]:
    """Per eye: iris centre minus eye centre in eye widths, along the corner line (+ = image
    right) and across it (+ = down), the resting height IRIS_REST_Y removed."""
    out = []
    for (o, i), c in zip(EYE_CORNERS, IRIS_CENTRES, strict=True):
        p, q = mesh[o, :2], mesh[i, :2]
        if p[0] > q[0]:
            p, q = q, p
        axis = q - p
        width = float(np.linalg.norm(axis))
        u = axis / max(width, 1e-6)
        v = np.array([-u[1], u[0]])  # image-down when the eye line is level
        rel = mesh[c, :2] - (p + q) / 2
        out.append((float(rel @ u / width), float(rel @ v / width - IRIS_REST_Y)))
    return out


# --- hands (the hand model), for body_posture and id_exist -------------------------------------------
# A hand counts when the model is this sure of it (real hands in the labelled photos score 0.91-1.00,
# its false finds on beards and sleeves 0.53-0.67).
HAND_MIN_SCORE = 0.80
