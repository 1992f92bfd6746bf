"""A real redis-server for the tests, on a free loopback port, and the store backends the store tests
run against (``backend``: the embedded SQLite default and the shared Redis store, same tests).

One redis-server per test process (pytest-xdist workers each start their own), started on first use;
every test gets its own key prefix on it, so tests never see each other's state. Where redis-server is
not installed (tools/system-packages.sh installs it) the Redis cases are skipped with the reason, and
fail under CI=true.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .servers import free_port

__all__ = ["RedisProcess", "free_port", "need_redis"]


def need_redis() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        reason = "redis-server is not installed (tools/system-packages.sh installs it from Debian's packages)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return binary


class RedisProcess:
    """redis-server on 127.0.0.1:``port`` with its files in ``folder``. ``durable``: every write in the
    append-only file before it is answered (appendfsync always), so a kill -9 loses nothing."""

    def __init__(self, folder: Path, *, durable: bool = False, port: int | None = None) -> None:
        self.binary = need_redis()
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.durable = durable
        self.proc: subprocess.Popen | None = None

    def start(self) -> RedisProcess:
        persistence = (["--appendonly", "yes", "--appendfsync", "always", "--save", ""] if self.durable
                       else ["--appendonly", "no", "--save", ""])
        self.proc = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--dir", str(self.folder), "--protected-mode", "yes", *persistence],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        end = time.time() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > end:
                self.kill()
                pytest.fail(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.kill(signal.SIGTERM)


@dataclass
class Backend:
    """Where a test's state lives: ``config`` goes into create_app (and, as CHECKER_* variables, into
    subprocesses: ``env``)."""

    name: str
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def redis(self) -> bool:
        return self.name == "redis"

    @property
    def env(self) -> dict[str, str]:
        return {f"CHECKER_{k}": str(v) for k, v in self.config.items()}

    def keys(self, path: Path) -> Any:
        """The key store: ``path`` is the SQLite file (unused on Redis)."""
        from checker.store import open_keys

        return open_keys({"KEYS_DB": str(path), **self.config})

    def tasks(self, root: Path, ttl: float = 3600.0) -> Any:
        """The task store: ``root`` is the SQLite folder (unused on Redis)."""
        from checker.store import open_tasks

        return open_tasks({"TASKS_DIR": str(root), "TASK_TTL": ttl, **self.config})


@pytest.fixture(params=["sqlite", "redis"])
def backend(request) -> Backend:
    if request.param == "sqlite":
        return Backend("sqlite")
    server = request.getfixturevalue("redis_server")
    return Backend("redis", {"STORE_URL": server.url, "STORE_PREFIX": f"t{uuid.uuid4().hex[:12]}"})
