"""Outbound addresses: image_url, selfie_url and callback_url under the URL policy, the total download
deadline, and callbacks (durable, sent once, concurrent). Run by tests/test_netns.py inside a network
namespace with no route out; the only servers are the ones these tests start on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from checker.tasks import store as st
from checker.tasks.service import TaskService
from checker.tasks.settings import config_from
from checker.tasks.urls import (
    FetchFailed,
    FetchTimedOut,
    Policy,
    URLInvalid,
    URLRefused,
    check_url,
    download,
    post_json,
)

from . import netns
from .test_tasks import create, make_app

pytestmark = netns.ONLY_INSIDE

ROOT = Path(__file__).resolve().parent.parent
MASK = "/identity/mask_selfie_image"


@pytest.fixture(autouse=True)
def _no_route_out():
    assert netns.isolated(), "outbound-address tests must not run with a route out"


# --- local servers ------------------------------------------------------------------------------------
class Receiver(BaseHTTPRequestHandler):
    """Records every request (time, method, path, JSON body). /hang holds the answer until the test
    ends; /fail answers 500 to the first ``fail_first`` POSTs; anything else answers 200."""

    seen: list[tuple[float, str, str, dict | None]] = []
    fail_first = 0
    release = threading.Event()
    protocol_version = "HTTP/1.0"

    def _record(self) -> dict | None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        Receiver.seen.append((time.monotonic(), self.command, self.path, body))
        return body

    def do_GET(self):  # noqa: N802 - http.server's name
        self._record()
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def do_POST(self):  # noqa: N802
        self._record()
        if self.path.startswith("/hang"):
            Receiver.release.wait(60)
            return
        if self.path.startswith("/fail") and Receiver.fail_first > 0:
            Receiver.fail_first -= 1
            self.send_error(500)
            return
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    Receiver.seen = []
    Receiver.fail_first = 0
    Receiver.release = threading.Event()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    Receiver.release.set()
    httpd.shutdown()
    httpd.server_close()


def posts(path: str | None = None) -> list[tuple[float, str, str, dict | None]]:
    return [s for s in Receiver.seen if s[1] == "POST" and (path is None or s[2].startswith(path))]


class Dripper:
    """A raw TCP server on loopback that answers a byte every ``gap`` seconds, for at most ``limit``
    seconds. ``mode``: "body" (headers at once, then the body dripping), "headers" (a header line that
    never ends), "tls" (a TLS record header, then its bytes one by one: the handshake drips) or "short"
    (10 bytes of a 1000-byte body, then the end)."""

    def __init__(self, mode: str, gap: float = 0.2, limit: float = 8.0) -> None:
        self.mode, self.gap, self.limit = mode, gap, limit
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.closed_at: list[float] = []  # when each client went away (a send failed)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        end = time.monotonic() + self.limit
        try:
            if self.mode == "tls":
                conn.sendall(b"\x16\x03\x03\x40\x00")  # a handshake record of 16 KiB is coming...
            else:
                conn.settimeout(5)
                request = b""
                while b"\r\n\r\n" not in request:
                    request += conn.recv(4096)
                head, _, body = request.partition(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                while len(body) < length:
                    body += conn.recv(4096)
                if self.mode == "short":  # a body that stops before its Content-Length, then the end
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
                    conn.shutdown(socket.SHUT_WR)
                    return
                if self.mode == "body":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 100000\r\n\r\n")
                else:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            while time.monotonic() < end and not self.stop.wait(self.gap):
                conn.sendall(b"a")
        except OSError:
            self.closed_at.append(time.monotonic())
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture
def dripper():
    made: list[Dripper] = []

    def make(mode: str) -> Dripper:
        made.append(Dripper(mode))
        return made[-1]

    yield make
    for d in made:
        d.close()


# --- item 4: a bad port is a clear 400 naming the field -----------------------------------------------------
BAD_PORTS = ["http://127.0.0.1:99999/a.jpg", "http://host:abc/a.jpg", "http://127.0.0.1:0/a.jpg",
             "http://[::1]:65536/a.jpg", "https://127.0.0.1:-1/a.jpg", "http://127.0.0.1:\u0668\u0660/a.jpg"]


@pytest.mark.parametrize("allow_private", [False, True])
@pytest.mark.parametrize("url", BAD_PORTS)
def test_a_bad_port_is_refused_by_the_policy(url, allow_private):
    policy = Policy(allow_private=allow_private, timeout=1)
    with pytest.raises(URLInvalid, match="port"):
        check_url(url, policy)
    with pytest.raises(URLInvalid, match="port"):
        download(url, policy)
    with pytest.raises(URLInvalid, match="port"):
        post_json(url, b"{}", policy)


@pytest.fixture(scope="module", params=[False, True], ids=["default", "private-allowed"])
def task_client(request, tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("bad-ports"), ALLOW_PRIVATE_URLS=request.param, URL_TIMEOUT=1)
    yield app.test_client()
    svc = app.extensions.get("idphoto_tasks")
    if svc:
        svc.stop()


@pytest.mark.parametrize("url", BAD_PORTS)
def test_a_bad_port_in_image_url_or_callback_url_is_a_400_naming_it(task_client, url):
    code, body = create(task_client, image_url=url)
    assert code == 400 and body["status"] == 400, body
    assert body["message"].startswith("INVALID_ARGUMENT: image_url:") and "port" in body["message"], body
    code, body = create(task_client, image_url="http://127.0.0.1:9/a.jpg", callback_url=url)
    assert code == 400 and body["message"].startswith("INVALID_ARGUMENT: callback_url:"), body


@pytest.fixture(scope="module")
def mask_app(tmp_path_factory):
    from checker.web import create_app

    tmp = tmp_path_factory.mktemp("mask")
    app = create_app({"TESTING": True, "KEYS_DB": str(tmp / "keys.sqlite3"), "TASKS_DIR": str(tmp / "t"),
                      "ALLOW_PRIVATE_URLS": True, "URL_TIMEOUT": 1})
    yield app
    svc = app.extensions.get("idphoto_tasks")
    if svc:
        svc.stop()


@pytest.mark.parametrize("url", BAD_PORTS)
def test_a_bad_port_in_selfie_url_is_invalid_argument(mask_app, url):
    resp = mask_app.test_client().post(MASK, data={"selfie_url": url}, content_type="multipart/form-data")
    body = resp.get_json()
    assert resp.status_code == 400 and body["status"] == "INVALID_ARGUMENT" and "image" not in body, body
    assert body["reason"].startswith("selfie_url:") and "port" in body["reason"], body


# --- the policy: private addresses in every form ----------------------------------------------------------------
@pytest.mark.parametrize(("fields", "text"), [
    ({"image_url": "ftp://example.org/a.jpg"}, "http"),
    ({"image_url": "http://127.0.0.1:9/a.jpg"}, "private"),
    ({"image_url": "http://169.254.169.254/latest/meta-data"}, "private"),
    ({"image_url": "http://10.0.0.7/a.jpg"}, "private"),
    ({"image_url": "http://example.invalid./a.jpg"}, "resolved"),
    ({"image_url": "https://example.org/a.jpg", "callback_url": "http://192.168.1.1/cb"}, "callback_url"),
    ({"image_url": "http://[64:ff9b::7f00:1]/a.jpg"}, "private"),
    ({"image_url": "http://127.0.0.1:9/a.jpg", "callback_url": "http://[2002:7f00:1::]/cb"}, "callback_url"),
])
def test_refused_at_submission(tmp_path, fields, text):
    app = make_app(tmp_path)
    code, body = create(app.test_client(), **fields)
    app.extensions["idphoto_tasks"].stop()
    assert code == 400 and body["status"] == 400 and text in body["message"], body


# Loopback, private and link-local IPv4 addresses written as IPv6: NAT64 (RFC 6052 well-known prefix and
# RFC 8215 local-use prefix), 6to4, IPv4-mapped, IPv4-compatible, IPv4-translated.
EMBEDDED_PRIVATE = [
    "64:ff9b::7f00:1", "64:ff9b::127.0.0.1", "64:ff9b::a00:7", "64:ff9b::a9fe:a9fe", "64:ff9b::c0a8:101",
    "64:ff9b:1::7f00:1", "64:ff9b:1:ffff::808:808", "64:ff9b:1::",
    "2002:7f00:1::", "2002:7f00:1:0:1::1", "2002:a00:7::1", "2002:c0a8:101::", "2002:a9fe:a9fe::",
    "::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:10.0.0.7", "::ffff:169.254.169.254",
    "::127.0.0.1", "::10.0.0.7", "::ffff:0:127.0.0.1", "::ffff:0:a00:7",
]


@pytest.mark.parametrize("address", EMBEDDED_PRIVATE)
def test_an_ipv4_private_address_inside_ipv6_is_refused(address):
    with pytest.raises(URLRefused, match="private"):
        check_url(f"http://[{address}]/a.jpg", Policy())


@pytest.mark.parametrize("address", ["64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8", "2606:4700::1111"])
def test_a_public_address_inside_ipv6_passes(address):
    check_url(f"http://[{address}]/a.jpg", Policy())  # resolving a literal sends nothing


def test_a_nat64_loopback_selfie_url_is_refused(tmp_path):
    from checker.web import create_app

    app = create_app({"TESTING": True, "KEYS_DB": str(tmp_path / "k.sqlite3"), "TASKS_DIR": str(tmp_path / "t")})
    resp = app.test_client().post(MASK, data={"selfie_url": "http://[64:ff9b::7f00:1]/a.jpg"},
                                  content_type="multipart/form-data")
    assert resp.status_code == 400 and resp.get_json()["status"] == "DOWNLOAD_ERROR"
    assert "private" in resp.get_json()["reason"]


def test_private_selfie_urls_are_refused_by_default(tmp_path, receiver):
    from checker.web import create_app

    app = create_app({"TESTING": True, "KEYS_DB": str(tmp_path / "k.sqlite3"), "TASKS_DIR": str(tmp_path / "t")})
    resp = app.test_client().post(MASK, data={"selfie_url": receiver + "/photo"}, content_type="multipart/form-data")
    assert resp.status_code == 400 and resp.get_json()["status"] == "DOWNLOAD_ERROR"
    assert "private" in resp.get_json()["reason"] and Receiver.seen == []


def test_the_address_connected_to_is_the_address_checked(monkeypatch, receiver):
    """A name that resolves to a public address when checked and to loopback when connecting (DNS
    rebinding) is refused at the connection: the checked answer is the one used."""
    port = int(receiver.rsplit(":", 1)[1])
    real = socket.getaddrinfo
    calls = []

    def rebinding(host, *args, **kwargs):
        if host != "rebind.test":
            return real(host, *args, **kwargs)
        calls.append(host)
        address = "93.184.216.34" if len(calls) == 1 else "127.0.0.1"  # the first answer is public
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    with pytest.raises(URLRefused, match="private"):
        download(f"http://rebind.test:{port}/photo", Policy(timeout=2))
    assert len(calls) >= 2 and Receiver.seen == []


# --- item 5: a total deadline on downloads --------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["body", "headers", "tls"])
def test_a_dripping_source_is_cut_at_the_total_deadline(dripper, mode):
    drip = dripper(mode)  # a byte every 0.2 s for 8 s: no read waits longer than its timeout
    scheme = "https" if mode == "tls" else "http"
    start = time.monotonic()
    with pytest.raises(FetchTimedOut, match="1 s"):
        download(f"{scheme}://127.0.0.1:{drip.port}/photo.jpg", Policy(allow_private=True, timeout=1.0))
    took = time.monotonic() - start
    assert 0.9 <= took < 1.8, took
    time.sleep(0.5)
    assert drip.closed_at and drip.closed_at[0] - start < 2.0  # the connection is dropped, not left open


def test_a_body_shorter_than_its_length_is_a_failed_download(dripper):
    drip = dripper("short")
    with pytest.raises(FetchFailed, match="short of its Content-Length"):
        download(f"http://127.0.0.1:{drip.port}/p.jpg", Policy(allow_private=True, timeout=2))


def test_a_dripping_callback_receiver_is_cut_at_the_deadline(dripper):
    drip = dripper("body")
    start = time.monotonic()
    with pytest.raises(FetchTimedOut):
        post_json(f"http://127.0.0.1:{drip.port}/cb", b'{"status": 200}', Policy(allow_private=True, timeout=1.0))
    assert time.monotonic() - start < 1.8


def test_a_sync_task_on_a_dripping_image_url_ends_at_the_deadline(tmp_path, dripper):
    drip = dripper("body")
    app = make_app(tmp_path, ALLOW_PRIVATE_URLS=True, URL_TIMEOUT=1)
    start = time.monotonic()
    code, body = create(app.test_client(), sync="1", image_url=f"http://127.0.0.1:{drip.port}/p.jpg")
    took = time.monotonic() - start
    app.extensions["idphoto_tasks"].stop()
    assert code == 200 and body["data"]["state"] == st.DOWNLOAD_FAILED and "within 1 s" in body["message"], body
    assert took < 3.0, took


def test_a_dripping_selfie_url_is_download_timeout_at_the_deadline(mask_app, dripper):
    drip = dripper("headers")
    start = time.monotonic()
    resp = mask_app.test_client().post(MASK, data={"selfie_url": f"http://127.0.0.1:{drip.port}/s.jpg"},
                                       content_type="multipart/form-data")
    assert resp.status_code == 400 and resp.get_json()["status"] == "DOWNLOAD_TIMEOUT", resp.get_json()
    assert time.monotonic() - start < 2.5


# --- item 7: callbacks in the durable store ----------------------------------------------------------------------
def callback_config(**extra):
    return config_from({"ALLOW_PRIVATE_URLS": True, "URL_TIMEOUT": 3, "CALLBACK_DELAYS": (0.0, 3.0)} | extra)


def ending_task(svc: TaskService, callback_url: str) -> str:
    """A task whose image cannot be downloaded (nothing listens on port 9): it fails at once, and its
    end calls back as any task's does."""
    task_id = svc.store.create({}, image_id=None, image_url="http://127.0.0.1:9/none.jpg",
                               callback_url=callback_url, base_url="http://localhost/")
    svc.submit(task_id)
    return task_id


