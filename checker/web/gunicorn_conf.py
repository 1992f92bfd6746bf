"""gunicorn settings: ``gunicorn -c python:checker.web.gunicorn_conf wsgi:app``.

Each worker loads the models once, after it forks and before it serves (mediapipe graphs own
threads, which do not survive a fork, so they are not preloaded in the master).
"""

from __future__ import annotations

import multiprocessing
import os

bind = os.environ.get("CHECKER_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("CHECKER_WORKERS", min(2, multiprocessing.cpu_count())))
worker_class = "sync"
timeout = 60
graceful_timeout = 20
# A check is CPU-bound and short; sync workers with a small backlog keep latency honest.
backlog = 256
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("CHECKER_LOG_LEVEL", "info")


def post_worker_init(worker) -> None:  # noqa: ANN001 - gunicorn's hook signature
    import cv2

    from checker import models
    from checker.web.tasks_api import start_tasks

    if workers >= multiprocessing.cpu_count():
        # The workers already keep every core busy: a model call or an OpenCV filter spreading over
        # all cores only makes them contend (measured: 15 -> 20 requests/s with 2 workers on 2 cores).
        os.environ.setdefault("CHECKER_MODEL_THREADS", "1")
        cv2.setNumThreads(1)
    models.warm_up()
    worker.log.info("worker %s: models loaded (%s)", worker.pid, ", ".join(models.loaded()))
    start_tasks(worker.wsgi)  # resume tasks a previous run accepted but did not finish

