"""One task, start to end: claim it, get its image, generate, store the result (ending a task queues
its callback in the store; checker/tasks/callbacks.py sends it).

The same function runs in the in-process thread pool and in a Celery worker.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import CheckerError, StorageUnavailable
from ..store.api import Tasks
from . import store as st
from .urls import FetchFailed, Policy, TooLarge, URLRefused, download

log = logging.getLogger(__name__)

DEFAULT_SPEC = 1102  # seed 002's default size (295 x 413 px) is the 1-inch photo
# Progress (percent) as each stage of the fix ends.
STAGE_PROGRESS = {"check_before": 35, "matting": 50, "beauty": 55, "foreground": 60, "crop": 70, "background": 75,
                  "encode": 80, "check_after": 92, "layout": 97}
CALLBACK_DELAYS = (0.0, 1.0, 3.0, 9.0, 27.0)  # seconds before each delivery attempt


@dataclass(frozen=True)
class TaskConfig:
    lease: float = 30.0  # seconds a worker holds a task without renewing it
    timeout: float = 30.0  # seed 002: at most 30 s from the claim (download included), then state -8
    ttl: float = 3600.0  # results (and inputs for last_id) stay this long
    policy: Policy = field(default_factory=Policy)
    callback_delays: tuple[float, ...] = CALLBACK_DELAYS
    stage_delay: float = 0.0  # seconds added to every stage: only for tests and demos of long tasks
    keys_db: str | None = None  # where credits are given back for tasks that fail (None: the default)
    store_url: str | None = None  # the shared store (CHECKER_STORE_URL): keys live there, not in keys_db
    store_prefix: str = "idphoto"
    resubmit_after: float = 60.0  # Celery mode: a task queued this long since it was sent is sent again

    def __post_init__(self) -> None:
        for name in ("lease", "timeout"):
            value = getattr(self, name)
            if not 0 < value < math.inf:  # NaN too: a zero lease would renew in a busy loop
                raise ValueError(f"task {name} must be a positive number of seconds, not {value!r}")

    def store_config(self) -> dict[str, Any]:
        """What checker.store.open_keys needs to reach this deployment's keys."""
        return {"STORE_URL": self.store_url, "STORE_PREFIX": self.store_prefix, "KEYS_DB": self.keys_db}


class _Lost(Exception):
    """The task is no longer this run's (another worker owns it, or its time limit ended it while a
    stage ran): stop quietly, writing nothing."""


class _TimedOut(Exception):
    pass


_IMAGE_STATES = {"IMAGE_FILE_SIZE_TOO_BIG": st.TOO_LARGE, "CORRUPT_IMAGE": st.INVALID_IMAGE,
                 "INVALID_IMAGE_FORMAT_OR_SIZE": st.INVALID_IMAGE, "EMPTY_IMAGE": st.INVALID_IMAGE}


