"""Load through gunicorn on loopback: check_pic, fix and task requests mixed. Prints figures; asserts nothing.

    .venv/bin/python bench/load.py [--clients 1,4,16,64] [--seconds 30] [--workers 2]

Starts the documented command, ``gunicorn -c python:checker.web.gunicorn_conf wsgi:app``, bound to
127.0.0.1 on a free port with a fresh instance folder, and runs each number of concurrent clients for
a bounded time. Each client keeps one connection alive and sends, at random, 70% check_pic (base64
JSON), 20% fix (base64 JSON, spec 1102) and 10% async task creations (multipart upload); a client
answered 503 or 429 waits the Retry-After it was given, as a polite client does. Meanwhile a probe
asks /healthz once a second. For each level: throughput, p50/p95/p99, answers by status, 503/429
answered with and without Retry-After, dropped connections (no answer: reset, closed, timed out),
the /healthz probe's worst latency, and the workers' RSS sampled from /proc; at the end, the tasks'
outcomes and the RSS trend over the whole run.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
FACES = Path(os.environ.get("CHECKER_SHARED_DIR") or ROOT.parent / "shared") / "faces"
PHOTOS = ["hivision_idphoto_2.jpg", "hivision_idphoto_0.jpg", "hivision_test0.jpg", "hivision_test3.jpg"]
MIX = (("check", 0.7), ("fix", 0.2), ("task", 0.1))
TASK_URL = "/api/tasks/visual/external/idphoto"


def jpeg(name: str, size: tuple[int, int] = (600, 800)) -> bytes:
    """A 3:4 centre crop of the photo at ``size``, quality 90."""
    img = Image.open(FACES / name).convert("RGB")
    w, h = img.size
    tw = min(w, round(h * 3 / 4))
    th = round(tw * 4 / 3)
    left, top = (w - tw) // 2, max(0, (h - th) // 2)
    out = io.BytesIO()
    img.crop((left, top, left + tw, top + th)).resize(size, Image.LANCZOS).save(out, format="JPEG", quality=90)
    return out.getvalue()


def bodies() -> dict[str, list[tuple[bytes, str]]]:
    """Ready-made request bodies (and content types) per kind, so clients spend no time building them."""
    made: dict[str, list[tuple[bytes, str]]] = {"check": [], "fix": [], "task": []}
    for name in PHOTOS:
        data = jpeg(name)
        b64 = base64.b64encode(data).decode()
        made["check"].append((json.dumps({"file": b64, "spec_id": 1102}).encode(), "application/json"))
        made["fix"].append((json.dumps({"file": b64, "spec_id": 1102}).encode(), "application/json"))
        boundary = uuid.uuid4().hex
        form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"sync\"\r\n\r\n0\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"px_width\"\r\n\r\n295\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"px_height\"\r\n\r\n413\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"image_file\"; filename=\"p.jpg\"\r\n"
                "Content-Type: image/jpeg\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        made["task"].append((form, f"multipart/form-data; boundary={boundary}"))
    return made


PATHS = {"check": "/api/check_pic", "fix": "/api/fix", "task": TASK_URL}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def workers_of(master: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                found.append(int(entry.name))
    return sorted(found)


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Level:
    """What the clients of one level saw."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: list[float] = []  # every answered request, seconds
        self.latency_ok: list[float] = []  # 2xx only
        self.status: Counter[str] = Counter()
        self.by_kind: Counter[str] = Counter()
        self.busy_with_retry = 0
        self.busy_without_retry = 0
        self.dropped: Counter[str] = Counter()
        self.task_ids: list[str] = []
        self.health: list[float] = []
        self.health_failed = 0

    def answered(self, kind: str, status: int, seconds: float, retry_after: str | None, body: bytes) -> None:
        with self.lock:
            self.latency.append(seconds)
            self.status[str(status)] += 1
            self.by_kind[f"{kind} {status}"] += 1
            if 200 <= status < 300:
                self.latency_ok.append(seconds)
                if kind == "task":
                    with contextlib.suppress(ValueError, KeyError, TypeError):
                        self.task_ids.append(json.loads(body)["data"]["task_id"])
            if status in (429, 503):
                if retry_after and retry_after.strip().isdigit():
                    self.busy_with_retry += 1
                else:
                    self.busy_without_retry += 1


