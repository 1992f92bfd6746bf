"""Storage faults (issue 12 items 8 and 10, issue 17): a read-only or full instance folder, or a
shared Redis store that went away, answers a clear 503 STORAGE_UNAVAILABLE / 507 STORAGE_FULL with
Retry-After in each family's envelope (never a 500 or a hang), the free check keeps working, the
service recovers by itself once the folder is writable (Redis is back) again, and a refused request
stores nothing.

How the faults are made: these tests may run as root, for whom ``chmod a-w`` stops nothing. So a
read-only folder is ``chmod`` for other users and ``chattr +i`` (immutable: even root's writes fail,
through files already open too) for root; a full disk is a real tmpfs of a few MB mounted for the test
(root only). Where neither can be made the test is skipped with the reason, and the simulated faults at
the end (a failing write monkeypatched in) still run everywhere. SQLite's ``-shm`` files are left
alone: SQLite maps them into memory, and writing to a mapping of an immutable file kills the process
with SIGBUS instead of failing a call (a folder made read-only by chmod leaves existing mappings
writable too).
"""

from __future__ import annotations

import errno
import io
import os
import shutil
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from checker.errors import StorageUnavailable, storage_error
from checker.keys import KeyStore, split_key
from checker.sqlite import Database
from checker.web import create_app

from .conftest import encode, new_key

pytest_plugins = ["tests.redisd"]  # redis_server, RedisProcess

TASKS = "/api/tasks/visual/external/idphoto"
MASK = "/identity/mask_selfie_image"


def make_app(folder: Path):
    return create_app({"TESTING": True, "KEYS_DB": str(folder / "keys.sqlite3"), "TASKS_DIR": str(folder / "tasks"),
                       "TASK_WORKERS": 1})


@pytest.fixture
def stop_services() -> Iterator[list]:
    apps: list = []
    yield apps
    for app in apps:
        svc = app.extensions.get("idphoto_tasks")
        if svc:
            svc.stop()


def _all_paths(folder: Path) -> list[Path]:
    return [folder, *sorted(folder.rglob("*"))]


class ReadOnly:
    """Makes a folder read-only and writable again: chmod for other users, chattr +i for root."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.modes: dict[Path, int] = {}
        self.root = os.geteuid() == 0
        if self.root and shutil.which("chattr") is None:
            pytest.skip("running as root (chmod stops nothing) and chattr is not installed")

    def _targets(self) -> list[Path]:
        return [p for p in _all_paths(self.folder) if not p.name.endswith("-shm") and not p.is_symlink()]

    def on(self) -> None:
        targets = self._targets()
        if self.root:
            done = subprocess.run(["chattr", "+i", *map(str, targets)], capture_output=True, text=True)
            if done.returncode != 0:
                subprocess.run(["chattr", "-i", *map(str, targets)], capture_output=True)
                pytest.skip(f"running as root and chattr +i is refused here: {done.stderr.strip()}")
            self.immutable = targets
            return
        for p in reversed(targets):
            self.modes[p] = p.stat().st_mode
            p.chmod(stat.S_IMODE(self.modes[p]) & ~0o222)

    def off(self) -> None:
        if self.root:
            if getattr(self, "immutable", None):
                subprocess.run(["chattr", "-i", *map(str, self.immutable)], check=True, capture_output=True)
                self.immutable = []
            return
        for p, mode in self.modes.items():
            p.chmod(stat.S_IMODE(mode))
        self.modes.clear()


@pytest.fixture
def read_only(tmp_path) -> Iterator[ReadOnly]:
    folder = tmp_path / "instance"
    folder.mkdir()
    ro = ReadOnly(folder)
    yield ro
    ro.off()


class SmallDisk:
    """A tmpfs of a few MB as the instance folder; ``fill()`` uses up its space, ``free()`` gives it back."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.filler = folder / "filler"

    def fill(self) -> None:
        chunk = b"\0" * 65536
        with open(self.filler, "wb", buffering=0) as fh:
            try:
                while True:
                    fh.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
        with open(self.folder / "filler2", "wb", buffering=0) as fh:  # the last partial block too
            try:
                while True:
                    fh.write(b"\0" * 512)
            except OSError:
                pass

    def free(self) -> None:
        self.filler.unlink()
        (self.folder / "filler2").unlink()


