"""Issue 17's multi-node deployment, for real: one redis-server (started here on a free loopback port,
append-only file fsynced on every write), two API servers (the documented gunicorn command) with
separate instance folders, and one Celery worker with a third, all on that one Redis as store and
broker. Nothing is shared but Redis.

- A key with credits for two photos, four concurrent paid requests split across both servers: exactly
  two succeed.
- A rate limit holds across both servers.
- A task created on server A runs on the worker, is polled and its image fetched through server B, and
  its callback arrives once.
- Redis killed and restarted mid-run, the worker killed with it, and a task whose API server died
  before sending it to Celery: clear 503s with Retry-After meanwhile (the free check still answers),
  and every accepted task ends done afterwards.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from checker.imaging import load_photo
from checker.keys import split_key
from checker.tasks import store as st

pytest.register_assert_rewrite("tests.redisd")  # imported here before any module names it as a plugin
from .redisd import RedisProcess, free_port  # noqa: E402
from .servers import http_thread  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TASK_URL = "/api/tasks/visual/external/idphoto"
PREFIX = "nodes"

requests = pytest.importorskip("requests")


class Api:
    """`gunicorn -c python:checker.web.gunicorn_conf wsgi:app` with its own instance folder."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder = folder
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = folder / "gunicorn.log"
        self.env = env | {"CHECKER_INSTANCE_DIR": str(folder / "instance"), "CHECKER_BIND": f"127.0.0.1:{self.port}",
                          "CHECKER_WORKERS": "1"}
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:checker.web.gunicorn_conf",
                                      "wsgi:app"], cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=open(self.log, "wb"), start_new_session=True)  # noqa: SIM115

    def ready(self) -> bool:
        try:
            return requests.get(self.base + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # graceful: idle by now (SIGQUIT's exit can stall)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


class Worker:
    """`celery -A checker.tasks.celery_app worker` with its own instance folder."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.folder = folder
        self.log = folder / "celery.log"
        self.env = env | {"CHECKER_INSTANCE_DIR": str(folder / "instance"), "CHECKER_TASK_STAGE_DELAY": "0.1"}
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "checker.tasks.celery_app", "worker",
                                      "--pool", "threads", "--concurrency", "2", "--loglevel", "INFO"], cwd=ROOT,
                                     env=self.env, stdout=subprocess.DEVNULL, stderr=open(self.log, "wb"),  # noqa: SIM115
                                     start_new_session=True)

    def ready(self) -> bool:
        return self.log.exists() and b"ready." in self.log.read_bytes()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGQUIT)  # Celery's cold shutdown: the store recovers anything
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


class Cluster:
    def __init__(self, redis: RedisProcess, a: Api, b: Api, worker: Worker) -> None:
        self.redis, self.a, self.b, self.worker = redis, a, b, worker
        self.cfg = {"STORE_URL": redis.url, "STORE_PREFIX": PREFIX}

    def keys(self):
        from checker.store import open_keys

        return open_keys(self.cfg)

    def tasks(self):
        from checker.store import open_tasks

        return open_tasks(self.cfg)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in (self.a.log, self.b.log, self.worker.log) if p.exists())


@pytest.fixture
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("nodes")
    redis = RedisProcess(root / "redis", durable=True).start()
    env = os.environ | {
        "CI": "", "CHECKER_STORE_URL": redis.url, "CHECKER_STORE_PREFIX": PREFIX, "CHECKER_TASKS": "celery",
        "CHECKER_ALLOW_PRIVATE_URLS": "true",  # (no CHECKER_CELERY_BROKER_URL: the store's Redis is the broker)
        "CHECKER_TASK_LEASE": "3", "CHECKER_TASK_RESUBMIT_AFTER": "3", "CHECKER_ADMISSION_WAIT": "30",
        "CHECKER_CALLBACK_DELAYS": "[0, 0.5, 1]", "CHECKER_THREADS": "8", "CHECKER_LOG_LEVEL": "warning",
    }
    for name in ("CHECKER_KEYS_DB", "CHECKER_TASKS_DIR", "CHECKER_CELERY_BROKER_URL"):  # nothing but Redis is shared
        env.pop(name, None)
    nodes = Cluster(redis, Api(root / "a", env), Api(root / "b", env), Worker(root / "worker", env))
    for node in (nodes.a, nodes.b, nodes.worker):
        node.start()
    try:
        end = time.time() + 120
        while not all(n.ready() for n in (nodes.a, nodes.b, nodes.worker)):
            procs = [n.proc for n in (nodes.a, nodes.b, nodes.worker)]
            if time.time() > end or any(p is not None and p.poll() is not None for p in procs):
                pytest.fail(f"the nodes did not start:\n{nodes.logs()}")
            time.sleep(0.3)
        yield nodes
    finally:
        for node in (nodes.a, nodes.b, nodes.worker):
            node.stop()
        redis.kill(signal.SIGTERM)
    for name in ("a", "b"):  # no instance folder got a key file or a task folder: the state is on Redis
        instance = root / name / "instance"
        assert not (instance / "keys.sqlite3").exists() and not (instance / "tasks" / "tasks.sqlite3").exists()


def jpeg(face_bytes, name: str = "hivision_idphoto_2.jpg", width: int = 480) -> bytes:
    from PIL import Image

    img = Image.open(io.BytesIO(face_bytes(name))).convert("RGB")
    img = img.resize((width, round(img.height * width / img.width)))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=90)
    return out.getvalue()


def create_task(base: str, key: str, data: bytes, **fields) -> requests.Response:
    return requests.post(base + TASK_URL, headers={"X-API-KEY": key}, data=fields,
                         files={"image_file": ("p.jpg", data, "image/jpeg")}, timeout=60)


def poll(base: str, key: str, task_id: str) -> requests.Response:
    return requests.get(f"{base}{TASK_URL}/{task_id}", headers={"X-API-KEY": key}, timeout=30)


def wait_ended(base: str, key: str, task_ids: list[str], timeout: float) -> dict[str, dict]:
    end = time.time() + timeout
    last: dict[str, dict] = {}
    while time.time() < end:
        for task_id in task_ids:
            resp = poll(base, key, task_id)
            if resp.status_code == 200:
                last[task_id] = resp.json()["data"]
        if len(last) == len(task_ids) and all(d["state"] == st.DONE or d["state"] < 0 for d in last.values()):
            break
        time.sleep(0.3)
    return last


# --- credits and rates are one budget across servers ---------------------------------------------------
def credits_for_two_photos_four_concurrent_paid_requests_exactly_two_succeed(cluster, face_bytes):
    key = cluster.keys().create("two photos", credits=12)  # seed 002: 6 credits a photo
    photo = jpeg(face_bytes)
    barrier = threading.Barrier(4)
    answers: list[tuple[str, int, dict]] = []

    def pay(base: str) -> None:
        barrier.wait()
        resp = requests.post(base + "/api/fix", headers={"APIKEY": key}, data={"spec_id": "1102"},
                             files={"file": ("p.jpg", photo, "image/jpeg")}, timeout=120)
        answers.append((base, resp.status_code, resp.json() if "json" in resp.headers["Content-Type"] else {}))

    threads = [threading.Thread(target=pay, args=(base,))
               for base in (cluster.a.base, cluster.b.base, cluster.a.base, cluster.b.base)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(code for _, code, _ in answers)
    assert codes == [200, 200, 403, 403], (answers, cluster.logs())
    assert {body["status"] for _, code, body in answers if code == 403} == {"OUT_OF_QUOTA"}
    assert cluster.keys().get(split_key(key)[0]).remaining == 0


def a_rate_limit_holds_across_both_servers(cluster):
    key = cluster.keys().create("three a second", rate_per_second=3)
    bases = [cluster.a.base, cluster.b.base] * 4  # 8 requests, half to each server

    def ask(base: str, codes: list[int]) -> None:
        # Any task API request is counted; an unknown task is an answer that costs nothing.
        codes.append(requests.get(f"{base}{TASK_URL}/no-such-task", headers={"X-API-KEY": key},
                                  timeout=10).status_code)

    for _ in range(4):  # all of them inside one second of the clock, else once more
        time.sleep(1.02 - time.time() % 1)  # just after a second begins
        started = time.time()
        codes: list[int] = []
        threads = [threading.Thread(target=ask, args=(b, codes)) for b in bases]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = int(time.time()) - int(started) + 1
        if seconds == 1:
            assert sorted(codes) == [404] * 3 + [429] * 5, codes  # one window for both servers
            return
    # Too busy to send 8 requests within one second, four times: at least no window let more than 3 through.
    assert codes.count(404) <= 3 * seconds and set(codes) <= {404, 429}, codes


# --- a task made on A, run by the worker, fetched through B ----------------------------------------------
class Receiver(BaseHTTPRequestHandler):
    posts: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        import json

        Receiver.posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def a_task_created_on_a_runs_on_the_worker_and_its_image_comes_through_b(cluster, face_bytes):
    key = cluster.keys().create("a to b", credits=60)
    Receiver.posts = []
    with http_thread(Receiver) as receiver:
        created = create_task(cluster.a.base, key, jpeg(face_bytes), px_width="358", px_height="441",
                              callback_url=f"{receiver}/done")
        assert created.status_code == 200, created.text
        task_id = created.json()["data"]["task_id"]
        data = wait_ended(cluster.b.base, key, [task_id], timeout=90)[task_id]
        assert data["state"] == st.DONE, (data, cluster.logs())
        row = cluster.tasks().get(task_id)
        assert f":{cluster.worker.proc.pid}:" in row["worker"]  # run by the Celery worker's process
        path = data["image"].split(str(cluster.a.port), 1)[1]  # a URL of server A ...
        resp = requests.get(cluster.b.base + path, timeout=10)  # ... served by B as well
        assert resp.status_code == 200 and resp.headers["Content-Type"] == "image/jpeg"
        photo = load_photo(resp.content)
        assert (photo.width, photo.height) == (358, 441)
        end = time.time() + 20
        while not Receiver.posts and time.time() < end:
            time.sleep(0.1)
        time.sleep(3)  # three senders (A, B, the worker) keep looking: it is not sent again
    assert len(Receiver.posts) == 1 and Receiver.posts[0]["data"]["task_id"] == task_id
    assert cluster.tasks().get(task_id)["callback_status"] == "delivered (attempt 1)"
    assert cluster.keys().get(split_key(key)[0]).remaining == 54


# --- Redis stopped and restarted mid-run ---------------------------------------------------------------------
def redis_killed_and_restarted_mid_run_loses_no_accepted_task(cluster, face_bytes):
    key = cluster.keys().create("outage", credits=600, rate_per_second=50)
    photo = jpeg(face_bytes)
    small = jpeg(face_bytes, width=360)
    check = requests.post(cluster.a.base + "/api/check_pic", headers={"APIKEY": key},
                          data={"spec_id": "1102"}, files={"file": ("p.jpg", small, "image/jpeg")}, timeout=60)
    assert check.status_code == 200  # server A has read the key
    accepted = [create_task(base, key, photo).json()["data"]["task_id"]
                for base in (cluster.a.base, cluster.b.base, cluster.a.base, cluster.b.base)]
    store = cluster.tasks()
    # A task whose API server wrote it and died before sending it to Celery: the others send it.
    orphan = store.create({}, image_id=store.save_input(photo), image_url=None, callback_url=None, base_url="")
    end = time.time() + 60
    while not any(store.get(t)["state"] in st.ACTIVE for t in accepted):  # the worker is on one of them
        assert time.time() < end, cluster.logs()
        time.sleep(0.1)

    cluster.redis.kill()  # kill -9, mid-task
    cluster.worker.proc.kill()  # and the worker with it (kill -9: it ends nothing, acknowledges nothing)
    cluster.worker.proc.wait(timeout=10)
    started = time.monotonic()
    refused = [create_task(cluster.a.base, key, photo), poll(cluster.b.base, key, accepted[0]),
               requests.post(cluster.b.base + "/api/fix", headers={"APIKEY": key}, data={"spec_id": "1102"},
                             files={"file": ("p.jpg", small, "image/jpeg")}, timeout=30)]
    for resp in refused:
        assert resp.status_code == 503 and resp.headers["Retry-After"].isdigit(), resp.text
        assert "STORAGE_UNAVAILABLE" in resp.text and "internal error" not in resp.text
    assert time.monotonic() - started < 15  # answered, not hung
    check = requests.post(cluster.a.base + "/api/check_pic", headers={"APIKEY": key},
                          data={"spec_id": "1102"}, files={"file": ("p.jpg", small, "image/jpeg")}, timeout=60)
    assert check.status_code == 200, check.text  # the free check goes on
    time.sleep(2)  # an outage of a few seconds: the worker's store writes and its broker fail meanwhile

    cluster.redis.start()  # the same port and append-only file
    cluster.worker.log.unlink()
    cluster.worker.start()  # a new worker process
    after = create_task(cluster.b.base, key, photo)
    assert after.status_code == 200, after.text
    paid = [*accepted, after.json()["data"]["task_id"]]
    finals = wait_ended(cluster.a.base, key, [*paid, orphan], timeout=150)
    states = [finals.get(t, {}).get("state") for t in [*paid, orphan]]
    assert states == [st.DONE] * (len(paid) + 1), (finals, cluster.logs())
    assert cluster.keys().get(split_key(key)[0]).remaining == 600 - 6 * len(paid)


# --- the run ------------------------------------------------------------------------------------------------
def test_two_api_servers_and_a_celery_worker_on_one_redis(cluster, face_bytes):
    """One test, so that one cluster is started (pytest-xdist would start a module's fixture in each of its
    workers); the steps run in this order, the outage last."""
    credits_for_two_photos_four_concurrent_paid_requests_exactly_two_succeed(cluster, face_bytes)
    a_rate_limit_holds_across_both_servers(cluster)
    a_task_created_on_a_runs_on_the_worker_and_its_image_comes_through_b(cluster, face_bytes)
    redis_killed_and_restarted_mid_run_loses_no_accepted_task(cluster, face_bytes)
