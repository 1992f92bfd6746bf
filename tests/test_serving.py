"""Serving under hostile clients and load (issue 12): slow clients and short bodies through the real
server, a full queue answered 503 in each family's envelope, secrets kept out of the access log, and
tasks resumed at worker start under a plain `gunicorn wsgi:app`.

Every socket here is on 127.0.0.1. Client-side timeouts are liveness bounds (a request that is never
answered fails the test instead of hanging it), not timing assertions."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from .servers import free_port, get_json, http_thread

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def _wait_up(proc: subprocess.Popen, base: str, log: Path) -> None:
    end = time.time() + 90
    while True:
        try:
            get_json(base + "/healthz", timeout=5)
            return
        except OSError:
            if proc.poll() is not None or time.time() > end:
                stop(proc)
                pytest.fail(f"the server did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.3)


def launch(argv: list[str], log: Path, **env: str) -> subprocess.Popen:
    """A server process in its own session, stdout and stderr (access and error logs) into ``log``."""
    with open(log, "wb") as out:
        return subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env=os.environ | {"CI": ""} | env)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`idphoto serve` as `make run` starts it (one worker), with short read timeouts."""
    folder = tmp_path_factory.mktemp("serving")
    port = free_port()
    log = folder / "serve.log"
    proc = launch([str(VENV_BIN / "idphoto"), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                  log, CHECKER_TASKS_DIR=str(folder / "tasks"), CHECKER_KEYS_DB=str(folder / "keys.sqlite3"),
                  CHECKER_HEADER_TIMEOUT="5", CHECKER_BODY_TIMEOUT="2", CHECKER_REQUEST_TIMEOUT="8")
    base = f"http://127.0.0.1:{port}"
    _wait_up(proc, base, log)
    yield port, base, log
    stop(proc)


def _status_line(sock: socket.socket) -> str:
    """The first line the server sends back ('' if it closes without a word)."""
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\r\n", 1)[0].decode("latin-1")


class SlowClient(threading.Thread):
    """Sends ``request`` a byte every ``pause`` seconds and records what the server answers."""

    def __init__(self, port: int, request: bytes, pause: float) -> None:
        super().__init__(daemon=True)
        self.port, self.request, self.pause = port, request, pause
        self.answer: str | None = None
        self.sent = 0

    def run(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=60) as sock:
            try:
                for i in range(len(self.request)):
                    if select.select([sock], [], [], 0)[0]:  # answered before we were done
                        break
                    sock.sendall(self.request[i:i + 1])
                    self.sent += 1
                    time.sleep(self.pause)
                self.answer = _status_line(sock)
            except OSError:
                self.answer = "closed"


def test_slow_clients_do_not_stop_the_server(served, face_bytes):
    """Issue 12 item 6: more slow clients (headers a byte at a time) than the worker has threads; the
    server still answers /healthz and a check at once, and cuts each slow client off with a 408."""
    port, base, _ = served
    slow = [SlowClient(port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 200 + b"\r\n\r\n",
                       0.2) for _ in range(40)]
    for client in slow:
        client.start()
    time.sleep(1.0)
    assert all(c.sent for c in slow) and not any(c.answer for c in slow)  # all of them are mid-headers
    health = get_json(base + "/healthz", timeout=10)
    assert health["status"] == "ok"
    body = json.dumps({"file": base64.b64encode(face_bytes("hivision_idphoto_2.jpg")).decode(), "spec_id": 1102})
    req = urllib.request.Request(base + "/api/check_pic", data=body.encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 200 and json.loads(resp.read())["code"] == 200
    for client in slow:
        client.join(timeout=30)
    # The header deadline (5 s here) ends every one of them with a 408, not a served request.
    assert [c.answer for c in slow] == ["HTTP/1.1 408 Request Timeout"] * len(slow)


def _short_body(port: int, path: str, ctype: str, length: int, sent: bytes) -> tuple[str, bytes]:
    """Announce ``length`` bytes, send fewer, keep the connection open: what comes back, and when it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {length}\r\n\r\n").encode()
        sock.sendall(head + sent)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    line, _, rest = data.partition(b"\r\n")
    return line.decode("latin-1"), rest.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize("path,ctype", [("/api/check_pic", "application/json"),
                                        ("/idphoto", "multipart/form-data; boundary=xyz")])
def test_a_body_shorter_than_its_content_length_ends_with_408(served, path, ctype):
    """Issue 12 item 6: the body stops short and the client waits; the answer is a 408 after the body
    timeout (2 s here), not a worker held 60 s and a 500."""
    port, base, _ = served
    line, body = _short_body(port, path, ctype, 5000, b'{"file": "abc')
    assert line == "HTTP/1.1 408 Request Timeout", line
    assert json.loads(body)["status"] == "REQUEST_TIMEOUT"
    assert get_json(base + "/healthz")["status"] == "ok"


def test_a_body_sent_a_byte_at_a_time_ends_with_408(served):
    """A body that keeps trickling (never a long pause) still ends at the whole-request deadline (8 s here)."""
    port, _, _ = served
    body = b'{"spec_id": 1102, "file": "' + b"A" * 400 + b'"}'
    head = (f"POST /api/check_pic HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    client = SlowClient(port, head + body, 0.05)
    client.start()
    client.join(timeout=40)
    assert client.answer == "HTTP/1.1 408 Request Timeout"
    assert client.sent < len(head) + len(body)


def test_chunked_and_expect_continue_bodies_are_served(served):
    """The bodies the server reads whole before a thread sees them: chunked, and after Expect: 100-continue."""
    port, _, _ = served
    payload = json.dumps({"file": "", "spec_id": 1102}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(payload[i:i + 7]), payload[i:i + 7]) for i in range(0, len(payload), 7))
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"POST /api/check_pic HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks + b"0\r\n\r\n")
        data = b"".join(iter(lambda: sock.recv(65536), b""))
    assert data.startswith(b"HTTP/1.1 400 ") and b'"EMPTY_IMAGE"' in data
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(b"POST /api/check_pic HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Expect: 100-continue\r\nConnection: close\r\nContent-Length: %d\r\n\r\n" % len(payload))
        assert _status_line(sock) == "HTTP/1.1 100 Continue"
        sock.sendall(payload)
        data = b"".join(iter(lambda: sock.recv(65536), b""))
    final = data[data.index(b"HTTP/1.1 4"):]
    assert final.startswith(b"HTTP/1.1 400 ") and b'"EMPTY_IMAGE"' in final


def test_kept_alive_and_pipelined_requests_are_all_answered(served):
    port, _, _ = served
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for path in ("/healthz", "/api/specs/1102", "/healthz"):  # one connection, three requests
        conn.request("GET", path)
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read())
    conn.request("POST", "/api/check_pic", body=b'{"file": "", "spec_id": 1102}',
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 400 and json.loads(resp.read())["status"] == "EMPTY_IMAGE"
    # Refused before the app reads a 300 KB body (as a full queue refuses): the connection announced
    # as kept alive must still serve the next request, not drop it.
    conn.request("POST", "/api/check_pic", body=b"x" * 300_000, headers={"Content-Type": "text/plain"})
    resp = conn.getresponse()
    assert resp.status == 400 and resp.getheader("Connection") != "close" and json.loads(resp.read())
    conn.request("GET", "/healthz")
    assert conn.getresponse().status == 200
    conn.close()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        body = b'{"file": "", "spec_id": 1102}'
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"POST /api/check_pic HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body) +
                     b"GET /api/specs/1102 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b"".join(iter(lambda: sock.recv(65536), b""))
    assert re.findall(rb"HTTP/1\.1 (\d{3}) [A-Z]", data) == [b"200", b"400", b"200"]


def test_secrets_in_the_query_are_not_in_the_access_log(served):
    """Weak point of issue 12: `?api_secret=` and `?app_key=` were logged in clear."""
    port, base, log = served
    query = urllib.parse.urlencode({"spec": "1102", "app_key": "k1d.APPKEYSECRET", "api_id": "public-id",
                                    "api_secret": "APISECRETVALUE", "api_key": "k2d.APIKEYSECRET"})
    with contextlib.suppress(urllib.error.HTTPError):  # whatever the answer, the request line is logged
        urllib.request.urlopen(f"{base}/api/specs/1102?{query}", timeout=10).close()
    end = time.time() + 10
    while "/api/specs/1102?" not in log.read_text(errors="replace") and time.time() < end:
        time.sleep(0.1)
    text = log.read_text(errors="replace")
    line = next(ln for ln in text.splitlines() if "/api/specs/1102?" in ln)
    for secret in ("APPKEYSECRET", "APISECRETVALUE", "APIKEYSECRET"):
        assert secret not in text
    assert "spec=1102" in line and "api_id=public-id" in line and "app_key=k1d.***" in line
    assert "api_secret=***" in line


def test_request_framing():
    """How the event loop tells a whole request from part of one (the rest goes to gunicorn's parser)."""
    from checker.web.gunicorn_worker import AS_IS, COMPLETE, MORE, Incoming

    head = b"POST /api/check_pic HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"
    incoming = Incoming(head[:10])
    assert incoming.state == MORE
    assert incoming.feed(head[10:] + b"abc") == MORE and incoming.feed(b"de") == COMPLETE and not incoming.light
    assert Incoming(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /next").state == COMPLETE
    assert Incoming(b"GET /healthz HTTP/1.1\r\n\r\n").light
    chunked = b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    incoming = Incoming(chunked + b"3;ext=1\r\nabc\r\n")
    assert incoming.state == MORE and incoming.feed(b"0\r\n") == MORE and incoming.feed(b"\r\n") == COMPLETE
    assert Incoming(chunked + b"0\r\nX-Trailer: 1\r\n\r\n").state == COMPLETE
    assert Incoming(chunked + b"0x3\r\nabc\r\n").state == AS_IS  # not a chunk size
    for odd in (b"Content-Length: 5\r\nContent-Length: 5", b"Content-Length: -1", b"Transfer-Encoding: gzip",
                b"Transfer-Encoding: chunked\r\nContent-Length: 3", b"Content-Length: %d" % (64 * 2**20),
                b"no colon here"):
        assert Incoming(b"POST /x HTTP/1.1\r\n" + odd + b"\r\n\r\n").state == AS_IS, odd
    assert Incoming(b"GET /" + b"a" * (2 * 2**20)).state == AS_IS  # gunicorn's own limits answer that


def test_secret_values_are_hidden_and_the_rest_kept():
    from checker.web.accesslog import redact_query, redact_uri

    assert redact_query("spec=1102&app_key=abc.def&api_secret=s&api_id=i") == \
        "spec=1102&app_key=abc.***&api_secret=***&api_id=i"
    assert redact_query("api%5Fsecret=s&API_KEY=nodot&x_token=t&lang=zh") == \
        "api%5Fsecret=***&API_KEY=***&x_token=***&lang=zh"
    assert redact_query("app_key=id%2Esecret&flag&=v") == "app_key=id.***&flag&=v"
    assert redact_uri("/api/specs?app_key=a.b") == "/api/specs?app_key=a.***" and redact_uri("/healthz") == "/healthz"


# --- the queue: in-process, with a check held inside the app -------------------------------------------
@pytest.fixture
def held(app, monkeypatch, face_bytes):
    """One admission slot, taken by a check that waits inside the app until released."""
    import checker.web.check_api as check_api

    app.config.update(ADMISSION_SLOTS=1, ADMISSION_WAIT=0.05)
    release, entered = threading.Event(), threading.Event()

    def run_check(*args, **kwargs):
        entered.set()
        release.wait(30)
        return {"code": 200, "held": True}

    monkeypatch.setattr(check_api, "run_check", run_check)
    body = {"file": base64.b64encode(face_bytes("hivision_idphoto_2.jpg")).decode(), "spec_id": 1102}
    answers: list = []
    worker = threading.Thread(target=lambda: answers.append(app.test_client().post("/api/check_pic", json=body)))
    worker.start()
    assert entered.wait(30)
    yield app.test_client()
    release.set()
    worker.join(30)
    assert answers[0].status_code == 200 and answers[0].get_json()["held"] is True


def _busy(resp) -> dict:
    assert resp.status_code == 503, resp.get_data(as_text=True)
    assert int(resp.headers["Retry-After"]) >= 1
    return resp.get_json()


def test_a_full_queue_answers_503_in_each_family_envelope(held):
    client = held
    photo = base64.b64encode(b"\xff\xd8\xff not really").decode()
    got = _busy(client.post("/api/check_pic", json={"file": photo, "spec_id": 1102}))
    assert set(got) == {"code", "status", "message", "request_id"} and got["code"] == 503
    assert got["status"] == "SERVER_BUSY" and got["request_id"]
    got = _busy(client.post("/api/fix", json={"file": photo, "spec_id": 1102}))
    assert got["code"] == 503 and got["status"] == "SERVER_BUSY"
    got = _busy(client.post("/idphoto", data={"input_image_base64": photo}))
    assert got["status"] is False and got["error"] == "SERVER_BUSY"
    got = _busy(client.post("/api/tasks/visual/external/idphoto", data={"sync": "1", "image_url": "http://x/"}))
    assert got["status"] == 503 and set(got) == {"status", "message"}
    got = _busy(client.post("/identity/mask_selfie_image", data={"selfie_image_id": "x"}))
    assert got["status"] == "SERVER_BUSY" and "reason" in got and "request_id" in got
    got = _busy(client.post("/api/v1/matting2", data={"image_base64": photo}))
    assert got["code"] != 0 and got["data"] is None and "SERVER_BUSY" in got["msg"]
    # What is not heavy is answered as usual: health, the catalogue, an async task (queued, not run here).
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/specs/1102").status_code == 200
    resp = client.post("/api/tasks/visual/external/idphoto", data={"sync": "0"})
    assert resp.status_code == 400 and resp.get_json()["status"] == 400  # no image: refused, not queued for a slot


def test_every_post_endpoint_is_classified(app):
    """A new POST view is either in a heavy blueprint or named here as light, never forgotten."""
    from checker.web.admission import HEAVY_BLUEPRINTS, SYNC_TASK_ENDPOINT

    for rule in app.url_map.iter_rules():
        if "POST" in (rule.methods or ()):
            assert rule.endpoint.rsplit(".", 1)[0] in HEAVY_BLUEPRINTS or rule.endpoint == SYNC_TASK_ENDPOINT, rule


def test_time_spent_waiting_for_a_thread_counts_against_the_wait(app, monkeypatch):
    """A request that waited 0.75 s for a server thread waits only the 0.25 s left of ADMISSION_WAIT (1 s)."""
    from checker.web import admission

    app.config.update(ADMISSION_SLOTS=1, ADMISSION_WAIT=1.0)
    asked: list[float] = []
    monkeypatch.setattr(admission, "queued_seconds", lambda: 0.75)
    monkeypatch.setattr(admission.Slots, "take", lambda self, wait: asked.append(wait) or False)
    resp = app.test_client().post("/api/check_pic", json={"file": "", "spec_id": 1102})
    assert _busy(resp)["status"] == "SERVER_BUSY" and asked == [0.25]


def test_a_slot_is_given_back_whatever_the_request_ends_with(app):
    app.config.update(ADMISSION_SLOTS=1, ADMISSION_WAIT=0.05)
    client = app.test_client()
    for _ in range(3):  # errors (no image, a crash) release the slot too
        resp = client.post("/api/check_pic", json={"file": "", "spec_id": 1102})
        assert resp.status_code == 400 and resp.get_json()["status"] == "EMPTY_IMAGE"
    resp = client.post("/idphoto", data={})
    assert resp.status_code == 400


# --- tasks resumed at worker start under plain gunicorn -------------------------------------------------
@pytest.fixture
def photo_site(face_bytes):
    """A loopback web server whose /photo is a real face (the tasks' image_url)."""
    from .test_tasks import Files

    Files.photo = face_bytes("hivision_test3.jpg")
    with http_thread(Files) as base:
        yield base


@pytest.mark.parametrize("preload", [False, True], ids=["plain", "preload"])
def test_plain_gunicorn_resumes_tasks_at_worker_start(tmp_path, photo_site, preload):
    """Issue 12 item 9: tasks a killed server left behind are resumed by `gunicorn wsgi:app` (no -c config)
    without any request reaching it: the test only reads the task store."""
    from checker.tasks import store as st

    from .servers import Server
    from .test_tasks_server import TASK_URL, post_form

    tasks = tmp_path / "tasks"
    first = Server(tasks, CHECKER_TASK_STAGE_DELAY="0.5")
    first.start()
    try:
        ids = [post_form(first.base + TASK_URL, {"image_url": f"{photo_site}/photo"})["data"]["task_id"]
               for _ in range(2)]
        end = time.time() + 30
        while time.time() < end:
            states = [get_json(f"{first.base}{TASK_URL}/{i}")["data"]["state"] for i in ids]
            if any(s in st.ACTIVE for s in states):
                break
            time.sleep(0.1)
        assert any(s in st.ACTIVE for s in states)
    finally:
        first.kill()  # kill -9
    store = st.TaskStore(str(tasks))
    assert {store.get(i)["state"] for i in ids} <= {st.QUEUED, *st.ACTIVE}

    port = free_port()
    argv = [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", *(["--preload"] if preload else []), "wsgi:app"]
    log = tmp_path / "gunicorn.log"
    proc = launch(argv, log, **{k: v for k, v in first.env.items() if k.startswith("CHECKER_")})
    try:
        end = time.time() + 120
        while time.time() < end:
            states = [store.get(i)["state"] for i in ids]
            if all(s == st.DONE or s < 0 for s in states):
                break
            time.sleep(0.3)
        assert states == [st.DONE] * len(ids), log.read_text(errors="replace")[-3000:]
    finally:
        stop(proc)