@pytest.fixture
def small_disk(tmp_path) -> Iterator[SmallDisk]:
    folder = tmp_path / "disk"
    folder.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a full disk is made with a tmpfs mount, which needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"a tmpfs cannot be mounted here: {done.stderr.strip()}")
    try:
        yield SmallDisk(folder)
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def tiny_png() -> bytes:
    import numpy as np

    return encode(np.full((40, 30, 3), 128, "uint8"))


def create_task(client, key: str, data: bytes):
    return client.post(TASKS, headers={"X-API-KEY": key}, content_type="multipart/form-data",
                       data={"image_file": (io.BytesIO(data), "p.png")})


def mask(client, key: str, data: bytes):
    key_id, secret = split_key(key)
    return client.post(MASK, content_type="multipart/form-data",
                       data={"selfie_file": (io.BytesIO(data), "s.jpg"), "api_id": key_id, "api_secret": secret,
                             "mask_eye": "true"})


def check(client, key: str, data: bytes):
    return client.post("/api/check_pic", headers={"APIKEY": key}, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), "p.jpg"), "spec_id": "1102"})


def stored_inputs(folder: Path) -> list[str]:
    inputs = folder / "tasks" / "inputs"
    return sorted(p.name for p in inputs.iterdir()) if inputs.is_dir() else []


def assert_storage_answer(resp, status: str, http: int) -> None:
    assert resp.status_code == http, resp.get_data(as_text=True)[:300]
    assert resp.headers.get("Retry-After", "").isdigit()
    assert "internal error" not in resp.get_data(as_text=True)


# --- item 8: a read-only instance folder ---------------------------------------------------------------
def test_a_read_only_instance_folder_is_a_503_and_recovers_without_restart(read_only, face_bytes, stop_services):
    folder = read_only.folder
    app = make_app(folder)
    stop_services.append(app)
    key = new_key(app, credits=100, rate_per_second=50)
    client = app.test_client()
    photo = face_bytes("hivision_test3.jpg")
    assert create_task(client, key, tiny_png()).status_code == 200  # the stores and their files exist
    assert mask(client, key, photo).status_code == 200
    # One server thread for the rest, as a threaded server keeps its threads: its database connections
    # are opened while the folder is read-only, and must not stay read-only afterwards.
    server = ThreadPoolExecutor(1)
    try:
        read_only.on()
        resp = server.submit(create_task, client, key, tiny_png()).result()
        assert_storage_answer(resp, "STORAGE_UNAVAILABLE", 503)
        assert resp.get_json()["status"] == 503 and resp.get_json()["message"].startswith("STORAGE_UNAVAILABLE:")
        resp = server.submit(mask, client, key, photo).result()
        assert_storage_answer(resp, "STORAGE_UNAVAILABLE", 503)
        assert resp.get_json()["status"] == "STORAGE_UNAVAILABLE" and resp.get_json()["request_id"]
        resp = server.submit(check, client, key, photo).result()
        assert resp.status_code == 200, resp.get_json()  # the free check needs no write
        read_only.off()
        resp = server.submit(create_task, client, key, tiny_png()).result()
        assert resp.status_code == 200, resp.get_json()
        resp = server.submit(mask, client, key, photo).result()
        assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    finally:
        read_only.off()
        server.shutdown()


# --- items 8 and 10: a full disk -----------------------------------------------------------------------
def test_a_full_disk_is_a_507_the_free_check_still_works_and_it_recovers(small_disk, face_bytes, stop_services):
    folder = small_disk.folder
    app = make_app(folder)
    stop_services.append(app)
    key = new_key(app, credits=100, rate_per_second=50)
    client = app.test_client()
    photo = face_bytes("hivision_test3.jpg")
    assert create_task(client, key, tiny_png()).status_code == 200
    assert mask(client, key, photo).status_code == 200
    before = stored_inputs(folder)
    small_disk.fill()
    try:
        resp = create_task(client, key, tiny_png())
        assert_storage_answer(resp, "STORAGE_FULL", 507)
        assert resp.get_json()["status"] == 507 and resp.get_json()["message"].startswith("STORAGE_FULL:")
        resp = mask(client, key, photo)
        assert_storage_answer(resp, "STORAGE_FULL", 507)
        assert resp.get_json()["status"] == "STORAGE_FULL"
        resp = check(client, key, photo)
        assert resp.status_code == 200, resp.get_json()
        assert stored_inputs(folder) == before  # no half-written upload left behind
    finally:
        small_disk.free()
    assert create_task(client, key, tiny_png()).status_code == 200
    assert mask(client, key, photo).status_code == 200