def wait_for(what, timeout: float, step: float = 0.05):
    end = time.monotonic() + timeout
    while True:
        got = what()
        if got or time.monotonic() > end:
            return got
        time.sleep(step)


_CHILD = """
import sys, time
from checker.tasks.service import TaskService
from checker.tasks.settings import config_from
from checker.tasks.store import TaskStore
root, url = sys.argv[1:]
svc = TaskService(TaskStore(root), config_from({"ALLOW_PRIVATE_URLS": True, "URL_TIMEOUT": 3,
                                                "CALLBACK_DELAYS": [0, 3]}), workers=1)
svc.start()
task_id = svc.store.create({}, image_id=None, image_url="http://127.0.0.1:9/none.jpg", callback_url=url,
                           base_url="http://localhost/")
svc.submit(task_id)
print(task_id, flush=True)
time.sleep(120)
"""


def test_a_callback_waiting_for_a_retry_survives_kill_9_and_is_sent_once(tmp_path, receiver):
    root = tmp_path / "tasks"
    Receiver.fail_first = 1  # the first attempt fails: a retry is due 3 s later
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(root), f"{receiver}/fail"], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        task_id = child.stdout.readline().strip()
        assert wait_for(lambda: posts(), 20), "the first attempt never came"
        time.sleep(0.3)  # the failure is recorded; the retry waits in the process about to die
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait(10)
    assert len(posts()) == 1
    store = st.TaskStore(root)  # the service starts again over the same folder
    svc = TaskService(store, callback_config(), workers=1)
    svc.start()
    try:
        assert wait_for(lambda: len(posts()) == 2, 15), "the pending callback was lost with the process"
        delivered = posts()[-1][3]
        assert delivered["data"]["task_id"] == task_id and delivered["data"]["state"] == st.DOWNLOAD_FAILED
        assert wait_for(lambda: store.get(task_id)["callback_status"] == "delivered (attempt 2)", 5), \
            store.get(task_id)
    finally:
        svc.stop()
    again = TaskService(st.TaskStore(root), callback_config(), workers=1)  # and once more: nothing is re-sent
    again.start()
    time.sleep(2.5)
    again.stop()
    assert len(posts()) == 2