def client(port: int, made: dict, level: Level, stop: float, seed: int) -> None:
    rng = random.Random(seed)
    conn: http.client.HTTPConnection | None = None
    while time.monotonic() < stop:
        kind = rng.choices([k for k, _ in MIX], [w for _, w in MIX])[0]
        body, ctype = rng.choice(made[kind])
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        start = time.monotonic()
        try:
            conn.request("POST", PATHS[kind], body=body, headers={"Content-Type": ctype})
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            with level.lock:
                level.dropped[type(exc).__name__] += 1
            conn.close()
            conn = None
            continue
        level.answered(kind, resp.status, time.monotonic() - start, resp.getheader("Retry-After"), data)
        if resp.getheader("Connection", "").lower() == "close":
            conn.close()
            conn = None
        if resp.status in (429, 503):
            wait = resp.getheader("Retry-After") or "1"
            time.sleep(min(float(wait) if wait.isdigit() else 1.0, max(0.0, stop - time.monotonic())))
    if conn is not None:
        conn.close()


def probe(port: int, level: Level, stop: float) -> None:
    while time.monotonic() < stop:
        start = time.monotonic()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/healthz")
            ok = conn.getresponse().status == 200
            conn.close()
        except (OSError, http.client.HTTPException):
            ok = False
        with level.lock:
            if ok:
                level.health.append(time.monotonic() - start)
            else:
                level.health_failed += 1
        time.sleep(max(0.0, 1.0 - (time.monotonic() - start)))


def sampler(master: int, samples: list[tuple[float, dict[int, float]]], done: threading.Event) -> None:
    while not done.wait(1.0):
        samples.append((time.monotonic(), {pid: mb for pid in workers_of(master) if (mb := rss_mb(pid)) is not None}))


def pct(values: list[float], q: float) -> str:
    return f"{np.percentile(values, q) * 1000:.0f}" if values else "-"


