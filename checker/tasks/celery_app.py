"""Celery transport for tasks: ``CHECKER_TASKS=celery`` sends task ids through a Redis broker to
workers started with

    celery -A checker.tasks.celery_app worker --concurrency 2

which run the very same ``execute`` against the same store: the task folder (CHECKER_TASKS_DIR) on
one machine, or the shared Redis store (CHECKER_STORE_URL) on any number of machines. Only the task id
travels: the message is a doorbell, the store holds the task. A lost message costs nothing but time:
the API servers send a task again when it stays queued (TaskService._resubmit_stranded), and a
duplicate finds the task claimed and does nothing."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

DEFAULT_BROKER = "redis://127.0.0.1:6379/0"


@lru_cache(maxsize=4)
def make_app(broker: str | None = None) -> Any:
    from celery import Celery

    # The broker: as given, else CHECKER_CELERY_BROKER_URL, else the shared store's Redis (its names never
    # meet Celery's: they all start with the store's prefix), else a local Redis.
    app = Celery("idphoto", broker=broker or os.environ.get("CHECKER_CELERY_BROKER_URL")
                 or os.environ.get("CHECKER_STORE_URL") or DEFAULT_BROKER)
    app.conf.update(task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
                    broker_connection_retry_on_startup=True, task_ignore_result=True,
                    # A broker that is away must not hold a request: connect within 2 s, and publishing
                    # gives up after about a second (the task is in the store; it is sent again later).
                    broker_connection_timeout=2,
                    broker_transport_options={"socket_connect_timeout": 2, "socket_timeout": 5},
                    task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.3,
                                               "interval_max": 0.5})

    @app.task(name="checker.tasks.run")
    def run(task_id: str) -> None:
        _worker_service().run_here(task_id)

    return app


@lru_cache(maxsize=1)
def _worker_service() -> Any:
    """The service as a Celery worker process sees it: the store named by the environment."""
    from .service import TaskService
    from .settings import config_from_env, store_from_env

    return TaskService(store_from_env(), config_from_env(), mode="threads", workers=1)


def send(task_id: str, broker: str | None) -> None:
    make_app(broker).send_task("checker.tasks.run", args=[task_id])


app = make_app()  # what `celery -A checker.tasks.celery_app` finds
