"""The task service: accepts tasks, runs them (a thread pool here, or Celery), keeps them alive
across restarts, calls back, and sweeps expired results.

Every API server (and every Celery worker) runs one over the same store: on the shared Redis store
each of them recovers tasks whose worker died, resends queued tasks whose Celery message was lost,
and posts due callbacks; the store's atomic claims make each happen once."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..store.api import Tasks
from . import store as st
from .callbacks import CallbackSender
from .work import TaskConfig, execute, refund_failed

log = logging.getLogger(__name__)

SWEEP_EVERY = 5.0  # seconds between looks for orphaned tasks and expired files


class TaskService:
    """``mode`` "threads" runs tasks in this process; "celery" hands them to Celery workers
    (which share the store: the task folder on one machine, or the shared Redis store)."""

    def __init__(self, store: Tasks, config: TaskConfig, *, mode: str = "threads", workers: int = 2,
                 broker: str | None = None) -> None:
        if mode not in ("threads", "celery"):
            raise ValueError(f"tasks mode must be threads or celery, not {mode!r}")
        self.store, self.config, self.mode, self.broker = store, config, mode, broker
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="task")
        self._callbacks = CallbackSender(store, config, self.worker_id)  # callbacks due, from the store
        self._started = False
        self._lock = threading.Lock()
        self._in_flight: set[str] = set()  # submitted to this pool and not yet returned
        self._sent: dict[str, float] = {}  # Celery mode: queued task -> when it was last sent (or first seen)
        self._stop = threading.Event()

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        """Resume what a previous run left (queued tasks, tasks whose worker died) and keep
        sweeping. Idempotent."""
        with self._lock:
            if self._started:
                return
            self._started = True
        try:
            again, failed = self.store.recover()
            self._failed_by_recovery(failed)
            for task_id in again:
                self.submit(task_id)
            for task_id in self.store.queued():
                # Celery: each queued task is sent by one starting server per interval, not by every one.
                if task_id not in again and (self.mode == "threads"
                                             or self.store.claim_resend(task_id, self.config.resubmit_after)):
                    self.submit(task_id)
        except Exception:  # the store is away (Redis restarting): the sweeper does this once it is back
            log.exception("task recovery at start failed; the sweeper tries again every %g s", SWEEP_EVERY)
        threading.Thread(target=self._sweeper, name="task-sweeper", daemon=True).start()
        self._callbacks.start()  # and the callbacks a previous run left waiting

    def stop(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._callbacks.stop()

    def _sweeper(self) -> None:
        logged = 0.0
        while not self._stop.wait(SWEEP_EVERY):
            try:
                again, failed = self.store.recover()
                self._failed_by_recovery(failed)
                for task_id in again:
                    log.warning("task %s: its worker stopped; running it again", task_id)
                    self.submit(task_id)
                self._resubmit_stranded()
                self.store.sweep()
            except Exception:  # the sweeper must outlive a bad moment of the store (logged once a minute)
                if time.monotonic() - logged > 60:
                    logged = time.monotonic()
                    log.exception("task sweep failed")

    # --- running ----------------------------------------------------------------------------------
    def submit(self, task_id: str) -> None:
        """Queue a persisted task for running."""
        if self.mode == "celery":
            from .celery_app import send

            with self._lock:
                self._sent[task_id] = time.monotonic()
            with contextlib.suppress(Exception):  # the store is away: the send below says so, or works
                self.store.claim_resend(task_id, self.config.resubmit_after)  # the others wait that long
            try:
                send(task_id, self.broker)
            except Exception:  # the broker is away: the task is in the store, the sweeper sends it again
                log.exception("task %s: could not be sent to the Celery broker; it will be sent again", task_id)
            return
        with self._lock:
            if task_id in self._in_flight:
                return
            self._in_flight.add(task_id)
        self._pool.submit(self._run, task_id)

    def _resubmit_stranded(self) -> None:
        """Queued tasks no run of this pool holds: their run failed before claiming them (the store
        could not be written for a moment, see STORAGE_UNAVAILABLE), so nothing would ever pick them
        up until a restart.

        Celery mode: a task still queued ``resubmit_after`` seconds after this process sent it (or first
        saw it queued: another server's) is sent again, by one node of all per interval (the store's
        claim_resend). Its message was lost (a server died between writing the task and sending it, a
        worker died holding it, the broker lost it) or is still waiting in a long queue; a second message
        is harmless, since only one claim of a task wins."""
        if self.mode != "threads":
            queued = self.store.queued()
            waiting = set(queued)
            now = time.monotonic()
            due = []
            with self._lock:
                for task_id in [t for t in self._sent if t not in waiting]:
                    del self._sent[task_id]
                for task_id in queued:
                    since = self._sent.setdefault(task_id, now)
                    if now - since >= self.config.resubmit_after:
                        due.append(task_id)
            for task_id in due:
                with self._lock:
                    self._sent[task_id] = now
                if not self.store.claim_resend(task_id, self.config.resubmit_after):
                    continue  # another node sent it within the interval
                log.warning("task %s: still queued %g s after it was sent; sending it again", task_id,
                            self.config.resubmit_after)
                self.submit(task_id)
            return
        for task_id in self.store.queued():
            with self._lock:
                stranded = task_id not in self._in_flight
            if stranded:
                log.warning("task %s: queued with no run; submitting it again", task_id)
                self.submit(task_id)

    def run_here(self, task_id: str) -> None:
        """Run a task for a caller that waits for it (sync=1, a Celery worker) and return when it has
        ended: at its time limit at the latest, even while an abandoned stage still runs (that stage
        cannot be interrupted; its thread stops at the next step, see work._Attempt)."""
        ended = threading.Event()

        def notify(tid: str) -> None:  # called by whoever ended the task, after its refund
            try:
                self._notify(tid)
            finally:
                ended.set()

        runner = threading.Thread(target=execute, args=(self.store, task_id, self.config, self.worker_id, notify),
                                  name=f"sync-{task_id[:8]}", daemon=True)
        runner.start()
        while not ended.wait(0.05) and runner.is_alive():
            pass

    def _run(self, task_id: str) -> None:
        try:
            execute(self.store, task_id, self.config, self.worker_id, notify=self._notify)
        except Exception:  # a pool thread's exception is otherwise lost; the sweeper tries again
            log.exception("task %s: the run failed before it could end the task", task_id)
        finally:
            with self._lock:
                self._in_flight.discard(task_id)

    def _failed_by_recovery(self, task_ids: list[str]) -> None:
        """Tasks that died with their worker twice end like any failed task: refunded, called back."""
        for task_id in task_ids:
            log.warning("task %s: its worker stopped twice; failed", task_id)
            refund_failed(self.store, task_id, self.config, ended_by=None)
            self._notify(task_id)

    def _notify(self, task_id: str) -> None:
        """A task ended: its callback (queued in the store with the end) is sent now."""
        self._callbacks.kick()

    # --- reading ----------------------------------------------------------------------------------
    def wait(self, task_id: str, timeout: float) -> dict[str, Any] | None:
        """The task once it has ended, or as it is after ``timeout`` seconds."""
        end = time.monotonic() + timeout
        while True:
            task = self.store.get(task_id)
            if task is None or task["state"] not in (st.QUEUED, *st.ACTIVE) or time.monotonic() > end:
                return task
            time.sleep(0.05)
