"""Hand landmarks: MediaPipe Hands (palm detector + 21-point hand landmark model, full complexity),
carried by the mediapipe 0.10.21 wheel (``modules/palm_detection/palm_detection_full.tflite`` and
``modules/hand_landmark/hand_landmark_full.tflite``). Only body_posture and id_exist read it, so it is
loaded the first time one of them is asked for.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from . import register
from .mediapipe_backend import _BLANK, _quiet_native_stderr, _solutions


@dataclass(frozen=True)
class Hand:
    """One hand in image pixels."""

    points: np.ndarray  # 21 x 3: x, y pixels, z (pixels, relative to the wrist; negative toward the camera)
    score: float  # the model's handedness confidence, 0-1 (how sure it is this is a hand at all)
    side: str  # "Left" / "Right" as the model reads it on the unmirrored image

    @property
    def box(self) -> tuple[float, float, float, float]:
        x0, y0 = self.points[:, :2].min(axis=0)
        x1, y1 = self.points[:, :2].max(axis=0)
        return float(x0), float(y0), float(x1), float(y1)

    @property
    def size(self) -> float:
        """Wrist to middle-finger knuckle, pixels: a length that does not depend on the fingers' pose."""
        return float(np.linalg.norm(self.points[9, :2] - self.points[0, :2]))


@register("hands")
class HandLandmarker:
    """Up to two hands per photo (static images: the palm detector runs on every call)."""

    MAX_HANDS = 2
    MIN_DETECTION = 0.5

    def __init__(self) -> None:
        with _quiet_native_stderr():
            self._hands = _solutions().hands.Hands(static_image_mode=True, max_num_hands=self.MAX_HANDS,
                                                   model_complexity=1, min_detection_confidence=self.MIN_DETECTION)
            self._hands.process(_BLANK)
        self._lock = threading.Lock()

    def detect(self, rgb: np.ndarray) -> list[Hand]:
        """The hands in ``rgb`` (H x W x 3 uint8), most confident first."""
        h, w = rgb.shape[:2]
        with self._lock:
            result = self._hands.process(np.ascontiguousarray(rgb))
        if not result.multi_hand_landmarks:
            return []
        out = []
        for lms, handed in zip(result.multi_hand_landmarks, result.multi_handedness, strict=False):
            pts = np.array([[p.x * w, p.y * h, p.z * w] for p in lms.landmark], dtype=np.float64)
            cls = handed.classification[0]
            out.append(Hand(pts, float(cls.score), str(cls.label)))
        out.sort(key=lambda hand: hand.score, reverse=True)
        return out