# --- item 10: a refused request stores nothing ---------------------------------------------------------
def test_a_refused_upload_is_not_stored(app, client, face_bytes, tmp_path):
    broke = new_key(app, credits=0)
    checker_only = new_key(app, scopes=["check"])
    photo = face_bytes("hivision_test3.jpg")
    for key in (broke, checker_only):
        resp = create_task(client, key, photo)
        assert resp.status_code == 403, resp.get_json()
        resp = mask(client, key, photo)
        assert resp.status_code == 403, resp.get_json()
    assert stored_inputs(tmp_path) == []
    images = sqlite3.connect(tmp_path / "tasks" / "tasks.sqlite3").execute("SELECT COUNT(*) FROM images")
    assert images.fetchone()[0] == 0


def test_a_refused_selfie_url_is_not_even_downloaded(app, client, tmp_path):
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    hits = []

    class Source(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            body = tiny_png()
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Source)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app.config["ALLOW_PRIVATE_URLS"] = True
    try:
        key_id, secret = split_key(new_key(app, credits=0))
        resp = client.post(MASK, content_type="multipart/form-data", data={
            "selfie_url": f"http://127.0.0.1:{server.server_port}/s.png", "api_id": key_id, "api_secret": secret})
        assert resp.status_code == 403 and resp.get_json()["status"] == "OUT_OF_QUOTA"
    finally:
        server.shutdown()
    assert hits == [] and stored_inputs(tmp_path) == []


# --- the same faults simulated, so that they are covered wherever the tests run ------------------------
def test_a_connection_opened_read_only_is_not_kept(tmp_path):
    """A thread's connection opened while the file was read-only stays read-only for ever (SQLite
    falls back to O_RDONLY): after a write fails on it, the next use opens a fresh one."""
    db = Database(tmp_path / "t.sqlite3", "CREATE TABLE IF NOT EXISTS t (x INTEGER);")
    stale = sqlite3.connect(f"file:{tmp_path / 't.sqlite3'}?mode=ro", uri=True, isolation_level=None,
                            check_same_thread=False)
    db._local.db = stale
    with pytest.raises(sqlite3.OperationalError, match="readonly"), db.transaction() as c:
        c.execute("INSERT INTO t VALUES (1)")
    with db.transaction() as c:
        c.execute("INSERT INTO t VALUES (2)")
    assert [r[0] for r in db.execute("SELECT x FROM t")] == [2]


FAMILIES = {  # a request each family charges for, so that it writes (the credits)
    "tasks": (TASKS, "image_file", {}),
    "mask": (MASK, "selfie_file", {"mask_eye": "true"}),
    "hivision": ("/idphoto", "input_image", {}),
    "check": ("/api/fix", "file", {"spec_id": "1102"}),
    "matting": ("/api/v1/matting2", "file", {}),
}


def _status(family: str, body: dict) -> tuple[str, int | None]:
    if family == "tasks":
        return body["message"].split(":")[0], body["status"]
    if family == "mask":
        return body["status"], None
    if family == "hivision":
        assert body["status"] is False
        return body["error"], None
    if family == "check":
        return body["status"], body["code"]
    return body["msg"].split(":")[0], body["code"]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize(("fault", "status", "http"), [
    (sqlite3.OperationalError("database or disk is full"), "STORAGE_FULL", 507),
    (sqlite3.OperationalError("attempt to write a readonly database"), "STORAGE_UNAVAILABLE", 503),
    (OSError(errno.EROFS, "Read-only file system"), "STORAGE_UNAVAILABLE", 503),
    (OSError(errno.ENOSPC, "No space left on device"), "STORAGE_FULL", 507),
    (StorageUnavailable("the shared store cannot be reached (ConnectionError)"), "STORAGE_UNAVAILABLE", 503),
    (StorageUnavailable("out of memory", status="STORAGE_FULL"), "STORAGE_FULL", 507),
])
def test_storage_faults_answer_in_each_family_envelope(app, client, face_bytes, monkeypatch, family, fault, status,
                                                        http):
    key = new_key(app, credits=100)

    def broken(*args, **kwargs):
        raise fault

    monkeypatch.setattr(KeyStore, "spend", broken)
    path, field, extra = FAMILIES[family]
    resp = client.post(path, headers={"APIKEY": key}, content_type="multipart/form-data", data={
        field: (io.BytesIO(face_bytes("hivision_test3.jpg")), "p.jpg"), **extra})
    assert resp.status_code == http, resp.get_data(as_text=True)[:300]
    got, code = _status(family, resp.get_json())
    assert got == status
    assert code in (None, http, {507: 1507, 503: 1503}[http])
    assert resp.headers["Retry-After"].isdigit()