def test_services_sharing_a_folder_send_each_callback_once(tmp_path, receiver):
    one = TaskService(st.TaskStore(tmp_path / "tasks"), callback_config(), workers=2)
    two = TaskService(st.TaskStore(tmp_path / "tasks"), callback_config(), workers=2)
    one.start()
    two.start()
    try:
        ids = [ending_task(one if i % 2 else two, f"{receiver}/ok/{i}") for i in range(20)]
        assert wait_for(lambda: len(posts()) >= 20, 20)
        time.sleep(2.5)  # both dispatchers look again: nothing more goes out
        sent = [p[3]["data"]["task_id"] for p in posts()]
        assert sorted(sent) == sorted(ids)
    finally:
        one.stop()
        two.stop()


def test_hanging_receivers_do_not_delay_a_healthy_one(tmp_path, receiver):
    svc = TaskService(st.TaskStore(tmp_path / "tasks"), callback_config(CALLBACK_DELAYS=(0.0, 60.0)), workers=1)
    svc.start()
    try:
        hanging = [ending_task(svc, f"{receiver}/hang/{i}") for i in range(8)]
        assert wait_for(lambda: len(posts("/hang")) == 8, 10), "the eight callbacks did not all go out"
        first_hang = posts("/hang")[0][0]
        healthy = ending_task(svc, f"{receiver}/ok")
        assert wait_for(lambda: posts("/ok"), 10), "the healthy receiver was never called"
        # It was called while all eight were still hanging, before the first of them reached its deadline.
        assert posts("/ok")[0][0] < first_hang + 3.0
        assert wait_for(lambda: svc.store.get(healthy)["callback_status"] == "delivered (attempt 1)", 2)
        # Each hanging attempt ends at its own 3 s deadline and waits for its retry.
        rows = wait_for(lambda: all((svc.store.callback(t) or {}).get("last_error") for t in hanging)
                        and [svc.store.callback(t) for t in hanging], first_hang + 5.0 - time.monotonic())
        assert rows, [svc.store.callback(t) for t in hanging]
        assert time.monotonic() < first_hang + 5.5
        assert all(r["attempts"] == 1 and r["state"] == "pending" and "3 s" in r["last_error"] for r in rows), rows
    finally:
        svc.stop()


