"""Tasks through a real gunicorn on loopback: seed 002's create-then-poll client, callbacks, a
server killed mid-task; and the Celery path against a real Redis."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from checker.imaging import load_photo
from checker.tasks import store as st

from .servers import Server, get_json, http_thread
from .test_tasks import Files

ROOT = Path(__file__).resolve().parent.parent
TASK_URL = "/api/tasks/visual/external/idphoto"


def post_form(url: str, fields: dict, key: str = "test-key") -> dict:
    """As seed 002's Python example posts: form fields, the key in X-API-KEY."""
    req = urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode(), headers={"X-API-KEY": key})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())


@pytest.fixture
def web(face_bytes):
    Files.photo = face_bytes("hivision_test3.jpg")
    Files.posts = []
    Files.fail_first = 0
    with http_thread(Files) as base:
        yield base


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path / "tasks", CHECKER_TASK_STAGE_DELAY="0.25")
    srv.start()
    yield srv
    srv.kill(signal.SIGTERM)


def seed_002_client(base: str, image_url: str) -> dict:
    """Seed 002's Python example: create a task (sync 0, image_url), then poll once a second for
    up to 30 seconds until state 1 or a failure."""
    created = post_form(base + TASK_URL, {"sync": "0", "image_url": image_url})
    assert created.get("status") == 200 and "task_id" in created["data"], created
    task_id = created["data"]["task_id"]
    for i in range(30):
        if i != 0:
            time.sleep(1)
        result = get_json(f"{base}{TASK_URL}/{task_id}")
        if result.get("status") == 200 and result["data"]["state"] == 1:
            return result
        if result["data"]["state"] < 0:
            pytest.fail(f"task failed: {result}")
    pytest.fail("timeout while polling")


def test_seed_002_polling_client_gets_a_downloadable_photo(server, web):
    result = seed_002_client(server.base, f"{web}/photo")
    with urllib.request.urlopen(result["data"]["image"], timeout=10) as resp:
        photo = load_photo(resp.read())
    assert (photo.width, photo.height) == (295, 413)


def test_callback_over_http(server, web):
    created = post_form(server.base + TASK_URL, {"image_url": f"{web}/photo", "callback_url": f"{web}/cb",
                                                 "px_width": "413", "px_height": "531"})
    task_id = created["data"]["task_id"]
    end = time.time() + 60
    while not Files.posts and time.time() < end:
        time.sleep(0.1)
    (body,) = Files.posts
    assert body["data"]["task_id"] == task_id and body["data"]["state"] == st.DONE
    with urllib.request.urlopen(body["data"]["image"], timeout=10) as resp:
        assert load_photo(resp.read()).width == 413


def test_a_server_killed_mid_task_loses_nothing(tmp_path, web):
    srv = Server(tmp_path / "tasks", CHECKER_TASK_STAGE_DELAY="0.5")  # ~6 s a task
    srv.start()
    try:
        ids = [post_form(srv.base + TASK_URL, {"image_url": f"{web}/photo"})["data"]["task_id"] for _ in range(3)]
        end = time.time() + 30
        while time.time() < end:  # wait until one is being processed
            states = [get_json(f"{srv.base}{TASK_URL}/{i}")["data"]["state"] for i in ids]
            if any(s in st.ACTIVE for s in states):
                break
            time.sleep(0.1)
        assert any(s in st.ACTIVE for s in states)
        srv.kill()  # kill -9: no chance to clean up
        srv.start()  # same folder: the tasks must still be there and end properly
        finals = []
        for task_id in ids:
            end = time.time() + 90
            while True:
                data = get_json(f"{srv.base}{TASK_URL}/{task_id}")["data"]
                if data["state"] == st.DONE or data["state"] < 0 or time.time() > end:
                    finals.append(data)
                    break
                time.sleep(0.2)
        assert [d["state"] for d in finals] == [st.DONE] * 3, finals
        assert max(d["progress"] for d in finals) == 100
    finally:
        srv.kill(signal.SIGTERM)


def test_a_callback_waiting_for_its_retry_survives_kill_9(tmp_path, web):
    """The receiver fails the first attempt; the server is killed while the retry waits; the server
    started again over the same folder sends it, once."""
    srv = Server(tmp_path / "tasks", CHECKER_CALLBACK_DELAYS="[0, 2]")
    srv.start()
    Files.fail_first = 1
    try:
        created = post_form(srv.base + TASK_URL, {"image_url": f"{web}/photo", "callback_url": f"{web}/cb"})
        task_id = created["data"]["task_id"]
        end = time.time() + 60
        while not Files.posts and time.time() < end:
            time.sleep(0.05)
        assert len(Files.posts) == 1, "the first attempt never came"
        time.sleep(0.3)  # its failure is written down; the retry is 2 s away
        srv.kill()  # kill -9
        assert len(Files.posts) == 1
        srv.start()
        end = time.time() + 30
        while len(Files.posts) < 2 and time.time() < end:
            time.sleep(0.05)
        assert len(Files.posts) == 2, "the callback waiting for its retry was lost with the server"
        assert Files.posts[-1]["data"]["task_id"] == task_id and Files.posts[-1]["data"]["state"] == st.DONE
        time.sleep(2.5)  # both workers keep looking: it is not sent again
        assert len(Files.posts) == 2
        assert st.TaskStore(tmp_path / "tasks").get(task_id)["callback_status"] == "delivered (attempt 2)"
    finally:
        srv.kill(signal.SIGTERM)


# --- Celery with a real Redis ---------------------------------------------------------------------------
@pytest.fixture
def redis_url(tmp_path):
    from .redisd import RedisProcess

    redis = RedisProcess(tmp_path / "redis").start()
    yield redis.url
    redis.kill(signal.SIGTERM)


def test_celery_runs_the_same_task(tmp_path, redis_url, face_bytes):
    tasks_dir = tmp_path / "tasks"
    keys_db = str(tmp_path / "keys.sqlite3")
    env = os.environ | {"CHECKER_TASKS_DIR": str(tasks_dir), "CHECKER_CELERY_BROKER_URL": redis_url,
                        "CHECKER_KEYS_DB": keys_db}
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "checker.tasks.celery_app", "worker",
                               "--pool", "solo", "--concurrency", "1", "--loglevel", "WARNING"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        import io

        from checker.web import create_app

        app = create_app({"TESTING": True, "TASKS_DIR": str(tasks_dir), "TASKS": "celery",
                          "CELERY_BROKER_URL": redis_url, "KEYS_DB": keys_db})
        client = app.test_client()
        resp = client.post(TASK_URL, data={"image_file": (io.BytesIO(face_bytes("hivision_test3.jpg")), "p.jpg"),
                                           "px_width": "358", "px_height": "441"},
                           content_type="multipart/form-data")
        task_id = resp.get_json()["data"]["task_id"]
        end = time.time() + 120
        while True:
            data = client.get(f"{TASK_URL}/{task_id}").get_json()["data"]
            if data["state"] == st.DONE or data["state"] < 0 or time.time() > end:
                break
            time.sleep(0.2)
        assert data["state"] == st.DONE, data
        photo = load_photo(client.get(data["image"].split("localhost", 1)[1]).data)
        assert (photo.width, photo.height) == (358, 441)
        task = st.TaskStore(tasks_dir).get(task_id)
        assert task["worker"] and str(worker.pid) in task["worker"]  # run by the Celery worker
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=20)
