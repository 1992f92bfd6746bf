"""Seed 002's async tasks through the Flask test client with the in-process thread pool: every
state, progress, last_id, callbacks (a real receiver on loopback), expiry, 50 at once, recovery; each
on both store backends (``backend``: SQLite files and the shared Redis store, tests/redisd.py)."""

from __future__ import annotations

import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from checker.errors import StorageUnavailable
from checker.imaging import load_photo
from checker.keys import split_key
from checker.tasks import store as st
from checker.tasks.service import TaskService
from checker.tasks.settings import config_from
from checker.tasks.work import BILLING, TaskConfig, execute, refund_failed
from checker.web import create_app

pytest_plugins = ["tests.redisd"]  # the backend fixture: SQLite and Redis

URL = "/api/tasks/visual/external/idphoto"


def make_app(tmp_path: Path, backend=None, **config):
    base = {"TESTING": True, "TASKS_DIR": str(tmp_path / "tasks"), "KEYS_DB": str(tmp_path / "keys.sqlite3"),
            "TASK_WORKERS": 2,
            "CALLBACK_DELAYS": (0.0, 0.2, 0.4)}
    return create_app(base | (backend.config if backend else {}) | config)


@pytest.fixture
def app(tmp_path, backend):
    app = make_app(tmp_path, backend)
    yield app
    svc = app.extensions.get("idphoto_tasks")
    if svc:
        svc.stop()


@pytest.fixture
def client(app):
    return app.test_client()


def upload(data: bytes, **fields) -> dict:
    return {"image_file": (io.BytesIO(data), "photo.jpg"), **fields}


def create(client, **fields):
    resp = client.post(URL, data=fields, content_type="multipart/form-data")
    return resp.status_code, resp.get_json()


def poll(client, task_id: str, timeout: float = 30.0) -> tuple[dict, list[tuple[int, int]]]:
    seen = []
    end = time.time() + timeout
    while True:
        body = client.get(f"{URL}/{task_id}").get_json()
        data = body["data"]
        seen.append((data["state"], data["progress"]))
        if data["state"] == 1 or data["state"] < 0 or time.time() > end:
            return body, seen
        time.sleep(0.02)


def fetch_result(client, url: str) -> bytes:
    resp = client.get(url.split("localhost", 1)[1])
    assert resp.status_code == 200, resp.get_json()
    return resp.data


class Files(BaseHTTPRequestHandler):
    """A loopback web server: /photo serves an image, /big 16 MB, /missing 404; POSTs are recorded."""

    photo = b""
    posts: list[dict] = []
    fail_first = 0

    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path == "/photo":
            body = self.photo
        elif self.path == "/big":
            body = b"\xff\xd8\xff" + b"\x00" * (16 * 1024 * 1024)
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Files.posts.append(json.loads(body))
        if Files.fail_first > 0:
            Files.fail_first -= 1
            self.send_error(500)
            return
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def web(face_bytes):
    Files.photo = face_bytes("hivision_idphoto_2.jpg")
    Files.posts = []
    Files.fail_first = 0
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


# --- the happy paths ------------------------------------------------------------------------------
def test_sync_task_returns_the_finished_photo_of_the_default_size(client, face_bytes):
    code, body = create(client, sync="1", **upload(face_bytes("hivision_idphoto_2.jpg")))
    assert code == 200 and body["status"] == 200
    data = body["data"]
    assert data["state"] == 1 and data["progress"] == 100 and data["return_type"] == 1
    assert data["created_at"] <= data["processed_at"] <= data["completed_at"] and data["time_elapsed"] >= 0
    photo = load_photo(fetch_result(client, data["image"]))
    assert (photo.width, photo.height) == (295, 413)  # seed 002's default size
    assert data["report"]["passed"] is True


