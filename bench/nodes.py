"""Throughput with one and with two API servers on the same Redis (issue 17). Prints figures; asserts nothing.

    .venv/bin/python bench/nodes.py [--seconds 15] [--clients 8] [--workers 1] [--fsync everysec|always]

Starts a redis-server on a free loopback port (append-only file, ``--fsync`` as asked), then the
documented gunicorn command (``gunicorn -c python:checker.web.gunicorn_conf wsgi:app``) once per API
server, each with its own instance folder and ``--workers`` workers, all with CHECKER_STORE_URL on that
Redis; for comparison, one server on the embedded SQLite store first. Every request carries an API key
(so each one reads the key, its rate window and, for polling, the task from the store). Two workloads,
each for ``--seconds`` with ``--clients`` keep-alive clients spread round-robin over the servers:

- ``poll``: seed 002's GET of a task (store-bound: no photo work),
- ``check``: check_pic with a 600 x 800 JPEG (base64 JSON; CPU-bound, the free check).

For each: answers/s, p50/p95 latency, statuses, and Redis's own CPU time over the run. All traffic is
to 127.0.0.1. The clients are Python threads in this process and share the machine's cores with the
servers and Redis, so on a small machine the figures say how the store scales, not what a cluster of
real machines serves.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import PHOTOS, free_port, jpeg, pct, workers_of  # noqa: E402 - bench/ is not a package

ROOT = Path(__file__).resolve().parent.parent
TASK_URL = "/api/tasks/visual/external/idphoto"


def start_redis(folder: Path, fsync: str) -> tuple[subprocess.Popen, int]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed (tools/system-packages.sh installs it)")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", "",
                             "--appendonly", "yes", "--appendfsync", fsync], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    end = time.time() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            if time.time() > end:
                sys.exit("redis-server did not start")
            time.sleep(0.05)


def start_server(folder: Path, workers: int, env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = os.environ | env | {"CHECKER_BIND": f"127.0.0.1:{port}", "CHECKER_WORKERS": str(workers),
                              "CHECKER_INSTANCE_DIR": str(folder), "CHECKER_LOG_LEVEL": "warning"}
    for name in ("CHECKER_TASKS_DIR", "CHECKER_KEYS_DB"):
        env.pop(name, None)
    log = folder / "gunicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:checker.web.gunicorn_conf",
                                 "wsgi:app"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    end = time.time() + 120
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            ok = conn.getresponse().status == 200
            conn.close()
            if ok and len(workers_of(proc.pid)) == workers:
                break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > end:
            sys.exit(f"gunicorn did not start:\n{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.3)
    time.sleep(2)  # the last worker's models
    return proc, port


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def redis_cpu(port: int) -> float:
    """used_cpu_sys + used_cpu_user of the Redis server, seconds."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"INFO cpu\r\n")
        data = b""
        while b"used_cpu_user:" not in data or not data.endswith(b"\r\n"):
            data += s.recv(65536)
    fields = dict(line.split(":", 1) for line in data.decode().splitlines() if ":" in line)
    return float(fields["used_cpu_sys"]) + float(fields["used_cpu_user"])


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: list[float] = []
        self.status: Counter[str] = Counter()


def client(port: int, method: str, path: str, body: bytes | None, headers: dict[str, str], tally: Tally,
           stop_at: float) -> None:
    conn: http.client.HTTPConnection | None = None
    while time.monotonic() < stop_at:
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        start = time.monotonic()
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
        except (OSError, http.client.HTTPException) as exc:
            with tally.lock:
                tally.status[type(exc).__name__] += 1
            conn.close()
            conn = None
            continue
        with tally.lock:
            tally.latency.append(time.monotonic() - start)
            tally.status[str(resp.status)] += 1
        if resp.status in (429, 503):
            time.sleep(1)
    if conn is not None:
        conn.close()


def run(ports: list[int], clients: int, seconds: float, method: str, path: str, body: bytes | None,
        headers: dict[str, str]) -> tuple[Tally, float]:
    tally = Tally()
    stop_at = time.monotonic() + seconds
    threads = [threading.Thread(target=client, args=(ports[i % len(ports)], method, path, body, headers, tally,
                                                     stop_at)) for i in range(clients)]
    begin = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tally, time.monotonic() - begin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="per workload and setup")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers per API server")
    parser.add_argument("--fsync", choices=("everysec", "always"), default="everysec")
    args = parser.parse_args()

    photo = jpeg(PHOTOS[0])
    check_body = json.dumps({"file": base64.b64encode(photo).decode(), "spec_id": 1102}).encode()
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), "?")
    load1 = os.getloadavg()[0]
    print(f"{time.strftime('%Y-%m-%d %H:%M')}  {os.cpu_count()} cores ({cpu}), load average {load1:.1f} at start; "
          f"{args.workers} worker(s) per API server; {args.clients} clients; {args.seconds:g} s per row; "
          f"Redis appendfsync {args.fsync}")
    print(f"{'store':<7} {'servers':>7} {'workload':<8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'redis cpu':>9}  statuses")
    with tempfile.TemporaryDirectory(prefix="idphoto-nodes-") as tmp:
        root = Path(tmp)
        redis, rport = start_redis(root / "redis", args.fsync)
        url = f"redis://127.0.0.1:{rport}/0"
        shared = {"CHECKER_STORE_URL": url, "CHECKER_TASKS": "celery", "CHECKER_CELERY_BROKER_URL":
                  f"redis://127.0.0.1:{rport}/1"}
        os.environ["CHECKER_INSTANCE_DIR"] = str(root / "cli")
        from checker.store import open_keys, open_tasks

        setups = [("sqlite", 1, {}), ("redis", 1, shared), ("redis", 2, shared)]
        try:
            for store, count, env in setups:
                folders = [root / f"{store}{count}" / chr(97 + i) for i in range(count)]
                cfg = ({"STORE_URL": url} if store == "redis" else
                       {"KEYS_DB": str(folders[0] / "keys.sqlite3"), "TASKS_DIR": str(folders[0] / "tasks")})
                key = open_keys(cfg).create("bench")
                # A task to poll: its input is not a photo, so where it runs it fails at once (-7), and on
                # Redis no Celery worker runs it (queued); polling reads its row all the same. No download.
                tasks, key_id = open_tasks(cfg), key.split(".")[0]
                task_id = tasks.create({"_billing": {"key": key_id, "cost": 0}},
                                       image_id=tasks.save_input(b"not a photo", owner=key_id), image_url=None,
                                       callback_url=None, base_url="")
                servers = [start_server(f, args.workers, env) for f in folders]
                ports = [port for _, port in servers]
                auth = {"X-API-KEY": key, "APIKEY": key}
                try:
                    for workload, method, path, body, ctype in (
                            ("poll", "GET", f"{TASK_URL}/{task_id}", None, None),
                            ("check", "POST", "/api/check_pic", check_body, "application/json")):
                        headers = auth | ({"Content-Type": ctype} if ctype else {})
                        before = redis_cpu(rport)
                        tally, took = run(ports, args.clients, args.seconds, method, path, body, headers)
                        used = redis_cpu(rport) - before
                        statuses = " ".join(f"{k}:{v}" for k, v in sorted(tally.status.items()))
                        print(f"{store:<7} {count:>7} {workload:<8} {len(tally.latency) / took:>7.1f} "
                              f"{pct(tally.latency, 50):>7} {pct(tally.latency, 95):>7} "
                              f"{used / took * 100:>8.0f}%  {statuses}", flush=True)
                finally:
                    for proc, _ in servers:
                        stop(proc)
        finally:
            stop(redis)


if __name__ == "__main__":
    main()
