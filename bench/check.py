"""Speed and memory of /api/check_pic. Prints figures; asserts nothing.

    .venv/bin/python bench/check.py [--runs 60] [--seconds 15] [--skip-server]

1. In process: p50/p95 of a full check (decode -> Analysis -> every default detector -> rules ->
   response) for 600x800 and 1200x1600 JPEGs, against the floor measured in the same run: decode +
   face detection + face landmarker (mesh, blendshapes, pose) + person mask, the models every check needs.
2. Through gunicorn with 2 workers on loopback: requests/s under concurrent clients, p50 latency,
   and each worker's peak RSS (VmHWM).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FACES = Path(os.environ.get("CHECKER_SHARED_DIR") or ROOT.parent / "shared") / "faces"
PHOTOS = ["hivision_idphoto_2.jpg", "hivision_idphoto_0.jpg", "hivision_test0.jpg"]
SIZES = [(600, 800), (1200, 1600)]


def jpeg_at(name: str, size: tuple[int, int]) -> bytes:
    """The photo cropped to 3:4 around its centre and resized, as a quality-92 JPEG."""
    img = Image.open(FACES / name).convert("RGB")
    w, h = img.size
    tw = min(w, round(h * 3 / 4))
    th = round(tw * 4 / 3)
    left, top = (w - tw) // 2, max(0, (h - th) // 2)
    img = img.crop((left, top, left + tw, top + th)).resize(size, Image.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def pct(values: list[float], q: float) -> float:
    # numpy is imported here, not at the top, so that checker loads it first with its own BLAS thread
    # setting (checker/_threads.py), as in the server: the in-process figures measure that setting.
    import numpy as np

    return float(np.percentile(values, q))


def in_process(runs: int) -> list[dict]:
    from checker import models
    from checker.context import Analysis
    from checker.imaging import load_photo
    from checker.pipeline import run_check
    from checker.specs import load_spec

    models.warm_up()
    spec = load_spec(1102)
    rows = []
    for size in SIZES:
        datas = [jpeg_at(n, size) for n in PHOTOS]

        def floor(data: bytes) -> None:
            a = Analysis(load_photo(data))
            a.face  # noqa: B018
            a.mesh  # noqa: B018
            a.person_mask  # noqa: B018

        def full(data: bytes) -> None:
            run_check(load_photo(data), spec)

        for fn in (floor, full):  # warm caches, lazy imports and the models' first runs
            for d in datas:
                fn(d)
        times: dict[str, list[float]] = {"floor": [], "full": []}
        for i in range(runs):  # interleaved, so both see the same machine state
            d = datas[i % len(datas)]
            for key, fn in (("floor", floor), ("full", full)):
                t0 = time.perf_counter()
                fn(d)
                times[key].append((time.perf_counter() - t0) * 1000)
        row = {
            "size": f"{size[0]}x{size[1]}",
            "full_p50": pct(times["full"], 50), "full_p95": pct(times["full"], 95),
            "floor_p50": pct(times["floor"], 50), "floor_p95": pct(times["floor"], 95),
        }
        row["ratio_p50"] = row["full_p50"] / row["floor_p50"]
        rows.append(row)
    return rows


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _vm(pid: int, key: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def through_gunicorn(seconds: float, clients: int, workers: int = 2) -> dict:
    port = _free_port()
    idphoto = Path(sys.executable).with_name("idphoto")
    proc = subprocess.Popen([str(idphoto), "serve", "--port", str(port), "--workers", str(workers)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                urllib.request.urlopen(url + "/healthz", timeout=2).read()
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.3)
        bodies = [json.dumps({"file": base64.b64encode(jpeg_at(n, SIZES[0])).decode(), "spec_id": 1102}).encode()
                  for n in PHOTOS]

        def post(body: bytes) -> float:
            req = urllib.request.Request(url + "/api/check_pic", data=body,
                                         headers={"Content-Type": "application/json"})
            t0 = time.perf_counter()
            with urllib.request.urlopen(req, timeout=30) as resp:
                resp.read()
                assert resp.status == 200
            return (time.perf_counter() - t0) * 1000

        for b in bodies * 2:  # warm every worker
            post(b)
        latencies: list[float] = []
        lock = threading.Lock()
        stop = time.perf_counter() + seconds

        def client(k: int) -> None:
            i = k
            while time.perf_counter() < stop:
                ms = post(bodies[i % len(bodies)])
                i += 1
                with lock:
                    latencies.append(ms)

        t0 = time.perf_counter()
        threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        pids = _children(proc.pid)
        return {
            "workers": workers, "clients": clients, "requests": len(latencies),
            "rps": len(latencies) / elapsed, "p50": pct(latencies, 50), "p95": pct(latencies, 95),
            "rss_peak_mb": [round(_vm(p, "VmHWM"), 1) for p in pids],
        }
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=60)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--skip-server", action="store_true")
    args = ap.parse_args()
    print(f"check_pic, spec 1102, photos {', '.join(PHOTOS)}; {os.cpu_count()} cores\n")
    print("In process (ms)      full p50  full p95  floor p50  floor p95  full/floor")
    for r in in_process(args.runs):
        print(f"  {r['size']:<18} {r['full_p50']:8.1f}  {r['full_p95']:8.1f}  {r['floor_p50']:9.1f}  "
              f"{r['floor_p95']:9.1f}  {r['ratio_p50']:9.2f}x")
    print("  (floor: decode + face detection + face landmarker + person mask)")
    if not args.skip_server:
        g = through_gunicorn(args.seconds, args.clients)
        print(f"\ngunicorn, {g['workers']} workers, {g['clients']} concurrent clients, 600x800 JPEG base64 JSON:")
        print(f"  {g['rps']:.1f} requests/s over {g['requests']} requests; latency p50 {g['p50']:.1f} ms, "
              f"p95 {g['p95']:.1f} ms")
        print(f"  peak RSS per worker: {', '.join(f'{m:.0f} MB' for m in g['rss_peak_mb'])}")


if __name__ == "__main__":
    main()