def test_async_task_moves_through_its_stages(client, face_bytes, monkeypatch):
    # Slow every stage a little so that polling sees it move.
    from checker.tasks import work

    original = work.execute

    def slow(store, task_id, config, worker, notify=None):
        from dataclasses import replace

        original(store, task_id, replace(config, stage_delay=0.05), worker, notify)

    monkeypatch.setattr("checker.tasks.service.execute", slow)
    code, body = create(client, px_width="413", px_height="531", spec_id="schengen-visa",
                        **upload(face_bytes("hivision_idphoto_2.jpg")))
    assert code == 200 and body == {"status": 200, "message": "ok", "data": {"task_id": body["data"]["task_id"]}}
    final, seen = poll(client, body["data"]["task_id"])
    progress = [p for _, p in seen]
    assert progress == sorted(progress) and progress[-1] == 100
    states = {s for s, _ in seen}
    assert {st.PROCESSING, st.DONE} <= states and len(set(progress)) >= 4
    photo = load_photo(fetch_result(client, final["data"]["image"]))
    assert (photo.width, photo.height) == (413, 531)


def test_last_id_reuses_the_input(client, face_bytes):
    _, first = create(client, sync="1", **upload(face_bytes("hivision_idphoto_2.jpg")))
    image_id = first["data"]["image_id"]
    code, second = create(client, sync="1", last_id=image_id, bg_color="438EDB")
    assert code == 200 and second["data"]["state"] == 1 and second["data"]["image_id"] == image_id
    photo = load_photo(fetch_result(client, second["data"]["image"]))
    assert abs(int(photo.rgb[3, 3, 2]) - 0xDB) <= 4  # the new background on the same person
    code, bad = create(client, last_id="00000000-0000-0000-0000-000000000000")
    assert code == 400 and bad["status"] == 400


def test_layout_and_a_window_of_bytes(client, face_bytes):
    _, body = create(client, sync="1", layout="1", layout_size="6inch", min_file_size="20480",
                     max_file_size="40960", **upload(face_bytes("hivision_idphoto_2.jpg")))
    data = body["data"]
    assert 20480 <= len(fetch_result(client, data["image"])) <= 40960
    sheet = load_photo(fetch_result(client, data["layout_image"]))
    assert sorted((sheet.width, sheet.height)) == [1200, 1800]


def test_unknown_task_is_a_404_in_the_envelope(client):
    resp = client.get(f"{URL}/no-such-task")
    assert resp.status_code == 404 and resp.get_json()["status"] == 404


# --- refusals at submission -------------------------------------------------------------------------
# Refusals of the addresses themselves (private, unresolvable, bad ports) are in tests/test_outbound.py,
# run inside a network namespace with no route out.
@pytest.mark.parametrize(("fields", "text"), [
    ({"image_url": "https://example.org/a.jpg", "clothes_id": "no_such_garment"}, "clothes_id"),
    ({"image_url": "https://example.org/a.jpg", "layout": "1", "layout_size": "7inch"}, "layout_size"),
    ({"image_url": "https://example.org/a.jpg", "colour": "red"}, "unsupported parameter"),
    ({"image_url": "https://example.org/a.jpg", "spec_id": "9999"}, "UNKNOWN_SPEC"),
    ({}, "image_file, image_url or last_id"),
])
def test_refused_at_submission(client, fields, text):
    code, body = create(client, **fields)
    assert code == 400 and body["status"] == 400 and text in body["message"], body


# --- failure states ------------------------------------------------------------------------------------
def test_invalid_image_is_state_minus_7(client):
    _, body = create(client, sync="1", **upload(b"this is not an image at all"))
    assert body["data"]["state"] == st.INVALID_IMAGE and "CORRUPT_IMAGE" in body["message"]


def test_no_face_is_state_minus_1(client, face_bytes):
    _, body = create(client, sync="1", **upload(face_bytes("dogs_no_face.jpg")))
    assert body["data"]["state"] == st.FAILED and "NO_FACE_DETECTED" in body["message"]


def test_download_states(tmp_path, web, backend):
    app = make_app(tmp_path, backend, ALLOW_PRIVATE_URLS=True)
    client = app.test_client()
    _, ok = create(client, sync="1", image_url=f"{web}/photo")
    assert ok["data"]["state"] == st.DONE
    _, missing = create(client, sync="1", image_url=f"{web}/missing")
    assert missing["data"]["state"] == st.DOWNLOAD_FAILED and "404" in missing["message"]
    _, big = create(client, sync="1", image_url=f"{web}/big")
    assert big["data"]["state"] == st.TOO_LARGE
    _, closed = create(client, sync="1", image_url="http://127.0.0.1:9/none")
    assert closed["data"]["state"] == st.DOWNLOAD_FAILED
    app.extensions["idphoto_tasks"].stop()


