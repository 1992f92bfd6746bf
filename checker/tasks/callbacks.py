"""Callbacks: when a task ends, its callback_url gets the polling body POSTed, once.

- Durable: the callback is a row of the task store, written in the transaction that ends the task
  (store.finish, or recovery failing a task). Attempts, the next attempt's time and the last error are
  kept there, so a callback waiting for a retry survives a kill -9 and is sent by the service that
  starts next over the same folder (or by any node on the shared Redis store: every API server and
  Celery worker runs a sender, and the claim decides which one posts it).
- Once: a sender claims a due row atomically (as a worker claims a task) and holds it by a lease
  longer than an attempt can last; a delivered callback is never sent again. Only a sender that dies
  between the receiver's 2xx and writing it down leaves a callback to be sent a second time.
- Concurrent: every attempt runs in its own thread (up to MAX_IN_FLIGHT at once) within the policy's
  total timeout, so a receiver that hangs holds only its own callback.
- Retries: after a failed attempt (no answer, not 2xx) the next comes ``callback_delays`` later (1, 3,
  9 and 27 s by default), then the callback is given up; the outcome is the task's callback_status.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from ..store.api import Tasks
from .urls import FetchFailed, URLRefused, post_json
from .work import TaskConfig, polling_body

log = logging.getLogger(__name__)

POLL_EVERY = 1.0  # seconds between looks for due callbacks (another process's included)
MAX_IN_FLIGHT = 32  # attempts under way at once in one process
LEASE_MARGIN = 5.0  # a claim outlives the attempt's deadline by this much


class CallbackSender:
    """Posts the due callbacks of ``store`` from a thread of its own; ``kick()`` when one may be due."""

    def __init__(self, store: Tasks, config: TaskConfig, worker: str,
                 max_in_flight: int = MAX_IN_FLIGHT) -> None:
        self.store, self.config, self.worker = store, config, worker
        self.delays = tuple(config.callback_delays) or (0.0,)
        self.lease = config.policy.timeout + LEASE_MARGIN
        self._slots = threading.BoundedSemaphore(max(1, max_in_flight))
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start sending (what a previous run left due is sent first). Idempotent."""
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._loop, name="callbacks", daemon=True)
                self._thread.start()

    def kick(self) -> None:
        """A task just ended: look now rather than at the next poll."""
        self.start()
        self._wake.set()

    def stop(self) -> None:
        """No new attempts (those under way end by their deadline)."""
        self._stop.set()
        self._wake.set()

    def _loop(self) -> None:
        logged = 0.0
        while not self._stop.is_set():
            wait = POLL_EVERY
            try:
                self.dispatch()
                due = self.store.next_callback_at(self.delays[0])
                if due is not None:
                    wait = min(wait, max(0.0, due - time.time()) + 0.01)
            except Exception:  # the loop must outlive a bad moment of the database (logged once a minute)
                if time.monotonic() - logged > 60:
                    logged = time.monotonic()
                    log.exception("callback dispatch failed")
            self._wake.wait(wait)
            self._wake.clear()

    def dispatch(self) -> int:
        """Claim every due callback there is room for and start its attempt; how many started."""
        due = self.store.next_callback_at(self.delays[0])  # a read: no write lock while nothing is due
        if due is None or due > time.time():
            return 0
        started = 0
        while not self._stop.is_set() and self._slots.acquire(blocking=False):
            try:
                row = self.store.claim_callback(self.worker, self.lease, self.delays[0])
            except BaseException:
                self._slots.release()
                raise
            if row is None:
                self._slots.release()
                break
            threading.Thread(target=self._attempt, args=(row,), name=f"callback-{row['task_id'][:8]}",
                             daemon=True).start()
            started += 1
        return started

    def _attempt(self, row: dict[str, Any]) -> None:
        try:
            attempt(self.store, row, self.config, self.worker)
        except Exception:
            log.exception("callback for task %s failed", row["task_id"])
        finally:
            self._slots.release()
            self._wake.set()


def attempt(store: Tasks, row: dict[str, Any], config: TaskConfig, worker: str) -> bool:
    """One claimed attempt: POST the task's polling body to the row's URL, record the outcome.
    True when delivered."""
    task_id, number = row["task_id"], int(row["attempts"])
    delays = tuple(config.callback_delays) or (0.0,)
    task = store.get(task_id)
    if task is None:
        store.callback_attempted(task_id, worker, delivered=False, status="not sent: the task is gone",
                                 error="the task is gone")
        return False
    body = json.dumps(polling_body(task)).encode()
    error: str | None
    try:
        code = post_json(row["url"], body, config.policy)
        error = None if 200 <= code < 300 else f"HTTP {code}"
    except (FetchFailed, URLRefused) as exc:
        error = str(exc)
    if error is None:
        store.callback_attempted(task_id, worker, delivered=True, status=f"delivered (attempt {number})")
        return True
    if number < len(delays):
        wait = delays[number]
        store.callback_attempted(task_id, worker, delivered=False, error=error, retry_at=time.time() + wait,
                                 status=f"attempt {number} failed: {error}; next in {wait:g} s")
    else:
        store.callback_attempted(task_id, worker, delivered=False, error=error,
                                 status=f"failed after {number} attempts: {error}")
    log.info("callback for task %s, attempt %d: %s", task_id, number, error)
    return False
