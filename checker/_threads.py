"""Thread settings that must be made before numpy loads (``checker`` imports this first).

numpy's OpenBLAS spreads even the checker's small matrix products over every core, and its idle
threads spin between calls. On 2 cores one check took 335 ms of CPU for 180 ms of wall time, and 205-236 ms
of CPU with one BLAS thread, the wall time unchanged. Through gunicorn, whose two workers already fill the
cores, the spinning took them from the other worker: 8.4-8.6 requests/s, 9.2-10.2 with one thread (README,
Speed). An explicit OPENBLAS_NUM_THREADS wins.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
