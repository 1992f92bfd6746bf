"""What one caller leaves on the server is not another's to use: a key's kept images (seed 002's last_id,
seed 001's selfie_image_id) are refused, as missing, to every other key; and a task's result URLs never
point at a Host header the client chose. The kept-image rules are tested on both store backends."""

from __future__ import annotations

import io
import sqlite3
import time

import pytest

from checker.tasks import store as st
from checker.tasks.service import TaskService

from .test_tasks import URL, make_app, upload

pytest_plugins = ["tests.redisd"]  # the backend fixture: SQLite and Redis

MASK = "/identity/mask_selfie_image"


def new_key(app, **options) -> str:
    """A key in the app's own key store (the SQLite file or the shared Redis store)."""
    from checker.web.auth import key_store

    with app.app_context():
        return key_store().create(**options)


@pytest.fixture
def app(tmp_path, backend):
    app = make_app(tmp_path, backend)
    yield app
    svc = app.extensions.get("idphoto_tasks")
    if svc:
        svc.stop()


@pytest.fixture
def queued_only(monkeypatch):
    """Tasks are accepted and kept, but nothing runs them (the tests look at what was stored)."""
    monkeypatch.setattr(TaskService, "submit", lambda self, task_id: None)


def post_task(client, key: str | None, **fields):
    headers = {"X-API-KEY": key} if key else {}
    return client.post(URL, data=fields, headers=headers, content_type="multipart/form-data")


def task_image_id(client, key: str, task_id: str) -> str:
    return client.get(f"{URL}/{task_id}", headers={"X-API-KEY": key}).get_json()["data"]["image_id"]


# --- kept images belong to the key that sent them ---------------------------------------------------------------
def test_a_task_input_is_refused_as_missing_to_another_key(app, face_bytes, queued_only):
    a, b = new_key(app, name="a"), new_key(app, name="b")
    client = app.test_client()
    created = post_task(client, a, **upload(face_bytes("hivision_idphoto_2.jpg")))
    assert created.status_code == 200, created.get_json()
    image_id = task_image_id(client, a, created.get_json()["data"]["task_id"])
    refused = post_task(client, b, last_id=image_id)
    assert refused.status_code == 400 and "last_id names no image kept here" in refused.get_json()["message"]
    assert post_task(client, a, last_id=image_id).status_code == 200  # its own key reuses it
    masked = client.post(MASK, data={"selfie_image_id": image_id, "mask_eye": "true"}, headers={"X-API-KEY": b},
                         content_type="multipart/form-data")
    assert masked.status_code == 400 and masked.get_json()["status"] == "IMAGE_ID_NOT_EXIST"


def test_a_selfie_is_refused_as_missing_to_another_key(app, face_bytes, queued_only):
    a, b = new_key(app, name="a"), new_key(app, name="b")
    client = app.test_client()

    def mask(key: str, **fields):
        return client.post(MASK, data=fields, headers={"X-API-KEY": key}, content_type="multipart/form-data")

    first = mask(a, selfie_file=(io.BytesIO(face_bytes("hivision_test3.jpg")), "s.jpg"), mask_eye="true")
    assert first.status_code == 200, first.get_json()
    image_id = first.headers["X-Image-Id"]
    other = mask(b, selfie_image_id=image_id, mask_eye="true")
    assert other.status_code == 400 and other.get_json()["status"] == "IMAGE_ID_NOT_EXIST"
    assert post_task(client, b, last_id=image_id).status_code == 400
    assert mask(a, selfie_image_id=image_id, mask_eye="true").status_code == 200


def test_an_image_a_task_downloads_is_its_owners(tmp_path, backend):
    store = backend.tasks(tmp_path / "tasks")
    task_id = store.create({}, image_id=None, image_url="https://example.org/p.jpg", callback_url=None,
                           base_url="", owner="ka")
    assert store.claim(task_id, "w", lease=30)
    image_id = store.save_input(b"the downloaded bytes")
    assert store.update(task_id, "w", 30, image_id=image_id)  # as the worker records what it fetched
    assert store.input_visible(image_id, "ka")
    assert not store.input_visible(image_id, "kb") and not store.input_visible(image_id, None)


