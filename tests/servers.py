"""A real `idphoto serve` on a free loopback port, with its own state folder (tasks, keys)."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str, timeout: float = 10) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def wait_healthy(base: str, proc: subprocess.Popen, log: Path, limit: float = 120, what: str = "the server") -> dict:
    """/healthz of a server started as ``proc`` (its output in ``log``), once it answers; fails the test with
    the log's tail when the process ends or ``limit`` seconds pass first."""
    end = time.time() + limit
    while True:
        try:
            return get_json(base + "/healthz", timeout=5)
        except OSError:
            if proc.poll() is not None or time.time() > end:
                pytest.fail(f"{what} did not start:\n{log.read_text(errors='replace')[-4000:]}")
            time.sleep(0.2)


def post_check_pic(base: str, photo: Path, spec: str) -> tuple[int, dict]:
    """(HTTP status, report) of one JSON /api/check_pic of ``photo`` (base64) against ``spec``."""
    body = {"file": base64.b64encode(photo.read_bytes()).decode(), "spec_id": spec}
    req = urllib.request.Request(base + "/api/check_pic", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=90) as resp:
        return resp.status, json.loads(resp.read())


@contextmanager
def http_thread(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A throwaway HTTP server on loopback running ``handler`` in a thread; yields its base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


class Server:
    """`idphoto serve` with a task folder and a key file beside it; start / kill -9 / start again."""

    def __init__(self, tasks_dir: Path, host: str = "127.0.0.1", **env: str) -> None:
        self.host = host
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.keys_db = tasks_dir.parent / "keys.sqlite3"
        self.env = os.environ | {"CI": "", "CHECKER_TASKS_DIR": str(tasks_dir), "CHECKER_KEYS_DB": str(self.keys_db),
                                 "CHECKER_ALLOW_PRIVATE_URLS": "true", "CHECKER_TASK_LEASE": "2"} | env
        self.proc: subprocess.Popen | None = None
        self.stderr = ""

    def start(self) -> None:
        idphoto = Path(sys.executable).with_name("idphoto")
        log = self.keys_db.parent / f"serve-{self.port}.log"
        self.proc = subprocess.Popen([str(idphoto), "serve", "--host", self.host, "--port", str(self.port),
                                      "--workers", "2"], cwd=ROOT,
                                     env=self.env, stdout=subprocess.DEVNULL, stderr=open(log, "wb"),  # noqa: SIM115
                                     start_new_session=True)
        end = time.time() + 90
        while True:
            try:
                get_json(self.base + "/healthz")
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > end:
                    pytest.fail(f"the server did not start: {log.read_text(errors='replace')[-2000:]}")
                time.sleep(0.3)
        self.stderr = log.read_text(errors="replace")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=20)
