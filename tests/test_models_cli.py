"""`idphoto models list|pull|verify` for the optional files: pulls from a local HTTP server serving the
real weight files in ../shared/models, verification against their pinned hashes. The required models
(wheel members, default folder) are tested in test_model_wheels.py; here they are left out."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import re
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from checker.cli_models import models_group
from checker.models import files

from .conftest import SHARED, need_shared

MODELS = SHARED / "models"
YUNET = "face_detection_yunet_2023mar.onnx"


@pytest.fixture(autouse=True)
def shared_models(monkeypatch, tmp_path) -> None:
    need_shared(MODELS / YUNET, "the optional model weights")
    # Only the optional files, and a default folder of this test's own, so what this machine has
    # pulled plays no part.
    monkeypatch.setattr(files, "MODEL_FILES", {n: e for n, e in files.MODEL_FILES.items() if not e.required})
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def server(monkeypatch) -> Iterator[dict]:
    """A local HTTP server serving ../shared/models; records the paths asked for."""
    asked: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            asked.append(self.path)
            super().do_GET()

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(MODELS)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    try:
        yield {"base": f"http://127.0.0.1:{httpd.server_port}", "asked": asked}
    finally:
        httpd.shutdown()
        httpd.server_close()


def serve_as(monkeypatch, name: str, url: str) -> None:
    """Point model file ``name`` at ``url`` (its pin and file name unchanged)."""
    monkeypatch.setitem(files.MODEL_FILES, name, dataclasses.replace(files.MODEL_FILES[name], url=url))


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_pull_fetches_checks_the_pin_and_prints_the_hash(runner, server, monkeypatch, tmp_path):
    serve_as(monkeypatch, "yunet", f"{server['base']}/{YUNET}")
    res = runner.invoke(models_group, ["pull", "yunet", "--dest", str(tmp_path)])
    assert res.exit_code == 0, res.output
    pinned = files.MODEL_FILES["yunet"].sha256
    assert sha(tmp_path / YUNET) == pinned == sha(MODELS / YUNET)
    assert f"sha256 {pinned} (verified)" in res.stdout
    assert "(100%)" in res.stderr  # progress was shown
    assert sorted(p.name for p in tmp_path.iterdir()) == [YUNET]  # no temporary file left behind

    # Pulled again: already there and intact, so nothing is downloaded.
    res = runner.invoke(models_group, ["pull", "yunet", "--dest", str(tmp_path)])
    assert res.exit_code == 0 and "already present" in res.stdout
    assert server["asked"] == [f"/{YUNET}"]


def test_a_download_that_does_not_match_its_pin_is_not_left_in_place(runner, server, monkeypatch, tmp_path):
    # The server hands out the mask prototxt where YuNet's weights should be.
    serve_as(monkeypatch, "yunet", f"{server['base']}/face_mask_detection.prototxt")
    monkeypatch.setenv("CHECKER_MODELS_DIR", str(tmp_path))  # the default destination
    res = runner.invoke(models_group, ["pull", "yunet"])
    assert res.exit_code == 1
    assert "FAILED" in res.stderr and "not the pinned" in res.stderr
    assert sha(MODELS / "face_mask_detection.prototxt") in res.stderr  # the hash of what came
    assert list(tmp_path.iterdir()) == []  # neither the bad file nor a temporary one


def test_a_missing_upstream_file_fails_cleanly(runner, server, monkeypatch, tmp_path):
    serve_as(monkeypatch, "yunet", f"{server['base']}/no-such-file.onnx")
    res = runner.invoke(models_group, ["pull", "yunet", "--dest", str(tmp_path)])
    assert res.exit_code == 1 and "404" in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_unpinned_files_need_allow_unpinned(runner, server, monkeypatch, tmp_path):
    serve_as(monkeypatch, "retinaface-resnet50", f"{server['base']}/{YUNET}")  # any bytes: it has no pin
    res = runner.invoke(models_group, ["pull", "retinaface-resnet50", "--dest", str(tmp_path)])
    assert res.exit_code == 1 and "--allow-unpinned" in res.stderr
    assert list(tmp_path.iterdir()) == [] and server["asked"] == []

    res = runner.invoke(models_group, ["pull", "retinaface-resnet50", "--allow-unpinned", "--dest", str(tmp_path)])
    assert res.exit_code == 0, res.output
    fetched = tmp_path / "retinaface-resnet50.onnx"
    assert f"sha256 {sha(fetched)}" in res.stdout and "UNPINNED" in res.stdout
    assert sha(fetched) == sha(MODELS / YUNET)


def test_pull_all_pulls_the_pinned_and_refuses_the_unpinned(runner, server, monkeypatch, tmp_path):
    two = {n: dataclasses.replace(files.MODEL_FILES[n], url=f"{server['base']}/{YUNET}")
           for n in ("yunet", "retinaface-resnet50")}
    monkeypatch.setattr(files, "MODEL_FILES", two)
    res = runner.invoke(models_group, ["pull", "--all", "--dest", str(tmp_path)])
    assert res.exit_code == 1
    assert (tmp_path / YUNET).is_file() and not (tmp_path / "retinaface-resnet50.onnx").exists()
    assert "retinaface-resnet50: FAILED" in res.stderr


@pytest.mark.parametrize("args, words", [
    (["pull", "yunet", "--all"], "not both"),
    (["pull", "no-such-model"], "unknown model file(s) no-such-model"),
])
def test_pull_usage_errors(runner, args, words, tmp_path):
    res = runner.invoke(models_group, [*args, "--dest", str(tmp_path)])
    assert res.exit_code == 2 and words in res.output


def test_pull_without_a_destination_is_a_usage_error(runner, monkeypatch):
    monkeypatch.delenv("CHECKER_MODELS_DIR", raising=False)
    res = runner.invoke(models_group, ["pull", "yunet"])
    assert res.exit_code == 2 and "CHECKER_MODELS_DIR" in res.output


def test_verify_passes_on_the_shared_models(runner, monkeypatch):
    monkeypatch.setenv("CHECKER_MODELS_DIR", str(MODELS))
    res = runner.invoke(models_group, ["verify"])
    assert res.exit_code == 0, res.output
    ok = {line.split()[1].rstrip(":") for line in res.stdout.splitlines() if line.startswith("ok ")}
    assert ok == {"yunet", "face_mask_detection.caffemodel", "face_mask_detection.prototxt"}
    assert "3 file(s) present, 0 mismatched" in res.stderr


def test_verify_fails_on_a_damaged_file_and_lists_unpinned_ones(runner, monkeypatch, tmp_path):
    shutil.copy(MODELS / "face_mask_detection.prototxt", tmp_path)
    damaged = bytearray((MODELS / YUNET).read_bytes())
    damaged[1000] ^= 0xFF  # one flipped byte
    (tmp_path / YUNET).write_bytes(bytes(damaged))
    (tmp_path / "hivision_modnet.onnx").write_bytes(b"unpinned weights")
    monkeypatch.setenv("CHECKER_MODELS_DIR", str(tmp_path))
    res = runner.invoke(models_group, ["verify"])
    assert res.exit_code == 1
    lines = res.stdout.splitlines()
    assert any(line.startswith("MISMATCH  yunet") and hashlib.sha256(damaged).hexdigest() in line for line in lines)
    assert any(line.startswith("ok        face_mask_detection.prototxt") for line in lines)
    assert any(line.startswith("unpinned  hivision_modnet") for line in lines)

    (tmp_path / YUNET).unlink()  # unpinned files alone do not fail verification
    assert runner.invoke(models_group, ["verify"]).exit_code == 0


def test_verify_without_a_models_folder_checks_only_the_required_models(runner, monkeypatch):
    monkeypatch.delenv("CHECKER_MODELS_DIR", raising=False)
    res = runner.invoke(models_group, ["verify"])  # no required model in this file's table: nothing to fail
    assert res.exit_code == 0 and "CHECKER_MODELS_DIR is not set: only the required models" in res.output


def cells(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())  # columns are at least two spaces apart


def test_list_shows_every_file_with_its_state_and_licence(runner, monkeypatch):
    monkeypatch.setenv("CHECKER_MODELS_DIR", str(MODELS))
    res = runner.invoke(models_group, ["list"])
    assert res.exit_code == 0
    lines = res.stdout.splitlines()
    assert cells(lines[0]) == ["NAME", "PURPOSE", "NEED", "PRESENT", "STATE", "WHERE", "LICENCE"]
    rows = {cells(line)[0]: cells(line) for line in lines[1:]}
    assert set(rows) == set(files.MODEL_FILES)
    assert rows["yunet"][2:] == ["optional", "yes", "verified", "$CHECKER_MODELS_DIR", "MIT"]
    assert rows["retinaface-resnet50"][3:6] == ["no", "-", "-"]
    assert rows["rmbg-1.4"][-1] == "bria-rmbg-1.4 (non-commercial)"

    res = runner.invoke(models_group, ["list", "--json"])
    listed = {row["name"]: row for row in json.loads(res.stdout)}
    assert listed["yunet"]["verified"] is True and listed["yunet"]["actual_sha256"] == sha(MODELS / YUNET)
    assert listed["yunet"]["path"] == str(MODELS / YUNET) and listed["yunet"]["required"] is False
    assert listed["birefnet-v1-lite"]["present"] is False


def test_list_without_a_models_folder_says_so(runner, monkeypatch):
    monkeypatch.delenv("CHECKER_MODELS_DIR", raising=False)
    res = runner.invoke(models_group, ["list"])
    assert res.exit_code == 0 and "CHECKER_MODELS_DIR is not set" in res.stderr
    assert all(" no " in line for line in res.stdout.splitlines()[1:])
