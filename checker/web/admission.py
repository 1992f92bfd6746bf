"""A bounded queue for the heavy requests: each process runs at most ``ADMISSION_SLOTS`` of them at
once; one that finds no free slot within ``ADMISSION_WAIT`` seconds is answered 503 with Retry-After
in its API family's envelope, instead of waiting for ever behind the others.

The wait counts from when the request was read whole: under checker.web.gunicorn_worker, time spent
waiting for one of the worker's threads is deducted, so a request is never queued much longer than
``ADMISSION_WAIT`` however many clients are connected.

Heavy means a view that decodes a photo and runs the models in the request: the check, fix, the
HivisionIDPhotos edits, matting, eye masking and a task created with ``sync=1``. Everything else
(health, the catalogue, polling, result files, the page, an async task's creation) never waits for a
slot, so /healthz is answered however busy the process is.

The slot is taken in an app-level ``before_request``: the URL has been matched by then, so the error
raised there goes through the matched blueprint's own error handler (its envelope, see
:func:`envelopes.use`), including for the HivisionIDPhotos paths, which have no URL prefix.
"""

from __future__ import annotations

import math
import threading
from typing import Any

from flask import Flask, g, request

from ..errors import CheckerError
from .gunicorn_worker import queued_seconds

# Every POST of these blueprints works on a photo in the request.
HEAVY_BLUEPRINTS = frozenset({"check_api", "fix_api", "hivision", "matting_api", "mask_api"})
SYNC_TASK_ENDPOINT = "tasks_api.create_task"

DEFAULTS = {"ADMISSION_SLOTS": 2, "ADMISSION_WAIT": 1.0}
_EXTENSION = "idphoto_admission"
_TRUE = ("1", "true", "yes", "on")


class Slots:
    """The heavy requests a process runs at once (a semaphore sized by the app's config)."""

    def __init__(self, size: int) -> None:
        self.size = max(1, int(size))
        self._sem = threading.BoundedSemaphore(self.size)

    def take(self, wait: float) -> bool:
        return self._sem.acquire(timeout=max(0.0, wait))

    def give_back(self) -> None:
        self._sem.release()


def slots(app: Flask) -> Slots:
    found = app.extensions.get(_EXTENSION)
    size = int(app.config.get("ADMISSION_SLOTS", DEFAULTS["ADMISSION_SLOTS"]))
    if found is None or found.size != max(1, size):  # built on first use, after the config is final
        found = app.extensions[_EXTENSION] = Slots(size)
    return found


def is_heavy() -> bool:
    if request.method != "POST":
        return False
    if request.blueprint in HEAVY_BLUEPRINTS:
        return True
    if request.endpoint == SYNC_TASK_ENDPOINT:
        from .inputs import request_params

        try:
            sync = request_params().get("sync")
        except CheckerError:  # a body the view will refuse with its own message
            return False
        return str(sync).strip().lower() in _TRUE
    return False


def install(app: Flask) -> None:
    """Register the slot-taking hooks (call after the request id hook, so a 503 carries the id)."""
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    lock = threading.Lock()

    @app.before_request
    def take_slot() -> None:
        if not is_heavy():
            return
        from flask import current_app

        with lock:
            gate = slots(current_app)
        wait = float(current_app.config["ADMISSION_WAIT"])
        # A request that already waited for a thread of the server (a full worker) waits only what is
        # left of ADMISSION_WAIT: the queue ahead of the slots is bounded in time, not only in length.
        if not gate.take(wait - queued_seconds()):
            g.retry_after = max(1, math.ceil(wait))
            raise CheckerError("SERVER_BUSY", f"the server is busy ({gate.size} photos at once in this process); "
                               "retry after the Retry-After seconds", http=503)
        g.admission_slot = gate

    @app.teardown_request
    def give_slot_back(_exc: Any) -> None:
        gate = g.pop("admission_slot", None)
        if gate is not None:
            gate.give_back()
