"""Eyes and mouth from the 478-point face mesh: closure, gaze, mouth opening and expression.

This module also owns the two small canonical views of the face that glasses.py and
coverings.py share (each is built once per Analysis through ``a.memo``):

* :func:`face_view` - the face cropped and scaled so the face is ``FACE_VIEW_WIDTH`` pixels wide,
  in CIELAB, with the mesh mapped into it and a skin model (reference skin colour);
* :func:`eye_view` - the band around both eyes in grey, scaled so an eye is ``EYE_VIEW_WIDTH``
  pixels from corner to corner.

Working at a fixed scale makes every pixel constant below independent of the photo's size, and
keeps the cost to a few tens of thousands of pixels whatever the upload (see
docs/calibration/eyes.md for figures and timing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from .. import heads
from ..context import FACE_OVAL, LIPS, Analysis, MeasureError
from . import Measure, clamp_score, detector

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

# --- canonical views --------------------------------------------------------------------------
FACE_VIEW_WIDTH = 128  # px across the cheeks: colour statistics need no more
EYE_VIEW_WIDTH = 48  # px per eye, corner to corner: a 1-2 px frame on a 600x800 ID photo stays 1-2 px
MIN_EYE_PX = 8.0  # an eye narrower than this in the photo cannot be measured honestly

# --- eyes_close -------------------------------------------------------------------------------
# Two signals per eye, the larger wins. Geometry: lid gap / eye width as the mesh reports it; OPEN
# is a narrow but open eye (frontal photos of ../shared/faces read 0.28-0.44 with the landmarker's
# mesh, the squinting smile in obama.jpg 0.20), SHUT what it reads on an eye painted shut
# (0.04-0.07). Learned: the landmarker's eyeBlink blendshape; open eyes read 0.00-0.29 (obama's
# squint the most), eyes painted shut 0.47-0.69 (real closed eyes read higher: the painted lid has
# no lashes or crease). Figures in docs/calibration/eyes.md.
OPEN_RATIO = 0.28
SHUT_RATIO = 0.05
BLINK_OPEN, BLINK_SHUT = 0.25, 0.60

# Lenses this dark (lens lightness / skin lightness of the LESS dark lens; open eyes read
# 0.64-0.84, sunglasses 0.07-0.24) hide the eyes: closure and gaze are then not measured at all,
# since the mesh only guesses lids and irises it cannot see.
EYES_HIDDEN_RATIO = 0.40

# --- gaze -------------------------------------------------------------------------------------
# The iris centre of an eye looking at the camera sits above the corner-to-corner line by this
# fraction of the eye width (median over the frontal photos); the offset is measured from there.
IRIS_REST_Y = -0.09
GAZE_HALF = 0.13  # iris offset (eye widths) that scores 50
# The landmarker's mesh follows an iris moved sideways at 0.6-0.8 of the move and one moved up or
# down at only about 0.3 of it, so vertical offsets count double (more would turn the frontal
# photos' own spread, -0.12 to -0.05, into false alarms).
VERTICAL_WEIGHT = 2.0

# --- mouth_open -------------------------------------------------------------------------------
MOUTH_GAP_HALF = 0.10  # lip gap / mouth width that scores 50 (closed mouths read 0.00-0.08)
# jawOpen blendshape scoring 0 and 100: closed mouths read 0.00-0.11 (obama's open smile the most),
# mouths painted open by 0.2-0.3 of their width 0.05-0.45 (the painted gap has no jaw drop).
JAW_REST, JAW_FULL = 0.10, 0.50

# --- expression -------------------------------------------------------------------------------
# A smile is judged by the `smile` head (checker/heads): a logistic regression over the 52
# blendshapes trained on the train split of data/manifest.csv (closed-mouth and teeth smiles vs
# neutral faces; docs/calibration/heads.md). Score = 100 x its probability, so 50 is p = 0.5. The
# mean mouthSmile blendshape alone separates less well (closed-mouth smiles read 0.03-0.75) and is
# kept in the value. Teeth: visible-teeth area / mouth width^2 (0 when closed, 0.03-0.09 when
# shown) scores on its own.
TEETH_HALF = 0.02  # teeth area scoring 50
# Under a mask the blendshapes still guess a mouth (mask_116_with "smiles" 0.52-0.83): the mouth's
# lips must be visible for the mouth to be judged. Share of the lip band that is skin- or
# lip-coloured: masked faces of ../shared/faces read 0.00, bare mouths 0.27-0.97 (pale lips on
# pale skin lowest, London set of data/manifest.csv).
LIPS_VISIBLE = 0.15


# ==============================================================================================
# Shared views
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
        return self.lab.shape[:2]

    def poly(self, idx) -> np.ndarray:
        """Bool mask of the polygon through mesh points ``idx``."""
        return polygon_mask(self.shape, self.pts[list(idx)])

    def disc(self, centre, radius: float) -> np.ndarray:
        mk = np.zeros(self.shape, np.uint8)
        cv2.circle(mk, (round(float(centre[0])), round(float(centre[1]))), max(1, round(radius)), 1, -1)
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
    cv2.fillPoly(mk, [np.round(pts).astype(np.int32)], 1)
    return mk.astype(bool)


# OpenCV's 8-bit Lab stores L x 255/100 and a, b + 128; this affine map undoes both per pixel.
_LAB8_TO_LAB = np.array([[100 / 255, 0, 0, 0], [0, 1, 0, -128], [0, 0, 1, -128]], np.float32)


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB -> float32 Lab (L 0-100, a/b signed) through OpenCV's fast 8-bit path."""
    return cv2.transform(cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab).astype(np.float32), _LAB8_TO_LAB)


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
    return a.memo("eyes.face_view", lambda: _build_face_view(a))


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
    return a.memo("eyes.eye_view", lambda: _build_eye_view(a))


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
            cv2.ellipse(lens, (round(c[0]), round(c[1])), (round(0.6 * w), round(0.4 * w)), 0, 0, 360, 1, -1)
            out.append(float(np.median(view.lab[..., 0][lens == 1]) / skin_l) if lens.any() else 1.0)
        return out

    return a.memo("eyes.lens_lightness", compute)