def test_an_input_that_cannot_be_written_is_a_507_and_leaves_no_file(app, client, monkeypatch, tmp_path):
    key = new_key(app, credits=100)
    real = Path.write_bytes

    def full(self, data):
        real(self, data[: len(data) // 2])  # a partial file, as a full disk leaves it
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_bytes", full)
    resp = create_task(client, key, tiny_png())
    assert resp.status_code == 507 and resp.get_json()["message"].startswith("STORAGE_FULL:")
    assert stored_inputs(tmp_path) == []
    assert KeyStore(app.config["KEYS_DB"]).get(split_key(key)[0]).remaining == 100  # given back


def test_the_free_check_counts_its_rate_in_memory_when_the_key_file_cannot_be_written(tmp_path, monkeypatch):
    store = KeyStore(tmp_path / "keys.sqlite3")
    key = store.get(split_key(store.create(rate_per_second=2))[0])
    now = [1000.2]
    monkeypatch.setattr("checker.keys.time.time", lambda: now[0])
    real = store._sql.transaction

    def full():
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store._sql, "transaction", full)
    store.hit(key)
    store.hit(key)
    with pytest.raises(Exception) as info:
        store.hit(key)
    assert getattr(info.value, "status", None) == "RATE_LIMIT_EXCEEDED" and info.value.retry_after == 1
    now[0] += 1
    store.hit(key)  # a new second
    monkeypatch.setattr(store._sql, "transaction", real)
    store.hit(key)  # the file again once it can be written
    assert store.get(key.id).requests == 1


# --- issue 17: the shared Redis store goes away and comes back -------------------------------------------
def redis_app(folder: Path, url: str):
    return create_app({"TESTING": True, "STORE_URL": url, "STORE_PREFIX": "faults", "TASK_WORKERS": 1,
                       "TASK_LEASE": 2,
                       "KEYS_DB": str(folder / "unused-keys.sqlite3"), "TASKS_DIR": str(folder / "unused-tasks")})


def fix(client, key: str, data: bytes):
    return client.post("/api/fix", headers={"APIKEY": key}, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), "p.jpg"), "spec_id": "1102"})


