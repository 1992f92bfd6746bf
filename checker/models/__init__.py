"""Model backends behind one name -> class registry.

``get(name)`` builds a model the first time it is asked for and returns the same instance after
that, so each process loads each model once; nothing is loaded at import time. Unknown names fail
loudly, and a model whose weights are missing raises MODEL_UNAVAILABLE.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from ..errors import CheckerError

T = TypeVar("T")

_REGISTRY: dict[str, Callable[[], Any]] = {}
_INSTANCES: dict[str, Any] = {}
_LOCK = threading.Lock()

# The models a check needs on nearly every request; warm_up() loads these.
DEFAULT_MODELS = ("face_detector", "face_mesh", "person_segmenter")


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


def _import_backends() -> None:
    # Importing a backend module registers its classes; the heavy libraries they wrap are
    # imported inside the classes' constructors, not here.
    from . import mediapipe_backend  # noqa: F401