def _visible_eyes(a: Analysis) -> np.ndarray:
    """The mesh, once it is sure the eyes can be seen (large enough, not behind dark lenses)."""
    mesh = a.mesh
    if eye_width(mesh) < MIN_EYE_PX:
        raise MeasureError("the eyes are too small in the photo to judge")
    if max(lens_lightness(a)) < EYES_HIDDEN_RATIO:
        raise MeasureError("the eyes are hidden behind dark lenses")
    return mesh


# ==============================================================================================
# Measures
# ==============================================================================================
def _dist(mesh: np.ndarray, i: int, j: int) -> float:
    return float(np.linalg.norm(mesh[i, :2] - mesh[j, :2]))


def eye_openings(mesh: np.ndarray) -> list[float]:
    """Lid gap / eye width per eye (image-left eye first), lid gap averaged over three pairs."""
    out = []
    for (o, i), pairs in zip(EYE_CORNERS, EYE_LID_PAIRS, strict=True):
        gap = np.mean([_dist(mesh, u, d) for u, d in pairs])
        out.append(float(gap / max(1e-6, _dist(mesh, o, i))))
    return out


@detector("eyes_close")
def eyes_close(a: Analysis) -> dict[str, Any]:
    """Closure of the more closed eye, 0 = open, 100 = shut: per eye the larger of the lid-gap
    closure and the blink blendshape's (image-left eye = the subject's right = eyeBlinkRight)."""
    mesh = _visible_eyes(a)
    ratios = eye_openings(mesh)
    blinks = [a.blendshapes["eyeBlinkRight"], a.blendshapes["eyeBlinkLeft"]]
    closures = [max((OPEN_RATIO - r) / (OPEN_RATIO - SHUT_RATIO), (b - BLINK_OPEN) / (BLINK_SHUT - BLINK_OPEN))
                for r, b in zip(ratios, blinks, strict=True)]
    value = {"lid_gap": [round(r, 3) for r in ratios], "blink": [round(b, 3) for b in blinks]}
    return {"eyes_close": Measure(value=value, score=clamp_score(100 * max(closures)))}


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