def test_redis_gone_is_a_503_with_retry_after_the_free_check_still_works_and_it_recovers(tmp_path, face_bytes,
                                                                                          stop_services):
    """Redis killed (kill -9) under a running app: what needs the store answers 503 STORAGE_UNAVAILABLE with
    Retry-After, at once, in its family's envelope; the free check, for a key this server has seen, goes on;
    once Redis is back (its append-only file kept every write) everything works again without a restart,
    and the task accepted before the outage is still there."""
    import time

    from checker.web.auth import key_store

    from .redisd import RedisProcess

    redis = RedisProcess(tmp_path / "redis", durable=True).start()
    try:
        app = redis_app(tmp_path, redis.url)
        stop_services.append(app)
        with app.app_context():
            key = key_store().create("k", credits=100, rate_per_second=50)
        assert not (tmp_path / "unused-keys.sqlite3").exists()  # the keys are on Redis
        client = app.test_client()
        photo = face_bytes("hivision_test3.jpg")
        assert check(client, key, photo).status_code == 200
        accepted = create_task(client, key, tiny_png())
        assert accepted.status_code == 200, accepted.get_json()
        task_id = accepted.get_json()["data"]["task_id"]

        redis.kill()
        started = time.monotonic()
        resp = create_task(client, key, tiny_png())
        assert_storage_answer(resp, "STORAGE_UNAVAILABLE", 503)
        assert resp.get_json()["message"].startswith("STORAGE_UNAVAILABLE:")
        resp = client.get(f"{TASKS}/{task_id}", headers={"X-API-KEY": key})
        assert_storage_answer(resp, "STORAGE_UNAVAILABLE", 503)
        resp = fix(client, key, photo)  # paid: the credits cannot be taken
        assert_storage_answer(resp, "STORAGE_UNAVAILABLE", 503)
        assert resp.get_json()["status"] == "STORAGE_UNAVAILABLE" and resp.get_json()["code"] == 503
        resp = mask(client, key, photo)
        assert_storage_answer(resp, "STORAGE_UNAVAILABLE", 503)
        assert resp.get_json()["status"] == "STORAGE_UNAVAILABLE"
        resp = check(client, "k0000000000aa.never-seen-here", photo)  # a key it cannot look up: 503, not 401
        assert_storage_answer(resp, "STORAGE_UNAVAILABLE", 503)
        assert time.monotonic() - started < 10  # five refusals, none of them waiting for Redis
        resp = check(client, key, photo)  # the free check, for a key read before the outage
        assert resp.status_code == 200, resp.get_json()
        assert client.get("/healthz").status_code == 200

        redis.start()  # the same port, the same append-only file
        resp = create_task(client, key, tiny_png())
        assert resp.status_code == 200, resp.get_json()
        resp = client.get(f"{TASKS}/{task_id}", headers={"X-API-KEY": key})
        assert resp.status_code == 200 and resp.get_json()["data"]["task_id"] == task_id
        assert fix(client, key, photo).status_code == 200
        later = resp.get_json()["data"]["task_id"]
        end = time.monotonic() + 40
        states = {}
        while time.monotonic() < end:  # the task cut off by the outage is recovered and ended too
            states = {t: client.get(f"{TASKS}/{t}", headers={"X-API-KEY": key}).get_json()["data"]["state"]
                      for t in (task_id, later)}
            if all(v not in (0, 2, 3, 4) for v in states.values()):
                break
            time.sleep(0.2)
        assert all(v < 0 for v in states.values()), states  # a 40 x 30 grey square makes no photo
        with app.app_context():  # both tasks refunded, once; the fix paid its 6
            assert key_store().get(split_key(key)[0]).remaining == 94
    finally:
        redis.kill()


def test_a_refused_upload_is_not_stored_on_redis(tmp_path, face_bytes, redis_server, stop_services):
    from checker.store.shared import client as redis_client
    from checker.web.auth import key_store

    app = redis_app(tmp_path, redis_server.url)
    app.config["STORE_PREFIX"] = prefix = f"refused{os.getpid()}"
    stop_services.append(app)
    with app.app_context():
        broke = key_store().create(credits=0)
        checker_only = key_store().create(scopes=["check"])
    client = app.test_client()
    photo = face_bytes("hivision_test3.jpg")
    for key in (broke, checker_only):
        assert create_task(client, key, photo).status_code == 403
        assert mask(client, key, photo).status_code == 403
    assert list(redis_client(redis_server.url).scan_iter(match=f"{prefix}:input:*")) == []


def test_a_full_redis_is_storage_full_and_nothing_half_kept(tmp_path):
    """Redis at its maxmemory with noeviction refuses writes (OOM): STORAGE_FULL (507 through the app), and
    a refused upload leaves nothing; once there is room again, writes work."""
    from checker.store import open_tasks
    from checker.store.shared import client

    from .redisd import RedisProcess

    redis = RedisProcess(tmp_path / "redis").start()
    try:
        store = open_tasks({"STORE_URL": redis.url, "STORE_PREFIX": "full"})
        r = client(redis.url)
        r.config_set("maxmemory-policy", "noeviction")
        r.config_set("maxmemory", max(2_000_000, int(r.info("memory")["used_memory"]) + 500_000))
        kept = []
        with pytest.raises(StorageUnavailable) as info:
            for _ in range(20):
                kept.append(store.save_input(b"\0" * 1_000_000))
        assert info.value.status == "STORAGE_FULL"
        assert sorted(k.decode().rsplit(":", 1)[1] for k in r.scan_iter(match="full:input:*")) == sorted(kept)
        assert all(r.pttl(f"full:input:{k}") > 0 for k in kept)  # each with its expiry: the MULTI is whole
        fault = storage_error(info.value)
        assert fault is not None and (fault.status, fault.http) == ("STORAGE_FULL", 507) and fault.retry_after
        r.config_set("maxmemory", 0)
        assert store.input_exists(store.save_input(b"fits now"))
    finally:
        redis.kill()