def test_timeout_is_state_minus_8(tmp_path, face_bytes, backend):
    app = make_app(tmp_path, backend, TASK_TIMEOUT=0.05, TASK_STAGE_DELAY=0.03)
    _, body = create(app.test_client(), sync="1", **upload(face_bytes("hivision_idphoto_2.jpg")))
    assert body["data"]["state"] == st.TIMED_OUT
    app.extensions["idphoto_tasks"].stop()


def test_a_result_that_cannot_be_stored_is_state_minus_2(app, client, face_bytes, monkeypatch):
    from checker.web.tasks_api import service

    def broken(self, data, ext):
        raise OSError("disk full")

    with app.app_context():
        monkeypatch.setattr(type(service().store), "save_result", broken)
    _, body = create(client, sync="1", **upload(face_bytes("hivision_idphoto_2.jpg")))
    assert body["data"]["state"] == st.UPLOAD_FAILED and "disk full" in body["message"]


# --- callbacks, expiry, load -------------------------------------------------------------------------------
def test_callback_receives_the_polling_body_with_retries(tmp_path, web, face_bytes, backend):
    app = make_app(tmp_path, backend, ALLOW_PRIVATE_URLS=True)
    client = app.test_client()
    Files.fail_first = 1  # the receiver errs once: the service must try again
    _, body = create(client, callback_url=f"{web}/callback", **upload(face_bytes("hivision_idphoto_2.jpg")))
    task_id = body["data"]["task_id"]
    end = time.time() + 20
    while len(Files.posts) < 2 and time.time() < end:
        time.sleep(0.05)
    assert len(Files.posts) == 2 and Files.posts[-1]["data"]["task_id"] == task_id
    assert Files.posts[-1]["status"] == 200 and Files.posts[-1]["data"]["state"] == st.DONE
    svc = app.extensions["idphoto_tasks"]
    # The delivery is recorded once the receiver has answered: just after its second POST arrived.
    while svc.store.get(task_id)["callback_status"] != "delivered (attempt 2)" and time.time() < end:
        time.sleep(0.05)
    assert svc.store.get(task_id)["callback_status"] == "delivered (attempt 2)"
    svc.stop()


def test_results_expire(tmp_path, face_bytes, backend):
    app = make_app(tmp_path, backend, TASK_TTL=0.5)
    client = app.test_client()
    _, body = create(client, sync="1", **upload(face_bytes("hivision_idphoto_2.jpg")))
    url = body["data"]["image"]
    assert client.get(url.split("localhost", 1)[1]).status_code == 200
    time.sleep(0.7)
    assert client.get(url.split("localhost", 1)[1]).status_code == 404
    later = client.get(f"{URL}/{body['data']['task_id']}").get_json()
    assert later["data"]["image"] is None and "expired" in later["message"]
    svc = app.extensions["idphoto_tasks"]
    name = url.rsplit("/", 1)[1]
    if backend.redis:  # Redis expired them itself: nothing is left to sweep
        assert svc.store.sweep() == 0 and svc.store.read_result(name) is None
        assert not svc.store.input_exists(body["data"]["image_id"])
    else:
        assert svc.store.sweep() >= 2  # the result and the kept input are deleted
        assert not list((tmp_path / "tasks" / "results").glob("*.jpg"))
    svc.stop()


def test_fifty_tasks_at_once_all_finish(client, face_bytes, backend):
    # On Redis 12: the point there is the store under concurrent creation and claims, and each task is
    # a full fix (about half a second of this 2-core machine).
    count = 12 if backend.redis else 50
    data = face_bytes("hivision_idphoto_2.jpg")
    ids = []
    threads = []

    def submit():
        code, body = create(client, **upload(data))
        assert code == 200
        ids.append(body["data"]["task_id"])

    for _ in range(count):
        threads.append(threading.Thread(target=submit))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(ids)) == count
    states = [poll(client, task_id, timeout=120)[0]["data"]["state"] for task_id in ids]
    assert states == [st.DONE] * count


