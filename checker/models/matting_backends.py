"""Person matting backends, in the one model registry beside the face detectors.

Registered as ``matting:<human_matting_model>``; ``checker.models.MATTING`` maps seed 000's
human_matting_model names to them and ``checker.generate.matting`` asks the registry. The embedded
backend refines mediapipe's selfie segmentation (already computed by the Analysis); the ONNX networks
run when their weight files are in CHECKER_MODELS_DIR and are MODEL_UNAVAILABLE otherwise.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from ..context import Analysis
from ..errors import CheckerError
from . import files, register


class EmbeddedMatte:
    """mediapipe selfie segmentation, refined: ``guided`` (default) or ``closed_form``."""

    def __init__(self, refine: str = "guided") -> None:
        from ..generate.matting import REFINEMENTS

        if refine not in REFINEMENTS:
            raise CheckerError("INVALID_ARGUMENT", f"refinement {refine!r} is not one of {', '.join(REFINEMENTS)}")
        self.refine = REFINEMENTS[refine]

    def alpha(self, a: Analysis) -> np.ndarray:
        return self.refine(a.rgb, a.raw_person_mask)


@dataclass(frozen=True)
class OnnxMatteSpec:
    """An ONNX matting model's conventions."""

    file: str  # name in checker.models.files
    size: str  # "ref512" (sides near 512, multiples of 32) or "square1024"
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    output: str  # "matte" (0-1), "minmax" (rescale to 0-1) or "logits" (sigmoid)
    output_index: int = 0


class OnnxMatte:
    """A matting network run with onnxruntime on the whole photo."""

    def __init__(self, spec: OnnxMatteSpec) -> None:
        self.spec = spec
        self._lock = threading.Lock()

    def _input(self, rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        if self.spec.size == "square1024":
            tw = th = 1024
        else:  # MODNet: scale so the long side is 512 (short side at least 512 for small photos), /32
            k = 512 / max(h, w) if max(h, w) > 512 or min(h, w) >= 512 else 512 / min(h, w)
            tw, th = max(32, round(w * k / 32) * 32), max(32, round(h * k / 32) * 32)
        x = cv2.resize(rgb, (tw, th), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        x = (x - np.array(self.spec.mean, np.float32)) / np.array(self.spec.std, np.float32)
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None])

    def alpha(self, a: Analysis) -> np.ndarray:
        session = files.onnx_session(self.spec.file)  # MODEL_UNAVAILABLE when the file is absent
        x = self._input(a.rgb)
        with self._lock:
            outputs = session.run(None, {session.get_inputs()[0].name: x})
        out = np.asarray(outputs[self.spec.output_index], np.float32)
        out = out.reshape(out.shape[-2], out.shape[-1])
        if self.spec.output == "logits":
            out = 1.0 / (1.0 + np.exp(-out))
        elif self.spec.output == "minmax":
            lo, hi = float(out.min()), float(out.max())
            out = (out - lo) / (hi - lo) if hi > lo else np.zeros_like(out)
        h, w = a.rgb.shape[:2]
        return np.clip(cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR), 0.0, 1.0).astype(np.float32)


_HALF = (0.5, 0.5, 0.5)
_IMAGENET_MEAN, _IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
_ONNX = {
    "modnet_photographic_portrait_matting": OnnxMatteSpec("modnet_photographic_portrait_matting", "ref512", _HALF,
                                                          _HALF, "matte"),
    "hivision_modnet": OnnxMatteSpec("hivision_modnet", "ref512", _HALF, _HALF, "matte"),
    "rmbg-1.4": OnnxMatteSpec("rmbg-1.4", "square1024", _HALF, (1.0, 1.0, 1.0), "minmax"),
    "birefnet-v1-lite": OnnxMatteSpec("birefnet-v1-lite", "square1024", _IMAGENET_MEAN, _IMAGENET_STD, "logits",
                                      output_index=-1),
}

register("matting:embedded")(EmbeddedMatte)
register("matting:embedded-closed-form")(lambda: EmbeddedMatte("closed_form"))
for _name, _spec in _ONNX.items():
    register(f"matting:{_name}")(lambda spec=_spec: OnnxMatte(spec))
