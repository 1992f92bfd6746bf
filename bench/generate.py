"""Speed of generation: p50 per stage and in total of a full `fix`. Prints figures; asserts nothing.

    .venv/bin/python bench/generate.py [--runs 30] [--spec 1102]

Stages (as FixResult.timings_ms reports them): the first check (decode is done before), matting,
foreground colours, crop (alignment, placement, render of standard and HD), background, encode,
the second check on the encoded file. Inputs: 600x800 and 1200x1600 JPEGs.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from check import PHOTOS, SIZES, jpeg_at  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--spec", default="1102")
    args = ap.parse_args()

    from checker import models
    from checker.autofix import fix
    from checker.imaging import load_photo
    from checker.specs import load_spec

    models.warm_up()
    spec = load_spec(args.spec)
    print(f"fix for spec {spec.id} ({spec.name}, {spec.size_px[0]}x{spec.size_px[1]}); photos {', '.join(PHOTOS)};"
          f" {os.cpu_count()} cores\n")
    for size in SIZES:
        datas = [jpeg_at(n, size) for n in PHOTOS]
        for d in datas:  # warm-up
            fix(load_photo(d), spec)
        stages: dict[str, list[float]] = {}
        totals: list[float] = []
        for i in range(args.runs):
            d = datas[i % len(datas)]
            t0 = time.perf_counter()
            result = fix(load_photo(d), spec)
            totals.append((time.perf_counter() - t0) * 1000)
            for k, v in result.timings_ms.items():
                stages.setdefault(k, []).append(v)
        print(f"{size[0]}x{size[1]}: total p50 {np.median(totals):.0f} ms, p95 {np.percentile(totals, 95):.0f} ms")
        for k, v in stages.items():
            print(f"  {k:<14} p50 {np.median(v):6.1f} ms")
        print()


if __name__ == "__main__":
    main()
