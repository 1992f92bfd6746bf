"""Eye masking (seed 001): one black bar over both eyes, sized from the mesh's eye contours, and
the search for the upright orientation of a photo taken sideways.

The bar is drawn without anti-aliasing, so every pixel is either unchanged or black: a client can
rely on nothing but the eye region being touched.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

from .. import models
from ..context import Analysis, MeasureError
from ..errors import CheckerError
from ..imaging import Photo
from ..views import EYE_CONTOURS, EYE_CORNERS

# Margins around the two eye contours, as fractions of the mean eye width (corner to corner):
# along the eye line past the outer corners, and across it above and below the lids. Chosen so the
# bar also hides the lashes and the skin folds that would let an eye be recognised.
ALONG_MARGIN = 0.30
ACROSS_MARGIN = 0.45
ROTATIONS = (0, 90, 180, 270)  # clockwise degrees tried by auto_rotate, in this order
# A turn guessed from the face detector alone (no body pose) needs this score: the detector's
# false positive on ../shared/faces/dogs_no_face.jpg turned upside down scores 0.63.
GUESS_MIN_SCORE = 0.7


@dataclass(frozen=True)
class Masked:
    rgba: np.ndarray  # H x W x 4 (straight alpha; opaque when the photo had none)
    rotation: int  # clockwise degrees the photo was turned to find the face
    bar: np.ndarray | None  # 4 x 2 corners of the bar in output pixels (None: not masked)


def eye_bar(mesh: np.ndarray) -> np.ndarray:
    """The 4 corners (x, y) of a rectangle along the eye line that covers both eyes."""
    (a_out, a_in), (b_out, b_in) = EYE_CORNERS
    left, right = mesh[a_out, :2], mesh[b_out, :2]
    if left[0] > right[0]:  # the mesh's "left" eye is on the image's right for a frontal face
        left, right = right, left
    u = (right - left) / max(float(np.linalg.norm(right - left)), 1e-6)
    v = np.array([-u[1], u[0]])
    eye_w = (np.linalg.norm(mesh[a_out, :2] - mesh[a_in, :2]) + np.linalg.norm(mesh[b_out, :2] - mesh[b_in, :2])) / 2
    pts = mesh[[i for contour in EYE_CONTOURS for i in contour], :2]
    along, across = pts @ u, pts @ v
    u0, u1 = along.min() - ALONG_MARGIN * eye_w, along.max() + ALONG_MARGIN * eye_w
    v0, v1 = across.min() - ACROSS_MARGIN * eye_w, across.max() + ACROSS_MARGIN * eye_w
    return np.array([u0 * u + v0 * v, u1 * u + v0 * v, u1 * u + v1 * v, u0 * u + v1 * v])


def rotate(photo: Photo, degrees: int) -> Photo:
    """The photo turned clockwise by a multiple of 90 degrees (lossless)."""
    k = -(degrees // 90) % 4  # np.rot90 turns counter-clockwise

    def turn(x: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(np.rot90(x, k))

    return replace(photo, rgb=turn(photo.rgb), alpha=None if photo.alpha is None else turn(photo.alpha),
                   straight=None if photo.straight is None else turn(photo.straight))


# Body-pose landmarks (mediapipe BlazePose): eyes and mouth corners.
_POSE_EYES, _POSE_MOUTH = (2, 5), (9, 10)
_POSE_MIN_VISIBILITY = 0.5


def turn_needed(pose: np.ndarray | None) -> int | None:
    """Clockwise degrees (0, 90, 180, 270) that bring the face upright, from the body-pose model,
    which (unlike the face detector) follows a rotated person. None when it saw no clear face."""
    if pose is None or pose[[*_POSE_EYES, *_POSE_MOUTH], 3].min() < _POSE_MIN_VISIBILITY:
        return None
    down = pose[list(_POSE_MOUTH), :2].mean(axis=0) - pose[list(_POSE_EYES), :2].mean(axis=0)
    angle = math.degrees(math.atan2(down[0], down[1]))  # 0: the mouth is straight below the eyes
    return int(round(angle / 90) * 90) % 360


def upright(photo: Photo, auto_rotate: bool) -> tuple[Photo, int, Analysis]:
    """The photo turned so that its face is upright (0, 90, 180 or 270 degrees clockwise), and its
    analysis; without auto_rotate, the photo as given. NO_FACE_DETECTED / TOO_MANY_FACES.

    The face detector also finds sideways and upside-down faces (with scores close to the upright
    one's), so the turn comes from the body pose's eyes and mouth; when the pose model sees no face,
    the first orientation in which the detector finds one is kept."""
    order: tuple[int, ...] = (0,)
    turn = None
    if auto_rotate:
        turn = turn_needed(models.get("pose").landmarks(photo.rgb))
        order = ROTATIONS if turn is None else (turn, *(r for r in ROTATIONS if r != turn))
    for degrees in order:
        turned = rotate(photo, degrees) if degrees else photo
        a = Analysis(turned)
        if a.face_count and (degrees == 0 or turn is not None or a.faces[0].score >= GUESS_MIN_SCORE):
            a.face  # noqa: B018 - raises TOO_MANY_FACES
            return turned, degrees, a
    tried = "in any of the four orientations" if auto_rotate else "(auto_rotate may help a sideways photo)"
    raise CheckerError("NO_FACE_DETECTED", f"no face was found {tried}")


def mask_eyes(photo: Photo, *, mask_eye: bool = True, auto_rotate: bool = False) -> Masked:
    """The photo (upright when ``auto_rotate``) with both eyes under a black bar when ``mask_eye``.
    A face must be found either way: the API answers NO_FACE_DETECTED rather than pass a photo
    through unchecked."""
    turned, degrees, a = upright(photo, auto_rotate)
    rgba = turned.rgba().copy()
    if not mask_eye:
        return Masked(rgba, degrees, None)
    try:
        bar = eye_bar(a.mesh)
    except MeasureError as exc:
        raise CheckerError("NO_FACE_DETECTED", f"the eyes could not be located: {exc}") from exc
    cv2.fillPoly(rgba, [np.round(bar).astype(np.int32)], (0, 0, 0, 255), lineType=cv2.LINE_8)
    return Masked(rgba, degrees, bar)