# --- an image downloaded for a key's task is that key's -----------------------------------------------------------
def test_an_image_url_download_is_kept_for_its_key_alone(tmp_path, face_bytes):
    from .conftest import new_key
    from .test_tasks import Files

    Files.photo, Files.posts, Files.fail_first = face_bytes("hivision_idphoto_2.jpg"), [], 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    app = make_app(tmp_path, ALLOW_PRIVATE_URLS=True)
    try:
        a, b = new_key(app, name="a"), new_key(app, name="b")
        client = app.test_client()
        made = client.post("/api/tasks/visual/external/idphoto", headers={"X-API-KEY": a},
                           data={"sync": "1", "image_url": f"http://127.0.0.1:{httpd.server_address[1]}/photo"})
        data = made.get_json()["data"]
        assert data["state"] == st.DONE, made.get_json()
        again = client.post("/api/tasks/visual/external/idphoto", headers={"X-API-KEY": b},
                            data={"last_id": data["image_id"]})
        assert again.status_code == 400 and "last_id names no image" in again.get_json()["message"]
        mine = client.post("/api/tasks/visual/external/idphoto", headers={"X-API-KEY": a},
                           data={"last_id": data["image_id"]})
        assert mine.status_code == 200, mine.get_json()
    finally:
        app.extensions["idphoto_tasks"].stop()
        httpd.shutdown()
