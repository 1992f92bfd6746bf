"""gunicorn settings: ``gunicorn -c python:checker.web.gunicorn_conf wsgi:app`` (and ``idphoto serve``).

Workers are gunicorn's threaded worker with its requests read whole in the event loop first
(checker.web.gunicorn_worker): slow clients cost a buffer, never a thread, and a late request is a
408. Heavy requests take one of ``CHECKER_ADMISSION_SLOTS`` slots per worker or are answered 503 with
Retry-After (checker.web.admission). Each worker loads the models once, after it forks and before it
serves (mediapipe graphs own threads, which do not survive a fork, so they are not preloaded in the
master), and resumes the tasks a previous run left.
"""

from __future__ import annotations

import multiprocessing
import os

bind = os.environ.get("CHECKER_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("CHECKER_WORKERS", min(2, multiprocessing.cpu_count())))
worker_class = "checker.web.gunicorn_worker.BufferedThreadWorker"
# Threads per worker: the photo work runs ADMISSION_SLOTS at a time, the other threads wait up to
# ADMISSION_WAIT for a slot (then 503) or serve the light POSTs (async task creation); GET, HEAD and
# OPTIONS have 4 threads of their own. The models are shared by a worker's threads (mediapipe graphs
# behind a lock each, onnxruntime sessions re-entrant).
threads = int(os.environ.get("CHECKER_THREADS", 8))
worker_connections = 1000  # open connections per worker, slow ones included
timeout = 60  # a worker whose event loop stops for this long is restarted
graceful_timeout = 20
keepalive = 5
backlog = 256
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("CHECKER_LOG_LEVEL", "info")
logger_class = "checker.web.accesslog.RedactingLogger"  # no key secrets in the access log
# gunicorn's control socket (gunicornc) only where asked for: its default path is one per user, which
# two servers on one machine would take from each other.
_control = os.environ.get("CHECKER_CONTROL_SOCKET")
control_socket_disable = not _control
if _control:
    control_socket = _control


def post_fork(server, worker) -> None:  # noqa: ANN001 - gunicorn's hook signature
    """Before the worker imports the app: how many threads one model call or OpenCV filter may use."""
    import cv2

    from checker.web.admission import DEFAULTS

    # Workers x photo slots calls run at once; spreading each over every core as well only makes them
    # contend (measured with sync workers: 15 -> 20 requests/s with 2 workers on 2 cores, one thread each).
    slots = int(os.environ.get("CHECKER_ADMISSION_SLOTS") or DEFAULTS["ADMISSION_SLOTS"])
    per_call = max(1, multiprocessing.cpu_count() // max(1, worker.cfg.workers * slots))
    os.environ.setdefault("CHECKER_MODEL_THREADS", str(per_call))
    chosen = int(os.environ["CHECKER_MODEL_THREADS"] or 0)
    if chosen > 0:  # 0: the libraries' own default
        cv2.setNumThreads(chosen)
    _few_malloc_arenas()


def _few_malloc_arenas() -> None:
    """glibc gives each new thread its own malloc arena (up to 8 a core); with a worker's request
    threads each decoding photos, the arenas fragment and the worker's RSS kept creeping up (bench/load.py:
    530-620 MB a worker over 3 x 40 s at 16 clients, against 400-456 MB with two arenas). Two arenas,
    unless MALLOC_ARENA_MAX says otherwise (glibc reads that itself at start)."""
    if os.environ.get("MALLOC_ARENA_MAX"):
        return
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(-8, 2)  # M_ARENA_MAX (malloc.h); not glibc: no mallopt, nothing to do
    except (OSError, AttributeError):
        pass


def post_worker_init(worker) -> None:  # noqa: ANN001 - gunicorn's hook signature
    from checker import models
    from checker.generate import matting
    from checker.web.tasks_api import start_tasks

    models.warm_up()
    matting.warm_up()  # pymatting's import and kernels, so the first /api/fix does not pay them
    worker.log.info("worker %s: models loaded (%s)", worker.pid, ", ".join(models.loaded()))
    start_tasks(worker.wsgi)  # resume tasks a previous run accepted but did not finish
