"""Run the app under gunicorn from Python (``idphoto serve``), with the project's gunicorn config."""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

from gunicorn.app.base import BaseApplication

if TYPE_CHECKING:
    from flask import Flask


class Server(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        from . import gunicorn_conf

        settings = {k: getattr(gunicorn_conf, k) for k in dir(gunicorn_conf) if k in self.cfg.settings}
        settings.update({k: v for k, v in self.options.items() if v is not None})
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self):
        from . import create_app

        return create_app()


def access_mode(host: str) -> tuple[str, str]:
    """The address to bind and a sentence for the operator: with no active API key the service is
    open, so it binds to loopback whatever was asked."""
    import ipaddress

    from ..errors import StorageUnavailable
    from ..store import open_keys
    from ..tasks.settings import env_config

    try:
        active = open_keys(env_config()).active_count()  # the shared store's keys when CHECKER_STORE_URL is set
    except StorageUnavailable as exc:  # whether the API is open cannot be known: do not guess
        raise SystemExit(f"idphoto: {exc}; start it or correct CHECKER_STORE_URL") from None
    if active:
        return host, f"{active} active API key(s): every API request needs one"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    note = "no API keys, so the API is open to this machine only"
    if not loopback:
        note += f"; listening on 127.0.0.1 instead of {host} (create a key with `idphoto keys create` to serve others)"
        host = "127.0.0.1"
    return host, note


def serve(host: str = "127.0.0.1", port: int = 8080, workers: int | None = None) -> None:
    """Serve until interrupted."""
    Server({"bind": f"{host}:{port}", "workers": workers}).run()


def _in_gunicorn_worker() -> bool:
    """A gunicorn worker sets its signal handlers before it loads the app; the master's are its own."""
    from gunicorn.workers.base import Worker

    return isinstance(getattr(signal.getsignal(signal.SIGTERM), "__self__", None), Worker)


def resume_tasks_in_each_worker(app: Flask) -> None:
    """Start ``app``'s task service (it resumes what a killed run left, then keeps sweeping) in the
    process that serves it, for servers started without the project's gunicorn hooks (a plain
    ``gunicorn wsgi:app``).

    Imported by a gunicorn worker (the default), that process is this one. Imported by gunicorn's
    master to preload the app (``--preload``), threads started now would not survive the fork into
    the workers: each forked child starts it instead, once it is a worker (the check skips a child
    that gunicorn forks only to exec a new master)."""
    from .tasks_api import start_tasks

    if "gunicorn.arbiter" not in sys.modules or _in_gunicorn_worker():
        start_tasks(app)
        return

    def when_a_worker() -> None:
        for _ in range(40):  # the worker sets its signal handlers within moments of the fork
            if _in_gunicorn_worker():
                start_tasks(app)
                return
            threading.Event().wait(0.25)

    os.register_at_fork(after_in_child=lambda: threading.Thread(target=when_a_worker, name="task-resume",
                                                                daemon=True).start())