class _Attempt:
    """One worker's run of one task: its lease, its deadline and who ended it.

    The time limit. A stage is CPU-bound numpy/OpenCV/mediapipe work, and a Python thread cannot be
    interrupted inside C code (an asynchronous exception would only land once the stage returned,
    and could leave a shared model half-used). So the limit is kept in two ways: ``step``, called
    between stages, stops a run that is past its deadline; and a watchdog thread (the same one that
    renews the lease) ends the task in the store at the deadline (-8, refunded, called back) even
    while a stage is still running. That run is then abandoned: its thread finishes the stage it is
    in (every stage's sizes are bounded, see generate/crop.py) and stops at its next step, and all
    its writes are refused because the task has ended. The task is never run again: it is no longer
    active, so recovery does not queue it. A subprocess per task could be killed at the deadline,
    but would load the models (seconds, hundreds of MB) for every task on a 2-core machine.

    Ending is done once: ``end`` is the only way this run ends the task, and whoever ended it (the
    worker's thread or the watchdog) refunds and calls back, the other does nothing."""

    def __init__(self, store: Tasks, task_id: str, config: TaskConfig, worker: str,
                 notify: Callable[[str], None] | None) -> None:
        self.store, self.task_id, self.config, self.worker, self.notify = store, task_id, config, worker, notify
        self.deadline = time.monotonic() + config.timeout
        self.stopped = threading.Event()  # the run is over, or abandoned: the watchdog's work is done
        self.abandoned = threading.Event()  # the task is no longer this run's
        self.ended_by: str | None = None  # "worker" or "watchdog", once the task has ended
        self._lock = threading.Lock()

    # --- the worker's side ----------------------------------------------------------------------
    def step(self, state: int, progress: int) -> None:
        """Between stages: stop if the task is no longer ours or past its limit, else record progress."""
        if self.config.stage_delay:
            time.sleep(self.config.stage_delay)
        if self.abandoned.is_set():
            raise _Lost
        if time.monotonic() > self.deadline:
            raise _TimedOut
        if not self.store.update(self.task_id, self.worker, self.config.lease, state=state, progress=progress):
            raise _Lost

    def keep(self, **fields: Any) -> bool:
        """Record fields of the running task (not its state); False when it is no longer ours."""
        if self.abandoned.is_set():
            return False
        return self.store.update(self.task_id, self.worker, self.config.lease, **fields)

    def end(self, state: int, message: str, *, by: str = "worker", **fields: Any) -> bool:
        """End the task (once, if still ours); True when this call ended it."""
        with self._lock:
            if self.ended_by is not None or not self.store.finish(self.task_id, self.worker, state, message,
                                                                  **fields):
                return False
            self.ended_by = by
        self.stopped.set()
        return True

    def after(self) -> None:
        """What follows the end of a task, by whoever ended it: the refund and the callback."""
        refund_failed(self.store, self.task_id, self.config, ended_by=self.worker)
        if self.notify is not None:
            self.notify(self.task_id)

    # --- the watchdog -----------------------------------------------------------------------------
    def watch(self) -> None:
        """Renew the lease every third of it while a stage runs (a slow stage on a loaded machine is
        not mistaken for a dead worker's task), and end the task at its deadline."""
        while True:
            left = self.deadline - time.monotonic()
            if self.stopped.wait(max(0.0, min(self.config.lease / 3, left))):
                return
            if time.monotonic() >= self.deadline:
                self._time_out()
                return
            try:
                if not self.store.update(self.task_id, self.worker, self.config.lease):
                    self.abandoned.set()  # taken over or ended: not ours to renew
                    return
            except Exception:  # a busy database: the next beat tries again
                log.warning("task %s: lease renewal failed", self.task_id, exc_info=True)

    def _time_out(self) -> None:
        message = f"processing took longer than {self.config.timeout:g} s"
        while not self.stopped.is_set():
            try:
                if self.end(st.TIMED_OUT, message, by="watchdog"):
                    log.warning("task %s: %s; the stage still running is abandoned", self.task_id, message)
                    self.abandoned.set()
                    self.after()
                else:  # the worker ended it first, or it is not ours any more
                    self.abandoned.set()
                return
            except Exception:  # a busy database: try again shortly (the worker may also end it)
                log.warning("task %s: could not record the timeout", self.task_id, exc_info=True)
                self.stopped.wait(0.5)


def execute(store: Tasks, task_id: str, config: TaskConfig, worker: str,
            notify: Callable[[str], None] | None = None) -> None:
    """Run ``task_id`` if it is queued; every outcome ends in a state (never an exception)."""
    if not store.claim(task_id, worker, config.lease):
        return
    run = _Attempt(store, task_id, config, worker, notify)
    threading.Thread(target=run.watch, name=f"watchdog-{task_id[:8]}", daemon=True).start()
    try:
        try:
            _run(store, task_id, config, run)
        except (_Lost, StorageUnavailable):
            raise
        except _TimedOut:
            run.end(st.TIMED_OUT, f"processing took longer than {config.timeout:g} s")
        except Exception:
            log.exception("task %s failed", task_id)
            run.end(st.FAILED, "internal error while processing the task")
        # A task that left _run without an end state (should not happen) is failed, not left hanging;
        # one that ended, or is no longer ours, is left as it is (end refuses).
        if not run.abandoned.is_set():
            run.end(st.FAILED, "the task ended without a result")
    except _Lost:
        pass
    except StorageUnavailable as exc:
        # The shared store went away mid-run: nothing can be written, so this attempt is given up
        # (the watchdog stops renewing). The task keeps its row; its lease runs out, and recovery
        # (any node, once the store is back) queues it again or fails it after MAX_ATTEMPTS.
        log.warning("task %s: the store cannot be reached (%s); the attempt is given up and the task will be "
                    "run again once its lease runs out", task_id, exc)
        run.abandoned.set()
        run.stopped.set()
        return
    run.stopped.set()
    if run.ended_by == "worker":
        run.after()