@detector("gaze")
def gaze(a: Analysis) -> dict[str, Any]:
    """Where the irises sit inside the eyes: both eyes' offsets averaged (a gaze moves both)."""
    mesh = _visible_eyes(a)
    offs = np.array(iris_offsets(mesh))
    h, v = offs.mean(axis=0)
    off = float(np.hypot(h, VERTICAL_WEIGHT * v))
    return {"gaze": Measure(value={"horizontal": round(float(h), 3), "vertical": round(float(v), 3)},
                            score=clamp_score(50 * off / GAZE_HALF))}


def lip_gap(mesh: np.ndarray) -> float:
    """Inner-lip gap / mouth width (corner to corner)."""
    gap = np.mean([_dist(mesh, u, d) for u, d in LIP_GAP_PAIRS])
    return float(gap / max(1e-6, _dist(mesh, *MOUTH_CORNERS)))


@detector("mouth_open")
def mouth_open(a: Analysis) -> dict[str, Any]:
    """Open mouth: the larger of the lip gap's score and the jawOpen blendshape's."""
    mesh = a.mesh
    if _dist(mesh, *MOUTH_CORNERS) < 2 * MIN_EYE_PX:
        raise MeasureError("the mouth is too small in the photo to judge")
    gap = lip_gap(mesh)
    jaw = a.blendshapes["jawOpen"]
    score = max(50 * gap / MOUTH_GAP_HALF, 100 * (jaw - JAW_REST) / (JAW_FULL - JAW_REST))
    return {"mouth_open": Measure(value={"lip_gap": round(gap, 3), "jaw_open": round(jaw, 3)},
                                  score=clamp_score(score))}


def lips_visible(a: Analysis) -> bool:
    """True when the band of the lips is mostly skin- or lip-coloured (not under a mask or hand)."""
    view = face_view(a)
    lips = view.poly(LIPS) & ~view.poly(INNER_LIPS)
    return bool(lips.any() and view.skin[lips].mean() >= LIPS_VISIBLE)


def teeth_area(a: Analysis) -> float:
    """Visible teeth (bright, colourless pixels between the inner lips) / mouth width^2."""
    view = face_view(a)
    inner = view.poly(INNER_LIPS)
    if not inner.any():
        return 0.0
    lab = view.lab[inner]
    ref_l, ref_c = view.ref[0], float(np.hypot(view.ref[1], view.ref[2]))
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    teeth = (lab[:, 0] > max(50.0, 0.8 * ref_l)) & (chroma < max(8.0, 0.6 * ref_c))
    width = np.linalg.norm(view.pts[MOUTH_CORNERS[0]] - view.pts[MOUTH_CORNERS[1]])
    return float(teeth.sum() / max(width, 1.0) ** 2)


@detector("expression")
def expression(a: Analysis) -> dict[str, Any]:
    """Non-neutral mouth: a smile (the smile head over the blendshapes) or teeth shown, whichever is more.

    Any smile scores above the default 50, a closed-mouth one too (ICAO asks for a neutral
    expression); a spec that accepts a natural smile raises the threshold (the US passport does).
    A mouth under a mask or a hand is not judged: the blendshapes would only guess it."""
    if not lips_visible(a):
        raise MeasureError("the mouth is covered, so the expression cannot be judged")
    shapes = a.blendshapes
    p_smile = heads.load("smile").probability(shapes)
    teeth = teeth_area(a)
    value = {"smile_probability": round(p_smile, 3),
             "mouth_smile": round((shapes["mouthSmileLeft"] + shapes["mouthSmileRight"]) / 2, 3),
             "teeth": round(teeth, 4)}
    return {"expression": Measure(value=value, score=clamp_score(max(100 * p_smile, 50 * teeth / TEETH_HALF)))}


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