# --- persistence and recovery ------------------------------------------------------------------------------
def test_a_task_whose_worker_died_is_resumed_then_failed_after_two_attempts(tmp_path, face_bytes, backend):
    store = backend.tasks(tmp_path / "tasks")
    image_id = store.save_input(face_bytes("hivision_idphoto_2.jpg"))
    task_id = store.create({}, image_id=image_id, image_url=None, callback_url=None, base_url="http://x/")
    assert store.claim(task_id, "dead-worker", lease=0.01)  # a worker took it, then vanished
    assert not store.claim(task_id, "other", lease=30)  # at most once at a time
    time.sleep(0.05)
    config = config_from({"TASK_LEASE": 5})
    svc = TaskService(store, config, workers=1)
    svc.start()  # recovery: queued again and run
    done = svc.wait(task_id, 30)
    assert done["state"] == st.DONE and done["attempts"] == 2
    svc.stop()
    # A second task dies twice: failed with a message, not retried forever.
    task2 = store.create({}, image_id=image_id, image_url=None, callback_url=None, base_url="http://x/")
    for _ in range(2):
        assert store.claim(task2, "dead", lease=0.01)
        time.sleep(0.05)
        again, failed_ids = store.recover()
    assert again == [] and failed_ids == [task2]
    failed = store.get(task2)
    assert failed["state"] == st.FAILED and "stopped" in failed["message"]


def test_a_live_worker_keeps_its_task_through_stages_longer_than_the_lease(tmp_path, face_bytes, backend):
    # Each stage sleeps 0.3 s, the lease is 0.2 s, and a sweeper looks for orphans all the time: the
    # worker's heartbeat keeps the lease, so the task runs once and ends done (not taken over).
    store = backend.tasks(tmp_path / "tasks")
    image_id = store.save_input(face_bytes("hivision_idphoto_2.jpg"))
    task_id = store.create({}, image_id=image_id, image_url=None, callback_url=None, base_url="http://x/")
    runner = threading.Thread(target=execute, args=(store, task_id, TaskConfig(lease=0.2, stage_delay=0.3), "w1"))
    runner.start()
    taken_over = []
    while runner.is_alive():
        again, failed = store.recover()
        taken_over += again + failed
        time.sleep(0.02)
    done = store.get(task_id)
    assert taken_over == [] and done["state"] == st.DONE and done["attempts"] == 1, (taken_over, done)


def test_a_task_failed_by_recovery_is_refunded_once(tmp_path, face_bytes, backend):
    """Its worker died twice: recovery ends it, so recovery gives the credits back (and only once)."""
    keys = backend.keys(tmp_path / "keys.sqlite3")
    key = keys.get(split_key(keys.create("k", credits=10))[0])
    keys.spend(key, 6)
    store = backend.tasks(tmp_path / "tasks")
    image_id = store.save_input(face_bytes("hivision_idphoto_2.jpg"))
    task_id = store.create({BILLING: {"key": key.id, "cost": 6}}, image_id=image_id, image_url=None,
                           callback_url=None, base_url="http://x/")
    assert store.claim(task_id, "dead", lease=0.01)
    time.sleep(0.05)
    store.recover()  # first death: queued again
    assert store.claim(task_id, "dead", lease=0.01)
    time.sleep(0.05)  # second death: the service's recovery at start fails it
    svc = TaskService(store, config_from({"KEYS_DB": str(tmp_path / "keys.sqlite3"), **backend.config}), workers=1)
    svc.start()
    svc.stop()
    assert store.get(task_id)["state"] == st.FAILED
    assert keys.get(key.id).remaining == 10
    refund_failed(store, task_id, svc.config, ended_by="dead")  # not the one who ended it: nothing
    refund_failed(store, task_id, svc.config, ended_by="other")
    refund_failed(store, task_id, svc.config, ended_by=None)  # recovery again (another node): still once
    store.recover()
    assert keys.get(key.id).remaining == 10


