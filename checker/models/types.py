"""Plain data the model backends return."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FaceBox:
    """One detected face in pixel coordinates."""

    x: float
    y: float
    w: float
    h: float
    score: float
    # Landmarks in pixels as the backend gives them: mediapipe 6 (eyes, nose tip, mouth, ears),
    # MTCNN / RetinaFace / YuNet 5 (eyes, nose tip, mouth corners); None when it gives none.
    keypoints: np.ndarray | None = None

    @property
    def center(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h / 2)


@dataclass(frozen=True)
class FaceLandmarks:
    """What the face landmarker gives for one face."""

    mesh: np.ndarray  # 478 x 3, image pixels (z: pixels, negative toward the camera)
    blendshapes: dict[str, float]  # the 52 ARKit-style expression scores, 0-1, by name
    matrix: np.ndarray  # 4 x 4 canonical face model -> camera space (rotation in the top-left 3 x 3)
