"""Once through a real gunicorn on loopback, started the way `make run` starts it."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from checker.imaging import load_photo

from .servers import free_port, get_json

ROOT = Path(__file__).resolve().parent.parent




def _post(url: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def server():
    port = free_port()
    idphoto = Path(sys.executable).with_name("idphoto")
    proc = subprocess.Popen([str(idphoto), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=os.environ | {"CI": ""},
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            health = get_json(base + "/healthz", timeout=5)
            break
        except (urllib.error.URLError, ConnectionError, OSError):
            if proc.poll() is not None or time.time() > deadline:
                out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                proc.kill()
                pytest.fail(f"gunicorn did not come up:\n{out[-3000:]}")
            time.sleep(0.3)
    yield base, health
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def test_gunicorn_worker_loads_models_before_serving(server):
    _, health = server
    assert health["status"] == "ok"
    assert {"face_detector", "face_landmarker", "person_segmenter"} <= set(health["models_loaded"])


def test_check_over_http(server, face_bytes):
    base, _ = server
    body = {"file": base64.b64encode(face_bytes("hivision_idphoto_2.jpg")).decode(), "spec_id": 1102}
    status, report = _post(base + "/api/check_pic", body)
    assert status == 200 and report["code"] == 200
    assert report["result"]["px_and_mm"] == 0 and report["result"]["head_length"] == 1
    status, err = _post(base + "/api/check_pic", {"file": "", "spec_id": 1102})
    assert status == 400 and err["status"] == "EMPTY_IMAGE" and err["request_id"]


def test_seed_000_idphoto_over_http(server, face_bytes):
    """The seed's first curl example (multipart, its default model names) against the real server."""
    import uuid

    base, _ = server
    boundary = uuid.uuid4().hex
    fields = {"height": "413", "width": "295", "human_matting_model": "modnet_photographic_portrait_matting",
              "face_detect_model": "mtcnn", "hd": "true", "dpi": "300", "face_alignment": "true"}
    body = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode()
                    for k, v in fields.items())
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"input_image\"; filename=\"test0.jpg\"\r\n"
            "Content-Type: image/jpeg\r\n\r\n")
    body += head.encode() + face_bytes("hivision_test0.jpg") + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(base + "/idphoto", data=body,
                                 headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        answer = json.loads(resp.read())
    assert answer["status"] is True and answer["image_base64_standard"].startswith("data:image/png;base64,")
    png = base64.b64decode(answer["image_base64_standard"].split(",", 1)[1])
    photo = load_photo(png)
    assert (photo.width, photo.height) == (295, 413) and answer["human_matting_model"] == "embedded"


def _listening(port: int) -> set[str]:
    """Local IPv4 addresses with a socket listening on ``port`` (from /proc/net/tcp)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        addr, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(socket.inet_ntoa(bytes.fromhex(addr)[::-1]))
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads listening sockets from /proc/net/tcp")
def test_an_open_server_asked_for_every_address_listens_on_loopback(tmp_path):
    from .servers import Server

    srv = Server(tmp_path / "tasks", host="0.0.0.0")
    srv.start()
    try:
        assert "no API keys" in srv.stderr and "listening on 127.0.0.1 instead of 0.0.0.0" in srv.stderr
        assert _listening(srv.port) == {"127.0.0.1"}
    finally:
        srv.kill(signal.SIGTERM)