def start_server(port: int, workers: int, folder: Path) -> tuple[subprocess.Popen, Path]:
    env = os.environ | {"CHECKER_BIND": f"127.0.0.1:{port}", "CHECKER_WORKERS": str(workers),
                        "CHECKER_INSTANCE_DIR": str(folder), "CHECKER_LOG_LEVEL": "warning"}
    env.pop("CHECKER_TASKS_DIR", None)
    env.pop("CHECKER_KEYS_DB", None)
    log = folder / "gunicorn.log"
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(gunicorn), "-c", "python:checker.web.gunicorn_conf", "wsgi:app"], cwd=ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    end = time.time() + 120
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200 and len(workers_of(proc.pid)) == workers:
                conn.close()
                break
            conn.close()
        except OSError:
            pass
        if proc.poll() is not None or time.time() > end:
            sys.exit(f"gunicorn did not start:\n{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.5)
    time.sleep(3)  # every worker warms its models before it serves; let the last one finish
    return proc, log


def task_outcomes(port: int, ids: list[str], wait: float) -> Counter[str]:
    end = time.monotonic() + wait
    states: dict[str, int] = {}
    while True:
        for task_id in ids:
            if states.get(task_id) in (None, 0, 2, 3, 4):
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    conn.request("GET", f"{TASK_URL}/{task_id}")
                    states[task_id] = json.loads(conn.getresponse().read())["data"]["state"]
                    conn.close()
                except (OSError, ValueError, KeyError, http.client.HTTPException):
                    states[task_id] = -99
        if all(s not in (0, 2, 3, 4) for s in states.values()) or time.monotonic() > end:
            break
        time.sleep(1.0)
    names = {1: "done", 0: "queued", 2: "running", 3: "running", 4: "running", -99: "poll failed"}
    return Counter(names.get(s, f"failed ({s})") for s in states.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", default="1,4,16,64")
    parser.add_argument("--seconds", type=float, default=30.0, help="per level")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    levels = [int(n) for n in args.clients.split(",")]

    made = bodies()
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), "?")
    print(f"{time.strftime('%Y-%m-%d %H:%M')}  {os.cpu_count()} cores ({cpu}); {args.workers} workers; "
          f"{args.seconds:g} s per level; mix {', '.join(f'{k} {w:.0%}' for k, w in MIX)}; "
          f"600x800 JPEGs from {', '.join(PHOTOS)}")
    with tempfile.TemporaryDirectory(prefix="idphoto-load-") as tmp:
        port = free_port()
        proc, log = start_server(port, args.workers, Path(tmp))
        samples: list[tuple[float, dict[int, float]]] = []
        done = threading.Event()
        threading.Thread(target=sampler, args=(proc.pid, samples, done), daemon=True).start()
        all_tasks: list[str] = []
        total = 0
        header = (f"{'clients':>7} {'req/s':>6} {'2xx/s':>6} {'p50':>6} {'p95':>6} {'p99':>6} {'2xx p50':>7} "
                  f"{'healthz max':>11} {'dropped':>7} {'503+RA':>6} {'no RA':>5}  statuses; RSS per worker MB")
        print(header)
        try:
            for n in levels:
                level = Level()
                begin = time.monotonic()
                stop = begin + args.seconds
                first = len(samples)
                threads = [threading.Thread(target=client, args=(port, made, level, stop, i)) for i in range(n)]
                threads.append(threading.Thread(target=probe, args=(port, level, stop)))
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                took = time.monotonic() - begin
                answered = len(level.latency)
                total += answered + sum(level.dropped.values())
                all_tasks += level.task_ids
                rss = [s for _, snap in samples[first:] for s in snap.values()]
                rss_text = f"{min(rss):.0f}-{max(rss):.0f}" if rss else "-"
                health = f"{max(level.health) * 1000:.0f} ms" if level.health else "-"
                if level.health_failed:
                    health += f" ({level.health_failed} failed)"
                statuses = " ".join(f"{k}:{v}" for k, v in sorted(level.status.items()))
                rate, rate_ok = answered / took, len(level.latency_ok) / took
                print(f"{n:>7} {rate:>6.1f} {rate_ok:>6.1f} {pct(level.latency, 50):>6} {pct(level.latency, 95):>6}"
                      f" {pct(level.latency, 99):>6} {pct(level.latency_ok, 50):>7} "
                      f"{health:>11} {sum(level.dropped.values()):>7} {level.busy_with_retry:>6} "
                      f"{level.busy_without_retry:>5}  {statuses}; {rss_text}")
                print(f"{'':>7} by kind: {' '.join(f'{k}:{v}' for k, v in sorted(level.by_kind.items()))}"
                      + (f"; dropped: {dict(level.dropped)}" if level.dropped else ""))
            outcomes = task_outcomes(port, all_tasks, wait=180)
            print(f"tasks created: {len(all_tasks)}; outcomes: {dict(outcomes)}")
        finally:
            done.set()
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        if samples:
            pids = sorted({pid for _, snap in samples for pid in snap})
            for pid in pids:
                series = [snap[pid] for _, snap in samples if pid in snap]
                third = max(1, len(series) // 3)
                print(f"worker {pid}: RSS start {series[0]:.0f} MB, mean of first third {np.mean(series[:third]):.0f}, "
                      f"of last third {np.mean(series[-third:]):.0f}, peak {max(series):.0f}, end {series[-1]:.0f} "
                      f"({len(series)} samples)")
        print(f"requests sent: {total}")
        errors = [ln for ln in log.read_text(errors="replace").splitlines() if "[ERROR]" in ln or "Traceback" in ln]
        print(f"server log: {len(errors)} error lines" + (f"; first: {errors[0]}" if errors else ""))


if __name__ == "__main__":
    main()
