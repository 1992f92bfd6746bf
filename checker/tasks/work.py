"""One task, start to end: claim it, get its image, generate, store the result, call back.

The same function runs in the in-process thread pool and in a Celery worker.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import CheckerError
from . import store as st
from .urls import FetchFailed, Policy, TooLarge, URLRefused, download, post_json

log = logging.getLogger(__name__)

DEFAULT_SPEC = 1102  # seed 002's default size (295 x 413 px) is the 1-inch photo
# Progress (percent) as each stage of the fix ends.
STAGE_PROGRESS = {"check_before": 35, "matting": 50, "beauty": 55, "foreground": 60, "crop": 70, "background": 75,
                  "encode": 80, "check_after": 92, "layout": 97}
CALLBACK_DELAYS = (0.0, 1.0, 3.0, 9.0, 27.0)  # seconds before each delivery attempt


@dataclass(frozen=True)
class TaskConfig:
    lease: float = 30.0  # seconds a worker holds a task without renewing it
    timeout: float = 30.0  # seed 002: at most 30 s of processing, then state -8
    ttl: float = 3600.0  # results (and inputs for last_id) stay this long
    policy: Policy = field(default_factory=Policy)
    callback_delays: tuple[float, ...] = CALLBACK_DELAYS
    stage_delay: float = 0.0  # seconds added to every stage: only for tests and demos of long tasks
    keys_db: str | None = None  # where credits are given back for tasks that fail (None: the default)


class _Lost(Exception):
    """Another worker owns the task now (our lease ran out): stop quietly."""


class _TimedOut(Exception):
    pass


_IMAGE_STATES = {"IMAGE_FILE_SIZE_TOO_BIG": st.TOO_LARGE, "CORRUPT_IMAGE": st.INVALID_IMAGE,
                 "INVALID_IMAGE_FORMAT_OR_SIZE": st.INVALID_IMAGE, "EMPTY_IMAGE": st.INVALID_IMAGE}


def execute(store: st.TaskStore, task_id: str, config: TaskConfig, worker: str,
            notify: Callable[[str], None] | None = None) -> None:
    """Run ``task_id`` if it is queued; every outcome ends in a state (never an exception)."""
    if not store.claim(task_id, worker, config.lease):
        return
    started = time.monotonic()
    done, lost = threading.Event(), threading.Event()

    def heartbeat() -> None:
        # A stage may take longer than the lease (a slow machine, a model's first run): the lease is
        # renewed while this worker is alive, so only a dead worker's task is taken over.
        while not done.wait(config.lease / 3):
            try:
                if not store.update(task_id, worker, config.lease):
                    lost.set()
                    return
            except Exception:  # a busy database: the next beat tries again
                log.warning("task %s: lease renewal failed", task_id, exc_info=True)

    threading.Thread(target=heartbeat, name=f"lease-{task_id[:8]}", daemon=True).start()

    def step(state: int, progress: int) -> None:
        if config.stage_delay:
            time.sleep(config.stage_delay)
        if lost.is_set():
            raise _Lost
        if time.monotonic() - started > config.timeout:
            raise _TimedOut
        if not store.update(task_id, worker, config.lease, state=state, progress=progress):
            raise _Lost

    try:
        _run(store, task_id, config, step)
    except _Lost:
        return
    except _TimedOut:
        store.finish(task_id, worker, st.TIMED_OUT, f"processing took longer than {config.timeout:g} s")
    except Exception:
        log.exception("task %s failed", task_id)
        store.finish(task_id, worker, st.FAILED, "internal error while processing the task")
    finally:
        done.set()
    _finished(store, task_id, worker)
    refund_failed(store, task_id, config, ended_by=worker)
    if notify is not None:
        notify(task_id)


def _run(store: st.TaskStore, task_id: str, config: TaskConfig, step: Callable[[int, int], None]) -> None:
    from ..autofix import fix, options_from_params
    from ..imaging import load_photo
    from ..specs import load_spec

    task = store.get(task_id)
    if task is None:  # deleted (expired) since this worker claimed it: no longer this worker's
        raise _Lost
    params: dict[str, Any] = json.loads(task["params"])
    params.pop(BILLING, None)
    spec_ref = params.pop("spec_id", None)  # the rest are generation options
    worker = task["worker"]
    step(st.PREPARING, 5)
    if task["image_id"]:
        if not store.input_exists(task["image_id"]):
            store.finish(task_id, worker, st.FAILED, "the reused image (last_id) is no longer kept")
            return
        data = store.read_input(task["image_id"])
    else:
        try:
            data = download(task["image_url"], config.policy)
        except TooLarge as exc:
            store.finish(task_id, worker, st.TOO_LARGE, str(exc))
            return
        except (FetchFailed, URLRefused) as exc:
            store.finish(task_id, worker, st.DOWNLOAD_FAILED, str(exc))
            return
        step(st.PREPARING, 10)
        store.update(task_id, worker, config.lease, image_id=store.save_input(data))
    step(st.WAITING, 15)
    try:
        photo = load_photo(data)
    except CheckerError as exc:
        store.finish(task_id, worker, _IMAGE_STATES.get(exc.status, st.INVALID_IMAGE), f"{exc.status}: {exc.message}")
        return
    step(st.PROCESSING, 25)
    try:
        spec = load_spec(spec_ref or DEFAULT_SPEC)
        result = fix(photo, spec, options_from_params(params),
                     on_stage=lambda name: step(st.PROCESSING, STAGE_PROGRESS.get(name, 90)))
    except CheckerError as exc:
        store.finish(task_id, worker, st.FAILED, f"{exc.status}: {exc.message}")
        return
    ext = "jpg" if result.format == "JPEG" else "png"
    try:
        token = store.save_result(result.photo, ext)
        sheet = store.save_result(result.sheet, "jpg") if result.sheet is not None else None
    except OSError as exc:  # seed 002's -2: made, but could not be stored for download
        store.finish(task_id, worker, st.UPLOAD_FAILED, f"the photo was made but could not be stored: {exc}")
        return
    fields: dict[str, Any] = {
        "result_token": token, "result_format": ext, "sheet_token": sheet,
        "result_expires": time.time() + config.ttl,
        "report": json.dumps({"passed": result.passed, "fixed": result.fixed, "unfixable": result.unfixable,
                              "size_px": list(result.size_px), "dpi": result.dpi}),
    }
    store.finish(task_id, worker, st.DONE, "success", **fields)


BILLING = "_billing"  # in a task's params: {"key": key id, "cost": credits taken at creation}


def refund_failed(store: st.TaskStore, task_id: str, config: TaskConfig, ended_by: str | None) -> None:
    """A task that made nothing costs nothing: give back the credits its creation took.

    Only whoever ended the task refunds it, so it happens once: its worker (``ended_by``, kept in the
    row by finish) or recovery after the worker died twice (None: recovery clears the worker)."""
    task = store.get(task_id)
    if task is None or task["state"] >= 0 or task["worker"] != ended_by:
        return
    billing = json.loads(task["params"]).get(BILLING)
    if billing and billing.get("cost"):
        from ..keys import KeyStore, default_path

        KeyStore(config.keys_db or default_path()).refund(billing["key"], int(billing["cost"]))


def _finished(store: st.TaskStore, task_id: str, worker: str) -> None:
    """A task that left _run without an end state (should not happen) is failed, not left hanging."""
    task = store.get(task_id)
    if task and task["state"] in st.ACTIVE and task["worker"] == worker:
        store.finish(task_id, worker, st.FAILED, "the task ended without a result")


# --- the polling body -----------------------------------------------------------------------------------
def polling_body(task: dict[str, Any]) -> dict[str, Any]:
    """Seed 002's GET answer for a task row: {status, message, data}."""
    state = task["state"]
    data: dict[str, Any] = {"task_id": task["id"], "state": state, "state_detail": st.STATE_DETAIL.get(state, ""),
                            "progress": task["progress"], "created_at": int(task["created_at"])}
    if task["processed_at"]:
        data["processed_at"] = int(task["processed_at"])
    if task["completed_at"]:
        data["completed_at"] = int(task["completed_at"])
        data["time_elapsed"] = round(task["completed_at"] - task["created_at"], 3)
    if task["image_id"]:
        data["image_id"] = task["image_id"]
    message = task["message"] or "success"
    if state == st.DONE:
        data["return_type"] = 1
        if task["result_expires"] and task["result_expires"] > time.time():
            base = task["base_url"].rstrip("/")
            data["image"] = f"{base}/api/tasks/results/{task['result_token']}.{task['result_format']}"
            if task["sheet_token"]:
                data["layout_image"] = f"{base}/api/tasks/results/{task['sheet_token']}.jpg"
            data["expires_at"] = int(task["result_expires"])
        else:
            data["image"] = None
            message = "the result expired: results are kept for one hour"
        if task["report"]:
            data["report"] = json.loads(task["report"])
    return {"status": 200, "message": message, "data": data}


# --- callbacks --------------------------------------------------------------------------------------------
def deliver_callback(store: st.TaskStore, task_id: str, config: TaskConfig,
                     sleep: Callable[[float], None] = time.sleep) -> None:
    """POST the polling body to the task's callback_url, retrying with backoff until a 2xx."""
    task = store.get(task_id)
    if not task or not task["callback_url"]:
        return
    body = json.dumps(polling_body(task)).encode()
    last = ""
    for i, delay in enumerate(config.callback_delays, start=1):
        sleep(delay)
        try:
            code = post_json(task["callback_url"], body, config.policy)
        except (FetchFailed, URLRefused) as exc:
            last = str(exc)
            continue
        if 200 <= code < 300:
            store.set_callback_status(task_id, f"delivered (attempt {i})")
            return
        last = f"HTTP {code}"
    store.set_callback_status(task_id, f"failed after {len(config.callback_delays)} attempts: {last}")