def test_open_mode_inputs_are_anyones(tmp_path, backend):
    store = backend.tasks(tmp_path / "tasks")
    image_id = store.save_input(b"bytes")
    assert store.input_visible(image_id, None) and store.input_visible(image_id, "any-key")
    assert not store.input_visible("no-such-image", None)


def test_a_folder_from_before_owners_is_upgraded(tmp_path):
    root = tmp_path / "tasks"
    root.mkdir()
    old = sqlite3.connect(root / "tasks.sqlite3")
    old.executescript("""
        CREATE TABLE tasks (id TEXT PRIMARY KEY, state INTEGER NOT NULL, progress INTEGER NOT NULL DEFAULT 0,
            message TEXT NOT NULL DEFAULT '', params TEXT NOT NULL, image_id TEXT, image_url TEXT, callback_url TEXT,
            base_url TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL, processed_at REAL, completed_at REAL,
            attempts INTEGER NOT NULL DEFAULT 0, worker TEXT, lease_until REAL, result_token TEXT,
            result_format TEXT, sheet_token TEXT, result_expires REAL, report TEXT, callback_status TEXT);
        CREATE TABLE images (image_id TEXT PRIMARY KEY, created_at REAL NOT NULL, expires REAL NOT NULL);
        INSERT INTO tasks (id, state, params, callback_url, created_at) VALUES ('t-old', 0, '{}', 'http://x/', 1);
    """)
    old.execute("INSERT INTO images VALUES ('i-old', ?, ?)", (time.time(), time.time() + 60))
    old.commit()
    old.close()
    (root / "inputs").mkdir()
    (root / "inputs" / "i-old").write_bytes(b"old bytes")
    store = st.TaskStore(root)
    assert store.input_visible("i-old", "any-key")  # kept before owners existed: as before
    assert store.finish("t-old", None, st.FAILED, "ended")
    assert store.callback("t-old")["state"] == st.CB_PENDING
    st.TaskStore(root)  # opening it again changes nothing


# --- result URLs --------------------------------------------------------------------------------------------------
def result_url(app, face_bytes, **headers) -> tuple[str, str]:
    """Create a task with these headers, end it with a result file, and poll it: (image URL, token)."""
    client = app.test_client()
    created = client.post(URL, data=upload(face_bytes("hivision_idphoto_2.jpg")), headers=headers,
                          content_type="multipart/form-data")
    assert created.status_code == 200, created.get_json()
    task_id = created.get_json()["data"]["task_id"]
    store = app.extensions["idphoto_tasks"].store
    token = store.save_result(b"\xff\xd8\xff a result", "jpg")
    assert store.finish(task_id, None, st.DONE, "success", result_token=token, result_format="jpg",
                        result_expires=time.time() + 60)
    data = client.get(f"{URL}/{task_id}").get_json()["data"]
    return data["image"], token


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "localhost:8080@evil.example",
                                  "localhost.evil.example", "127.0.0.1.evil.example", "[::1]:80@evil.example"])
def test_a_foreign_host_header_gives_a_relative_result_url(app, face_bytes, queued_only, host):
    url, token = result_url(app, face_bytes, Host=host)
    assert url == f"/api/tasks/results/{token}.jpg"
    assert app.test_client().get(url).status_code == 200  # relative to the server that answered


@pytest.mark.parametrize("host", ["localhost", "localhost:8080", "127.0.0.1:8080", "127.3.2.1", "[::1]:8080"])
def test_a_loopback_host_keeps_an_absolute_url(app, face_bytes, queued_only, host):
    url, token = result_url(app, face_bytes, Host=host)
    assert url == f"http://{host}/api/tasks/results/{token}.jpg"


def test_the_public_url_is_used_whatever_the_host(tmp_path, face_bytes, queued_only):
    app = make_app(tmp_path, PUBLIC_URL="https://photos.example.com/idphoto/")
    try:
        url, token = result_url(app, face_bytes, Host="evil.example")
        assert url == f"https://photos.example.com/idphoto/api/tasks/results/{token}.jpg"
    finally:
        app.extensions["idphoto_tasks"].stop()