def _run(store: Tasks, task_id: str, config: TaskConfig, run: _Attempt) -> None:
    from ..autofix import fix, options_from_params
    from ..imaging import load_photo
    from ..specs import load_spec

    task = store.get(task_id)
    if task is None:  # deleted (expired) since this worker claimed it: no longer this worker's
        raise _Lost
    params: dict[str, Any] = json.loads(task["params"])
    params.pop(BILLING, None)
    spec_ref = params.pop("spec_id", None)  # the rest are generation options
    step = run.step
    step(st.PREPARING, 5)
    if task["image_id"]:
        if not store.input_exists(task["image_id"]):
            run.end(st.FAILED, "the reused image (last_id) is no longer kept")
            return
        data = store.read_input(task["image_id"])
    else:
        try:
            data = download(task["image_url"], config.policy)
        except TooLarge as exc:
            run.end(st.TOO_LARGE, str(exc))
            return
        except (FetchFailed, URLRefused) as exc:
            run.end(st.DOWNLOAD_FAILED, str(exc))
            return
        step(st.PREPARING, 10)
        image_id = store.save_input(data)
        if not run.keep(image_id=image_id):
            raise _Lost
    step(st.WAITING, 15)
    try:
        photo = load_photo(data)
    except CheckerError as exc:
        run.end(_IMAGE_STATES.get(exc.status, st.INVALID_IMAGE), f"{exc.status}: {exc.message}")
        return
    step(st.PROCESSING, 25)
    try:
        spec = load_spec(spec_ref or DEFAULT_SPEC)
        result = fix(photo, spec, options_from_params(params),
                     on_stage=lambda name: step(st.PROCESSING, STAGE_PROGRESS.get(name, 90)))
    except CheckerError as exc:
        run.end(st.FAILED, f"{exc.status}: {exc.message}")
        return
    if run.abandoned.is_set():  # ended at its deadline while the last stage ran: nothing to store
        raise _Lost
    ext = "jpg" if result.format == "JPEG" else "png"
    try:
        token = store.save_result(result.photo, ext)
        sheet = store.save_result(result.sheet, "jpg") if result.sheet is not None else None
    except OSError as exc:  # seed 002's -2: made, but could not be stored for download
        run.end(st.UPLOAD_FAILED, f"the photo was made but could not be stored: {exc}")
        return
    fields: dict[str, Any] = {
        "result_token": token, "result_format": ext, "sheet_token": sheet,
        "result_expires": time.time() + config.ttl,
        "report": json.dumps({"passed": result.passed, "fixed": result.fixed, "unfixable": result.unfixable,
                              "size_px": list(result.size_px), "dpi": result.dpi}),
    }
    if not run.end(st.DONE, "success", **fields):  # ended meanwhile (its deadline): the files are nobody's
        for name in (f"{token}.{ext}", f"{sheet}.jpg" if sheet else None):
            if name:
                store.discard_result(name)


BILLING = "_billing"  # in a task's params: {"key": key id, "cost": credits taken at creation}


def refund_failed(store: Tasks, task_id: str, config: TaskConfig, ended_by: str | None) -> None:
    """A task that made nothing costs nothing: give back the credits its creation took.

    Only whoever ended the task refunds it, so it happens once: its worker (``ended_by``, kept in the
    row by finish) or recovery after the worker died twice (None: recovery clears the worker). On the
    shared store the end itself gave them back (in the same atomic step), so there is nothing to do."""
    if store.refunds_with_end:
        return
    task = store.get(task_id)
    if task is None or task["state"] >= 0 or task["worker"] != ended_by:
        return
    billing = json.loads(task["params"]).get(BILLING)
    if billing and billing.get("cost"):
        from ..store import open_keys

        open_keys(config.store_config()).refund(billing["key"], int(billing["cost"]))


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
