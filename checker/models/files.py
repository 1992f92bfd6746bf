"""Optional model weight files: where they come from, how they are pinned, where they live.

Weights that do not ship with a PyPI package are files in one folder, ``CHECKER_MODELS_DIR``.
Each is pinned by sha256 where the upstream hash is known; ``idphoto models pull`` fetches a file
from its upstream address and ``verify`` checks what is there. A model asked for whose file is
missing (or fails its hash) is MODEL_UNAVAILABLE, never a silent fallback.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CheckerError

ENV = "CHECKER_MODELS_DIR"


@dataclass(frozen=True)
class ModelFile:
    name: str  # the name requests use
    filename: str  # its file in CHECKER_MODELS_DIR
    url: str  # upstream address
    sha256: str | None  # pinned hash; None where no upstream hash could be established offline
    licence: str
    purpose: str


MODEL_FILES: dict[str, ModelFile] = {f.name: f for f in (
    ModelFile("modnet_photographic_portrait_matting", "modnet_photographic_portrait_matting.onnx",
              "https://github.com/Zeyi-Lin/HivisionIDPhotos/releases/download/pretrained-model/"
              "modnet_photographic_portrait_matting.onnx", None, "Apache-2.0 (MODNet)", "person matting"),
    ModelFile("hivision_modnet", "hivision_modnet.onnx",
              "https://github.com/Zeyi-Lin/HivisionIDPhotos/releases/download/pretrained-model/hivision_modnet.onnx",
              None, "Apache-2.0 (HivisionIDPhotos)", "person matting"),
    ModelFile("rmbg-1.4", "rmbg-1.4.onnx",
              "https://huggingface.co/briaai/RMBG-1.4/resolve/main/onnx/model.onnx?download=true",
              None, "bria-rmbg-1.4 (non-commercial)", "person matting"),
    ModelFile("birefnet-v1-lite", "birefnet-v1-lite.onnx",
              "https://github.com/ZhengPeng7/BiRefNet/releases/download/v1/BiRefNet-general-bb_swin_v1_tiny-epoch_232.onnx",
              None, "MIT (BiRefNet)", "person matting"),
    ModelFile("retinaface-resnet50", "retinaface-resnet50.onnx",
              "https://github.com/Zeyi-Lin/HivisionIDPhotos/releases/download/pretrained-model/retinaface-resnet50.onnx",
              None, "MIT (RetinaFace, biubug6 weights)", "face detection"),
    ModelFile("yunet", "face_detection_yunet_2023mar.onnx",
              "https://github.com/opencv/opencv_zoo/raw/main/models/face_detection_yunet/"
              "face_detection_yunet_2023mar.onnx",
              "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4", "MIT", "face detection"),
    ModelFile("face_mask_detection.caffemodel", "face_mask_detection.caffemodel",
              "https://github.com/AIZOOTech/FaceMaskDetection/raw/master/models/face_mask_detection.caffemodel",
              "3c2e89cffdc9459a69dd5c2e4c1ca263e6488a56a5a37d81ca2ff32344fbf740", "MIT", "mask detection"),
    ModelFile("face_mask_detection.prototxt", "face_mask_detection.prototxt",
              "https://github.com/AIZOOTech/FaceMaskDetection/raw/master/models/face_mask_detection.prototxt",
              "8de363802d3557f3d9ff7e72dd61eead60f5e9e145bb962d7979b99ff85d4212", "MIT", "mask detection"),
)}

_VERIFIED: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> sha256, so a file is hashed once
_SESSIONS: dict[str, Any] = {}
_LOCK = threading.Lock()


def models_dir() -> Path | None:
    value = os.environ.get(ENV, "").strip()
    return Path(value) if value else None


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _entry(name: str) -> ModelFile:
    if name not in MODEL_FILES:
        raise CheckerError("MODEL_UNAVAILABLE", f"unknown model {name!r}; known: {', '.join(MODEL_FILES)}")
    return MODEL_FILES[name]


def _hash_cached(path: Path) -> str:
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _VERIFIED:
        _VERIFIED[key] = sha256_of(path)
    return _VERIFIED[key]


def locate(name: str) -> Path:
    """The verified file of model ``name``; MODEL_UNAVAILABLE when it is not there or not intact."""
    entry = _entry(name)
    folder = models_dir()
    if folder is None:
        raise CheckerError("MODEL_UNAVAILABLE",
                           f"{name} needs its weights file: set {ENV} and run `idphoto models pull {name}`")
    path = folder / entry.filename
    if not path.is_file():
        raise CheckerError("MODEL_UNAVAILABLE",
                           f"{name} is not installed: {entry.filename} is missing from {ENV}; "
                           f"run `idphoto models pull {name}`")
    if entry.sha256 and _hash_cached(path) != entry.sha256:
        raise CheckerError("MODEL_UNAVAILABLE", f"{entry.filename} does not match its pinned sha256; pull it again")
    return path


def status(name: str) -> dict[str, Any]:
    """What is known about one model file, for `idphoto models list|verify`."""
    entry = _entry(name)
    folder = models_dir()
    path = folder / entry.filename if folder else None
    out: dict[str, Any] = {"name": name, "file": entry.filename, "purpose": entry.purpose, "licence": entry.licence,
                           "url": entry.url, "sha256": entry.sha256, "present": bool(path and path.is_file())}
    if out["present"]:
        actual = _hash_cached(path)
        out["actual_sha256"] = actual
        out["verified"] = None if entry.sha256 is None else actual == entry.sha256
    return out


def pull(name: str, *, dest: Path | None = None, allow_unpinned: bool = False, timeout: float = 60.0,
         progress: Callable[[int, int | None], None] | None = None) -> Path:
    """Download model ``name`` from its upstream address into ``dest`` (default CHECKER_MODELS_DIR),
    verifying its sha256. Unpinned files need ``allow_unpinned`` (their hash is printed to pin)."""
    entry = _entry(name)
    folder = dest or models_dir()
    if folder is None:
        raise CheckerError("INVALID_ARGUMENT", f"set {ENV} (or pass a destination) to pull {name}")
    if entry.sha256 is None and not allow_unpinned:
        raise CheckerError("INVALID_ARGUMENT",
                           f"{name} has no pinned sha256; pull it with --allow-unpinned and pin the printed hash")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / entry.filename
    fd, tmp_name = tempfile.mkstemp(prefix=f".{entry.filename}.", dir=folder)
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(entry.url, timeout=timeout) as resp:
            total = int(resp.headers.get("Content-Length") or 0) or None
            done = 0
            while block := resp.read(1 << 20):
                out.write(block)
                h.update(block)
                done += len(block)
                if progress:
                    progress(done, total)
        if entry.sha256 and h.hexdigest() != entry.sha256:
            raise CheckerError("MODEL_UNAVAILABLE",
                               f"{entry.url} gave a file whose sha256 {h.hexdigest()} is not the pinned {entry.sha256}")
        os.replace(tmp, target)
    except OSError as exc:
        raise CheckerError("MODEL_UNAVAILABLE", f"could not download {entry.url}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return target


def onnx_session(name: str):
    """One onnxruntime session per model file per process (CPU)."""
    path = locate(name)
    key = str(path)
    with _LOCK:
        if key not in _SESSIONS:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.log_severity_level = 3
            _SESSIONS[key] = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    return _SESSIONS[key]