def test_an_accepted_task_is_on_disk_before_the_answer(tmp_path, face_bytes, monkeypatch, backend):
    app = make_app(tmp_path, backend)
    monkeypatch.setattr(TaskService, "submit", lambda self, task_id: None)  # nothing runs it
    _, body = create(app.test_client(), **upload(face_bytes("hivision_idphoto_2.jpg")))
    fresh = backend.tasks(tmp_path / "tasks")  # another process's view of the folder (or of Redis)
    task = fresh.get(body["data"]["task_id"])
    assert task["state"] == st.QUEUED and fresh.input_exists(task["image_id"])
    app.extensions["idphoto_tasks"].stop()


def test_a_task_whose_claim_failed_on_a_storage_fault_is_run_by_the_sweeper(tmp_path, face_bytes, monkeypatch,
                                                                             backend):
    """A queued task whose run died before claiming it (the store read-only for a moment, Redis away) is
    not left queued until a restart: the sweeper submits it again once the store works."""
    import sqlite3

    from checker.tasks import service as service_module

    monkeypatch.setattr(service_module, "SWEEP_EVERY", 0.2)
    store = backend.tasks(tmp_path / "tasks")
    image_id = store.save_input(face_bytes("hivision_idphoto_2.jpg"))
    svc = TaskService(store, config_from({}), workers=1)
    svc.start()
    real_claim, failures = store.claim, []

    def claim_once_read_only(*args, **kwargs):
        if not failures:
            failures.append(1)
            if backend.redis:
                raise StorageUnavailable("the shared store cannot be reached (ConnectionError)")
            raise sqlite3.OperationalError("attempt to write a readonly database")
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(store, "claim", claim_once_read_only)
    task_id = store.create({}, image_id=image_id, image_url=None, callback_url=None, base_url="http://x/")
    svc.submit(task_id)
    done = svc.wait(task_id, 60)
    svc.stop()
    assert failures == [1] and done["state"] == st.DONE


@pytest.mark.parametrize(("raw", "delays"), [("[0, 1.5, 3]", (0.0, 1.5, 3.0)), ("0,2", (0.0, 2.0)),
                                             ([1, 2], (1.0, 2.0))])
def test_callback_delays_from_the_environment_a_celery_worker_reads(monkeypatch, raw, delays):
    from checker.tasks.settings import config_from_env

    if isinstance(raw, str):
        monkeypatch.setenv("CHECKER_CALLBACK_DELAYS", raw)
        assert config_from_env().callback_delays == delays
    assert config_from({"CALLBACK_DELAYS": raw}).callback_delays == delays
    with pytest.raises(ValueError, match="CALLBACK_DELAYS"):
        config_from({"CALLBACK_DELAYS": "soon"})


def test_a_queued_task_is_sent_to_celery_again_once_per_interval(tmp_path, monkeypatch, backend):
    """Celery mode: a task still queued after CHECKER_TASK_RESUBMIT_AFTER (its message lost) is sent again;
    on the shared store by one of the servers looking, not by each (one machine: each paces its own)."""
    from checker.tasks import celery_app

    sent: list[tuple[str, int]] = []
    store = backend.tasks(tmp_path / "tasks")
    config = config_from({"TASK_RESUBMIT_AFTER": 0.2, **backend.config})
    services = [TaskService(store, config, mode="celery") for _ in range(3)]  # three API server processes
    for n, svc in enumerate(services):
        monkeypatch.setattr(svc, "submit", lambda task_id, n=n, svc=svc: (sent.append((task_id, n)),
                                                                          TaskService.submit(svc, task_id)))
    monkeypatch.setattr(celery_app, "send", lambda task_id, broker: None)
    task_id = store.create({}, image_id=None, image_url="x", callback_url=None, base_url="")
    for svc in services:
        svc._resubmit_stranded()  # each sees it queued for the first time
    assert sent == []
    time.sleep(0.25)
    for svc in services:
        svc._resubmit_stranded()
    assert [t for t, _ in sent] == [task_id] * (1 if backend.redis else 3)
    assert store.claim(task_id, "w", 30)
    sent.clear()
    time.sleep(0.25)
    for svc in services:
        svc._resubmit_stranded()
    assert sent == []  # claimed: nothing more to send
