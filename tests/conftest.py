"""Shared fixtures: the real photos in ../shared/faces, photo transforms, the app and the CLI runner."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from checker.context import Analysis
from checker.imaging import Photo, load_photo

ROOT = Path(__file__).resolve().parent.parent

# Tests never read or write the default instance folder (a developer's real keys and tasks): the app's
# default state folder is a fresh one per test process, and state set in the environment is ignored.
for _var in ("CHECKER_KEYS_DB", "CHECKER_TASKS_DIR"):
    os.environ.pop(_var, None)
os.environ["CHECKER_INSTANCE_DIR"] = tempfile.mkdtemp(prefix="idphoto-tests-")
SHARED = Path(os.environ.get("CHECKER_SHARED_DIR") or ROOT.parent / "shared")
FACES = SHARED / "faces"
ARTIFACTS = ROOT / "tests" / "artifacts"


def need_shared(path: Path, what: str) -> None:
    """Under CI a missing piece of ../shared is an error; elsewhere the test is skipped with the reason."""
    if path.exists():
        return
    reason = f"{path} is missing: {what} live in ../shared beside the checkout"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    need_shared(FACES, "the real photos")
    return FACES


@pytest.fixture(scope="session")
def labels(faces_dir: Path) -> dict[str, dict[str, str]]:
    """../shared/faces/LABELS.csv by file name."""
    with open(faces_dir / "LABELS.csv", newline="", encoding="utf-8") as fh:
        return {row["file"]: row for row in csv.DictReader(fh)}


@pytest.fixture(scope="session")
def face_bytes(faces_dir: Path):
    """face_bytes('hivision_idphoto_2.jpg') -> the file's bytes."""

    def read(name: str) -> bytes:
        return (faces_dir / name).read_bytes()

    return read


@pytest.fixture(scope="session")
def face_rgb(face_bytes):
    """face_rgb(name) -> H x W x 3 uint8 RGB of a shared photo (EXIF applied)."""
    cache: dict[str, np.ndarray] = {}

    def read(name: str) -> np.ndarray:
        if name not in cache:
            cache[name] = load_photo(face_bytes(name)).rgb
        return cache[name].copy()

    return read


def photo_of(rgb: np.ndarray, fmt: str = "PNG") -> Photo:
    """A Photo of exactly these pixels (PNG round trip, so intake runs as for an upload)."""
    return load_photo(encode(rgb, fmt))


def encode(rgb: np.ndarray, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb)).save(buf, format=fmt, **kw)
    return buf.getvalue()


def analysis_of(rgb: np.ndarray) -> Analysis:
    return Analysis(photo_of(rgb))


def measure_of(rgb: np.ndarray, *names: str):
    """Run the detectors for ``names`` on these pixels; returns {name: Measure}."""
    from checker import detectors

    a = analysis_of(rgb)
    got = detectors.measure(a, names)
    return {n: got[n] for n in names}


def measured(a: Analysis, name: str):
    """One measure of an Analysis, asserted to have been made."""
    from checker import detectors

    m = detectors.measure(a, [name])[name]
    assert m.ok, m.error
    return m


def default_max(check: str) -> float:
    """A rule's default upper threshold."""
    from checker import rules

    return float(rules.load_rules()[check].default["max"])


@pytest.fixture
def app(tmp_path):
    from checker.web import create_app

    app = create_app({"TESTING": True, "KEYS_DB": str(tmp_path / "keys.sqlite3"),
                      "TASKS_DIR": str(tmp_path / "tasks")})
    yield app
    svc = app.extensions.get("idphoto_tasks")  # started by the task and eye-masking APIs
    if svc:
        svc.stop()


def new_key(app, **options) -> str:
    """A key in the app's key file (the first one turns the open server into a keyed one)."""
    from checker.keys import KeyStore

    return KeyStore(app.config["KEYS_DB"]).create(**options)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner():
    from click.testing import CliRunner

    return CliRunner()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
