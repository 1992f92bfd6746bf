"""Task settings from the Flask config or the environment (CHECKER_* names)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..store import Tasks, open_tasks, store_prefix, store_url
from .urls import Policy
from .work import TaskConfig


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _delays(value: Any) -> tuple[float, ...]:
    """Callback retry delays: a list (Flask parses CHECKER_CALLBACK_DELAYS as JSON) or, from the
    raw environment a Celery worker reads, text such as "[0, 1, 3]" or "0,1,3"."""
    if isinstance(value, str):
        value = [v for v in value.strip().strip("[]").split(",") if v.strip()]
    try:
        delays = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"CHECKER_CALLBACK_DELAYS must be a list of seconds, got {value!r}") from None
    if not delays or any(not 0 <= d < 86400 for d in delays):
        raise ValueError(f"CHECKER_CALLBACK_DELAYS must be seconds between 0 and a day, got {value!r}")
    return delays


def config_from(cfg: Mapping[str, Any]) -> TaskConfig:
    return TaskConfig(
        lease=float(cfg.get("TASK_LEASE", 30)),
        timeout=float(cfg.get("TASK_TIMEOUT", 30)),
        ttl=float(cfg.get("TASK_TTL", 3600)),
        policy=Policy(allow_private=_truthy(cfg.get("ALLOW_PRIVATE_URLS", False)),
                      timeout=float(cfg.get("URL_TIMEOUT", 10))),
        callback_delays=_delays(cfg.get("CALLBACK_DELAYS", (0.0, 1.0, 3.0, 9.0, 27.0))),
        stage_delay=float(cfg.get("TASK_STAGE_DELAY", 0)),
        keys_db=str(cfg["KEYS_DB"]) if cfg.get("KEYS_DB") else None,
        store_url=store_url(cfg),
        store_prefix=store_prefix(cfg),
        resubmit_after=float(cfg.get("TASK_RESUBMIT_AFTER", 60)),
    )


def env_config() -> dict[str, Any]:
    """The CHECKER_* environment without the prefix (what a Celery worker or the CLI reads)."""
    return {k[len("CHECKER_"):]: v for k, v in os.environ.items() if k.startswith("CHECKER_")}


_env = env_config


def config_from_env() -> TaskConfig:
    return config_from(env_config())


def store_from_env() -> Tasks:
    """The task store the environment names: CHECKER_STORE_URL (shared), else CHECKER_TASKS_DIR (or
    tasks/ in the instance folder)."""
    return open_tasks(env_config())
