"""The Analysis context: one photo and every artefact detectors share, each computed at most once.

Artefacts are lazy (``functools.cached_property``): a check that never reads the body pose never
runs the pose model. Models come from :mod:`checker.models` and are loaded once per process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, TypeVar

import cv2
import numpy as np

from . import models
from .errors import CheckerError
from .imaging import Photo
from .models.types import FaceBox, FaceLandmarks

if TYPE_CHECKING:
    from .models.hands import Hand

T = TypeVar("T")

# Face mesh indices (mediapipe canonical topology). Sides are the subject's: the subject's
# right eye is on the image's left.
FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
             148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)
RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
RIGHT_BROW = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
LEFT_BROW = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
LIPS = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
RIGHT_IRIS, LEFT_IRIS = (468, 469, 470, 471, 472), (473, 474, 475, 476, 477)
FOREHEAD_TOP, CHIN, FACE_RIGHT, FACE_LEFT, NOSE_TIP, NOSE_BRIDGE = 10, 152, 234, 454, 1, 168

# A second face counts as another person when it is at least this fraction of the main face's
# width: smaller ones are posters, prints or passers-by far behind the subject.
SECOND_FACE_MIN_WIDTH = 0.25
# Body-pose landmarks (Analysis.body_pose rows) and the visibility from which one counts as seen.
L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST, L_HIP, R_HIP = 11, 12, 13, 14, 15, 16, 23, 24
POSE_VISIBLE = 0.5


@dataclass(frozen=True)
class HeadPose:
    """Degrees. yaw > 0: the subject turns to their left (face points to image right);
    pitch > 0: chin up; roll > 0: head tilted clockwise in the image."""

    yaw: float
    pitch: float
    roll: float


@dataclass(frozen=True)
class Crown:
    """Top of the head (hair included) from the person mask."""

    y: float  # pixel row; 0 when the head reaches the top edge
    clipped: bool  # True when the head touches the top edge, so the true crown is outside


class Analysis:
    """One photo plus lazily computed, shared artefacts."""

    def __init__(self, photo: Photo, face_detector: str | None = None) -> None:
        """``face_detector``: a face_detect_model value (mediapipe, mtcnn, retinaface-resnet50,
        face_plusplus, yunet); the embedded mediapipe detector when None."""
        self.photo = photo
        self.face_detector = models.face_detector_for(face_detector)
        self.rgb = photo.rgb
        self.height, self.width = photo.rgb.shape[:2]

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """Compute an artefact a detector module owns once per Analysis (``key`` must be unique)."""
        store = self.__dict__.setdefault("_memo", {})
        if key not in store:
            store[key] = compute()
        return store[key]

    # --- faces -------------------------------------------------------------------------------
    @cached_property
    def faces(self) -> list[FaceBox]:
        """People's faces, largest first (tiny faces far behind the subject are left out)."""
        found = models.get(self.face_detector).detect(self.rgb)
        if not found:
            return []
        main_w = found[0].w
        return [f for f in found if f.w >= SECOND_FACE_MIN_WIDTH * main_w]

    @property
    def face_count(self) -> int:
        return len(self.faces)

    @cached_property
    def face(self) -> FaceBox:
        """The one face a check is about; NO_FACE_DETECTED / TOO_MANY_FACES otherwise."""
        if not self.faces:
            raise CheckerError("NO_FACE_DETECTED", "no face was found in the photo")
        if len(self.faces) > 1:
            raise CheckerError("TOO_MANY_FACES", f"{len(self.faces)} faces were found; the photo must show one person")
        return self.faces[0]

    @cached_property
    def landmarks(self) -> FaceLandmarks:
        """The face landmarker's view of the main face: mesh, blendshapes, transformation matrix.

        The landmarker has its own face detector and presence score; when it sees no face where
        the face detector put one (an animal, a carving, a pattern), there is no human face."""
        found = models.get("face_landmarker").analyse(self.rgb, self.face)
        if found is None:
            raise CheckerError("NO_FACE_DETECTED",
                               "no human face was found in the photo (a face-like region is not a face)")
        return found

    @cached_property
    def mesh(self) -> np.ndarray:
        """478 x 3 face mesh of the main face in pixels."""
        return self.landmarks.mesh

    @property
    def blendshapes(self) -> dict[str, float]:
        """The landmarker's 52 expression scores (0-1) by name (eyeBlinkLeft, mouthSmileRight, ...)."""
        return self.landmarks.blendshapes

    def point(self, index: int) -> np.ndarray:
        """One mesh landmark as (x, y) pixels."""
        return self.mesh[index, :2]

    @cached_property
    def eyes(self) -> tuple[np.ndarray, np.ndarray]:
        """Iris centres (image-left eye, image-right eye) in pixels."""
        return self.mesh[RIGHT_IRIS[0], :2].copy(), self.mesh[LEFT_IRIS[0], :2].copy()

    @cached_property
    def eye_mid(self) -> np.ndarray:
        a, b = self.eyes
        return (a + b) / 2

    @cached_property
    def chin_y(self) -> float:
        return float(self.mesh[CHIN, 1])

    @cached_property
    def face_width(self) -> float:
        """Cheek-to-cheek width (ears excluded), pixels."""
        return float(np.linalg.norm(self.mesh[FACE_LEFT, :2] - self.mesh[FACE_RIGHT, :2]))

    @cached_property
    def face_rect(self) -> tuple[int, int, int, int]:
        """Axis-aligned bounds of the face oval: x0, y0, x1, y1 (clipped to the image)."""
        oval = self.mesh[list(FACE_OVAL), :2]
        x0, y0 = np.floor(oval.min(axis=0)).astype(int)
        x1, y1 = np.ceil(oval.max(axis=0)).astype(int)
        return max(0, x0), max(0, y0), min(self.width, x1), min(self.height, y1)

    @cached_property
    def head_pose(self) -> HeadPose:
        return head_pose_from_matrix(self.landmarks.matrix)

    # --- learned views of the head ---------------------------------------------------------------
    @cached_property
    def class_scores(self) -> np.ndarray:
        """ImageNet class probabilities of the upper-head crop (:attr:`head_crop`), classified once:
        the headwear and sunglasses checks both read them (one classifier run, ~15 ms)."""
        return models.get("imagenet_classifier").scores(self.head_crop)

    @cached_property
    def head_crop(self) -> np.ndarray:
        """A square crop of the upper head, from about one face width above the forehead (where
        headwear sits) to a little below the eyes (lenses), edges replicated outside the photo."""
        m, fw = self.mesh, self.face_width
        cx = (m[FACE_RIGHT, 0] + m[FACE_LEFT, 0]) / 2
        eye_y = (m[159, 1] + m[386, 1]) / 2  # mid upper lids
        top, bottom = m[FOREHEAD_TOP, 1] - 0.9 * fw, eye_y + 0.4 * fw
        half = max((bottom - top) / 2, 0.8 * fw)
        cy = (top + bottom) / 2
        x0, y0, x1, y1 = (round(v) for v in (cx - half, cy - half, cx + half, cy + half))
        pad = max(0, -x0, -y0, x1 - self.width, y1 - self.height)
        img = cv2.copyMakeBorder(self.rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE) if pad else self.rgb
        return np.ascontiguousarray(img[y0 + pad:y1 + pad, x0 + pad:x1 + pad])

    # --- person mask --------------------------------------------------------------------------
    @cached_property
    def raw_person_mask(self) -> np.ndarray:
        """The segmentation model's own soft mask (H x W float32), before any refinement."""
        return models.get("person_segmenter").mask(self.rgb)

    @cached_property
    def person_mask(self) -> np.ndarray:
        """H x W float32 in [0, 1], edges refined to the image with a guided filter."""
        return refine_mask(self.gray, self.raw_person_mask)

    @cached_property
    def person(self) -> np.ndarray:
        """Binary person mask (bool)."""
        return self.person_mask >= 0.5

    @cached_property
    def crown(self) -> Crown:
        """Top of the head over the central part of the face."""
        x0, _, x1, _ = self.face_rect
        cx = (x0 + x1) / 2
        half = max(1, (x1 - x0) * 0.3)
        cols = slice(int(max(0, cx - half)), int(min(self.width, cx + half + 1)))
        forehead_y = int(self.mesh[FOREHEAD_TOP, 1])
        band = self.person[: max(1, forehead_y + 1), cols]
        has = band.any(axis=0)
        if not has.any() or has.mean() < 0.5:
            raise MeasureError("the top of the head could not be separated from the background")
        tops = np.argmax(band, axis=0)[has]
        # A low percentile, not the minimum: one stray hair should not move the crown.
        y = float(np.percentile(tops, 10))
        return Crown(y=y, clipped=bool(y < 1.0))

    # --- pose -----------------------------------------------------------------------------------
    @cached_property
    def body_pose(self) -> np.ndarray:
        """33 x 4 body landmarks (x, y, z px, visibility)."""
        pts = models.get("pose").landmarks(self.rgb)
        if pts is None:
            raise MeasureError("no body pose was found")
        return pts

    @cached_property
    def hands(self) -> list[Hand]:
        """Hands in the photo (21 landmarks each, pixels), most confident first; [] when none."""
        return list(models.get("hands").detect(self.rgb))

    # --- pixel artefacts ------------------------------------------------------------------------
    @cached_property
    def gray(self) -> np.ndarray:
        return cv2.cvtColor(self.rgb, cv2.COLOR_RGB2GRAY)

    @cached_property
    def face_skin(self) -> np.ndarray:
        """Bool mask of facial skin: the face oval minus eyes, brows and lips (dilated)."""
        mask = np.zeros((self.height, self.width), np.uint8)
        cv2.fillPoly(mask, [self.mesh[list(FACE_OVAL), :2].round().astype(np.int32)], (1,))
        holes = np.zeros_like(mask)
        for part in (RIGHT_EYE, LEFT_EYE, RIGHT_BROW, LEFT_BROW, LIPS):
            cv2.fillPoly(holes, [cv2.convexHull(self.mesh[list(part), :2].round().astype(np.int32))], (1,))
        grow = max(3, round(self.face_width * 0.03))
        grown = cv2.dilate(holes, np.ones((2 * grow + 1,) * 2, np.uint8))
        return (mask == 1) & (grown == 0)


