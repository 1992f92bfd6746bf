"""Model backends behind one name -> class registry: face detectors, landmarkers, segmenters,
classifiers and person matting (``matting:<name>``).

``get(name)`` builds a model the first time it is asked for and returns the same instance after
that, so each process loads each model once; nothing is loaded at import time. Unknown names fail
loudly, and a model whose weights are missing raises MODEL_UNAVAILABLE.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ..errors import CheckerError

T = TypeVar("T")

_REGISTRY: dict[str, Callable[[], Any]] = {}
_INSTANCES: dict[str, Any] = {}
_LOCK = threading.Lock()

# The models a check needs on nearly every request; warm_up() loads these.
DEFAULT_MODELS = ("face_detector", "face_landmarker", "person_segmenter", "imagenet_classifier",
                  "face_mask_classifier")


def register(name: str) -> Callable[[T], T]:
    """Class decorator: make ``name`` buildable through :func:`get`."""

    def wrap(cls: T) -> T:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice")
        _REGISTRY[name] = cls  # type: ignore[assignment]
        return cls

    return wrap


def get(name: str) -> Any:
    """The process-wide instance of model ``name``."""
    inst = _INSTANCES.get(name)
    if inst is not None:
        return inst
    _import_backends()
    if name not in _REGISTRY:
        raise CheckerError("MODEL_UNAVAILABLE", f"unknown model {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    with _LOCK:
        inst = _INSTANCES.get(name)
        if inst is None:
            inst = _REGISTRY[name]()
            _INSTANCES[name] = inst
    return inst


def loaded() -> list[str]:
    """Names of the models this process has loaded so far."""
    return sorted(_INSTANCES)


def warm_up(model_names: Iterable[str] = DEFAULT_MODELS) -> None:
    """Load models now (gunicorn calls this once per worker before it serves)."""
    for name in model_names:
        get(name)


# Seed 000's face_detect_model values (and our own) -> registry names.
FACE_DETECTORS = {
    "mediapipe": "face_detector",
    "mtcnn": "mtcnn",
    "retinaface-resnet50": "retinaface-resnet50",
    "face_plusplus": "face_plusplus",
    "yunet": "yunet",
}


# Seed 000's human_matting_model values -> registry names (checker/models/matting_backends.py).
MATTING = {name: f"matting:{name}" for name in (
    "embedded", "embedded-closed-form", "modnet_photographic_portrait_matting", "hivision_modnet", "rmbg-1.4",
    "birefnet-v1-lite")}


def face_detector_for(choice: str | None) -> str:
    """The registry name of a face_detect_model value (None: the embedded default)."""
    if choice in (None, ""):
        return FACE_DETECTORS["mediapipe"]
    key = str(choice).strip().lower()
    if key not in FACE_DETECTORS:
        raise CheckerError("INVALID_ARGUMENT",
                           f"face_detect_model {choice!r} is not one of {', '.join(FACE_DETECTORS)}")
    return FACE_DETECTORS[key]


_BACKENDS_IMPORTED = False


def _import_backends() -> None:
    # Importing a backend module registers its classes; the heavy libraries they wrap are
    # imported inside the classes' constructors, not here.
    global _BACKENDS_IMPORTED
    if _BACKENDS_IMPORTED:
        return
    for mod in pkgutil.iter_modules(__path__):
        if mod.name not in ("files", "types"):
            importlib.import_module(f"{__name__}.{mod.name}")
    _BACKENDS_IMPORTED = True
