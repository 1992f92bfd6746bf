"""Where the service keeps its state, chosen by ``CHECKER_STORE_URL``:

- unset (the embedded default): SQLite files and folders on this machine, ``tasks/`` and ``keys.sqlite3``
  in the instance folder (``CHECKER_TASKS_DIR``, ``CHECKER_KEYS_DB``). One machine.
- ``redis://[:password@]host:port/db`` (or ``rediss://``, ``unix://``): tasks, callbacks, kept inputs,
  result images, keys, credits and rate windows all on that Redis, which every API server and Celery
  worker of a deployment shares; ``CHECKER_STORE_PREFIX`` (default ``idphoto``) starts every name, so
  one Redis can hold several deployments.

Both backends implement :mod:`checker.store.api`. ``cfg`` below is a Flask config or the environment's
``CHECKER_*`` values without the prefix (:func:`checker.tasks.settings.env_config`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .api import Keys, Tasks
from .shared import DEFAULT_PREFIX, redacted

__all__ = ["Keys", "Tasks", "open_keys", "open_tasks", "store_url", "store_prefix", "describe"]

_SCHEMES = ("redis://", "rediss://", "unix://")


def store_url(cfg: Mapping[str, Any]) -> str | None:
    """The shared store's URL, or None for the embedded SQLite default."""
    value = str(cfg.get("STORE_URL") or "").strip()
    if not value:
        return None
    if not value.startswith(_SCHEMES):
        raise ValueError(f"CHECKER_STORE_URL must start with redis://, rediss:// or unix://, not {redacted(value)!r}")
    return value


def store_prefix(cfg: Mapping[str, Any]) -> str:
    return str(cfg.get("STORE_PREFIX") or DEFAULT_PREFIX)


def _instance() -> Path:
    from ..instance import instance_dir

    return instance_dir()


def open_keys(cfg: Mapping[str, Any]) -> Keys:
    """The key store ``cfg`` names: Redis when STORE_URL is set, else the SQLite file KEYS_DB (default
    keys.sqlite3 in the instance folder)."""
    url = store_url(cfg)
    if url is not None:
        from .redis_keys import RedisKeyStore

        return RedisKeyStore(url, prefix=store_prefix(cfg))
    from ..keys import KeyStore, default_path

    return KeyStore(cfg.get("KEYS_DB") or default_path())


def open_tasks(cfg: Mapping[str, Any], *, instance: str | os.PathLike[str] | None = None) -> Tasks:
    """The task store ``cfg`` names: Redis when STORE_URL is set, else the folder TASKS_DIR (default
    tasks/ in ``instance`` or the instance folder)."""
    ttl = float(cfg.get("TASK_TTL", 3600))
    url = store_url(cfg)
    if url is not None:
        from .redis_tasks import RedisTaskStore

        return RedisTaskStore(url, prefix=store_prefix(cfg), ttl=ttl)
    from ..tasks.store import TaskStore

    root = cfg.get("TASKS_DIR") or Path(instance or _instance()) / "tasks"
    return TaskStore(root, ttl=ttl)


def describe(cfg: Mapping[str, Any]) -> str:
    """One line for operators: where the state lives."""
    url = store_url(cfg)
    if url is not None:
        return f"shared store {redacted(url)} (prefix {store_prefix(cfg)!r})"
    return "SQLite in the instance folder"