class MeasureError(Exception):
    """A measurement could not be made (the check goes to not_check_result, never passes)."""


class NotApplicable(MeasureError):
    """What the check is about is not in the photo (shoulders outside a tight frame or under long
    hair): the check is listed in not_applicable with the reason instead of being judged. Use it
    only where another check covers the absence itself (missing_shoulder covers missing shoulders)."""


def refine_mask(gray: np.ndarray, mask: np.ndarray, scale: int = 2) -> np.ndarray:
    """Fast guided filter (He & Sun 2015) with the gray image as guide: the soft segmentation
    edge snaps to image edges (hair against background). Coefficients are solved at 1/scale
    resolution and applied at full resolution, which keeps it to a few milliseconds."""
    h, w = mask.shape
    radius = max(2, round(min(h, w) / 150))
    eps = 1e-3
    guide = gray.astype(np.float32) / 255.0
    gs = cv2.resize(guide, (max(1, w // scale), max(1, h // scale)), interpolation=cv2.INTER_AREA)
    ps = cv2.resize(mask, (gs.shape[1], gs.shape[0]), interpolation=cv2.INTER_AREA)
    r = max(1, radius // scale)

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1))

    mean_i, mean_p = box(gs), box(ps)
    cov_ip = box(gs * ps) - mean_i * mean_p
    var_i = box(gs * gs) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    a = cv2.resize(box(a), (w, h), interpolation=cv2.INTER_LINEAR)
    b = cv2.resize(box(b), (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(a * guide + b, 0.0, 1.0)


def head_pose_from_matrix(matrix: np.ndarray) -> HeadPose:
    """Yaw, pitch and roll (degrees, HeadPose's convention) from the landmarker's facial
    transformation matrix.

    The matrix maps the canonical face model (x toward the subject's left, y up, z out of the face
    toward the camera) into camera space; its rotation R is decomposed as R = Rz(roll') Ry(yaw')
    Rx(pitch'). Camera y points up in that space, so a clockwise tilt in the image is a negative
    roll' and a chin raised toward the camera a negative pitch': both are negated into HeadPose's
    image convention. Zero is the canonical model facing the camera; PITCH_OFFSET is what the
    frontal portraits of docs/calibration/pose.md read on average (see there).
    """
    r = matrix[:3, :3]
    yaw = float(np.degrees(np.arcsin(np.clip(-r[2, 0], -1.0, 1.0))))
    pitch = -float(np.degrees(np.arctan2(r[2, 1], r[2, 2]))) - PITCH_OFFSET
    roll = -float(np.degrees(np.arctan2(r[1, 0], r[0, 0])))
    return HeadPose(yaw=yaw, pitch=pitch, roll=roll)


# Degrees; see docs/calibration/pose.md.
PITCH_OFFSET = 0.0
