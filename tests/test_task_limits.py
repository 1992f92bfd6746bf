"""Issue 12 items 1 and 5: task time limits that fire, and a live task never run twice.

A stage of the generation is CPU-bound numpy/OpenCV/mediapipe work that no Python thread can
interrupt; here it is a stand-in that blocks until the test lets it go, so the tests see what the
runner does while a stage overruns: the task ends -8 at its deadline (the watchdog), is refunded and
called back once, nobody else claims it, and the stage's late finish changes nothing."""

from __future__ import annotations

import io
import threading
import time
from types import SimpleNamespace

import pytest

import checker.autofix  # noqa: F401 - imported before any task runs: its import is not part of a stage
from checker.keys import KeyStore, split_key
from checker.tasks import store as st
from checker.tasks.work import BILLING, TaskConfig, execute
from checker.web import create_app

URL = "/api/tasks/visual/external/idphoto"


class Stuck:
    """A fix whose first stage does not return until released (or ``limit`` seconds pass)."""

    def __init__(self, limit: float = 20.0) -> None:
        self.entered, self.release, self.over = threading.Event(), threading.Event(), threading.Event()
        self.limit = limit

    def __call__(self, photo, spec, opts, *, on_stage=None):
        self.entered.set()
        self.release.wait(self.limit)
        self.over.set()
        return SimpleNamespace(photo=b"\xff\xd8late\xff\xd9", format="JPEG", sheet=None, passed=True, fixed=[],
                               unfixable=[], size_px=(295, 413), dpi=300)


class OtherWorker:
    """Another server process sharing the task folder: it recovers orphaned tasks and runs what is
    queued, all the time, until stopped."""

    def __init__(self, store: st.TaskStore, task_id: str, config: TaskConfig) -> None:
        self.store, self.task_id, self.config = store, task_id, config
        self.requeued: list[str] = []
        self.failed: list[str] = []
        self.claims = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(0.02):
            again, dead = self.store.recover()
            self.requeued += again
            self.failed += dead
            if self.store.claim(self.task_id, "w2", self.config.lease):
                self.claims += 1

    def __enter__(self) -> OtherWorker:
        # It comes in once the task is ours (w1's): a queued task is anyone's to take.
        assert wait_for(lambda: self.store.get(self.task_id)["worker"] == "w1")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def wait_for(predicate, timeout: float = 15.0) -> bool:
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture
def keyed(tmp_path):
    """A key with 10 credits, 6 of them taken by the task under test."""
    keys = KeyStore(tmp_path / "keys.sqlite3")
    key = keys.get(split_key(keys.create("k", credits=10))[0])
    keys.spend(key, 6)
    return keys, key


def new_task(tmp_path, face_bytes, key=None, **where) -> tuple[st.TaskStore, str]:
    store = st.TaskStore(tmp_path / "tasks")
    params = {BILLING: {"key": key.id, "cost": 6}} if key is not None else {}
    if "image_url" not in where:
        where["image_id"] = store.save_input(face_bytes("hivision_idphoto_2.jpg"))
    task_id = store.create(params, image_id=where.get("image_id"), image_url=where.get("image_url"),
                           callback_url=None, base_url="http://x/")
    return store, task_id


def test_a_stage_past_the_limit_ends_minus_8_at_the_deadline_and_its_late_finish_is_a_no_op(
        tmp_path, face_bytes, monkeypatch, keyed):
    keys, key = keyed
    stuck = Stuck()
    monkeypatch.setattr("checker.autofix.fix", stuck)
    store, task_id = new_task(tmp_path, face_bytes, key)
    config = TaskConfig(lease=0.3, timeout=1.0, keys_db=str(tmp_path / "keys.sqlite3"))
    notified: list[str] = []
    runner = threading.Thread(target=execute, args=(store, task_id, config, "w1", notified.append))
    runner.start()
    with OtherWorker(store, task_id, config) as other:
        assert stuck.entered.wait(10)
        # The stage cannot be interrupted, but the limit fires at the deadline all the same.
        assert wait_for(lambda: store.get(task_id)["state"] != st.PROCESSING)
        task = store.get(task_id)
        assert task["state"] == st.TIMED_OUT and "longer than 1 s" in task["message"], task
        assert runner.is_alive() and not stuck.over.is_set()  # the stage is still running
        # Refunded and called back by the watchdog right after it ended the task (on SQLite the refund is
        # a second write, just after the state's).
        assert wait_for(lambda: keys.get(key.id).remaining == 10 and notified == [task_id])
        time.sleep(3 * config.lease)  # several leases pass with the stage still running
        stuck.release.set()
        runner.join(10)
    assert not runner.is_alive()
    task = store.get(task_id)
    # The late finish is a no-op: still -8, nothing stored, refunded and called back once, run once.
    assert task["state"] == st.TIMED_OUT and task["result_token"] is None and task["attempts"] == 1, task
    assert not list((tmp_path / "tasks" / "results").iterdir())
    assert keys.get(key.id).remaining == 10 and notified == [task_id]
    assert other.claims == 0 and other.requeued == [] and other.failed == []


def test_a_stage_longer_than_the_lease_but_within_the_limit_is_not_taken_over(tmp_path, face_bytes, monkeypatch):
    stuck = Stuck(limit=1.5)  # five leases long, released by its own limit
    monkeypatch.setattr("checker.autofix.fix", stuck)
    store, task_id = new_task(tmp_path, face_bytes)
    config = TaskConfig(lease=0.3, timeout=30)
    runner = threading.Thread(target=execute, args=(store, task_id, config, "w1"))
    runner.start()
    with OtherWorker(store, task_id, config) as other:
        runner.join(20)
    task = store.get(task_id)
    assert task["state"] == st.DONE and task["attempts"] == 1 and task["worker"] == "w1", task
    assert other.claims == 0 and other.requeued == [] and other.failed == []


def test_a_download_that_hangs_is_timed_out_once_not_run_twice_nor_called_a_double_stop(
        tmp_path, face_bytes, monkeypatch, keyed):
    keys, key = keyed
    release, over = threading.Event(), threading.Event()
    photo = face_bytes("hivision_idphoto_2.jpg")

    def dripping(url, policy):  # a source that sends a byte now and then, for ever
        release.wait(20)
        over.set()
        return photo

    monkeypatch.setattr("checker.tasks.work.download", dripping)
    store, task_id = new_task(tmp_path, face_bytes, key, image_url="http://example.invalid/p.jpg")
    config = TaskConfig(lease=0.3, timeout=0.8, keys_db=str(tmp_path / "keys.sqlite3"))
    runner = threading.Thread(target=execute, args=(store, task_id, config, "w1"))
    runner.start()
    with OtherWorker(store, task_id, config) as other:
        assert wait_for(lambda: store.get(task_id)["state"] not in st.ACTIVE)
        assert not over.is_set()  # still downloading when the limit fired
        time.sleep(3 * config.lease)
        release.set()
        runner.join(10)
    task = store.get(task_id)
    assert task["state"] == st.TIMED_OUT and "stopped" not in task["message"] and task["attempts"] == 1, task
    assert task["image_id"] is None  # the late download is not kept either
    assert other.claims == 0 and other.requeued == [] and other.failed == []
    assert keys.get(key.id).remaining == 10


def test_a_sync_task_answers_minus_8_at_its_deadline_while_the_stage_still_runs(tmp_path, face_bytes, monkeypatch):
    app = create_app({"TESTING": True, "TASKS_DIR": str(tmp_path / "tasks"), "KEYS_DB": str(tmp_path / "k.sqlite3"),
                      "TASK_TIMEOUT": 0.5, "TASK_LEASE": 0.3})
    stuck = Stuck()  # patched after the app is made: modules it imports keep the real fix
    monkeypatch.setattr("checker.autofix.fix", stuck)
    try:
        resp = app.test_client().post(URL, data={"sync": "1", "image_file": (io.BytesIO(face_bytes(
            "hivision_idphoto_2.jpg")), "p.jpg")}, content_type="multipart/form-data")
        body = resp.get_json()
        assert body["data"]["state"] == st.TIMED_OUT, body
        assert not stuck.over.is_set()  # answered at the deadline, not when the stage let go
    finally:
        stuck.release.set()
        app.extensions["idphoto_tasks"].stop()


def test_the_cooperative_check_between_stages_still_ends_a_slow_task(tmp_path, face_bytes):
    """Stages that each end quickly but add up past the limit: -8 from the check between stages."""
    store, task_id = new_task(tmp_path, face_bytes)
    execute(store, task_id, TaskConfig(lease=5, timeout=0.05, stage_delay=0.03), "w1")
    task = store.get(task_id)
    assert task["state"] == st.TIMED_OUT and task["attempts"] == 1
