"""checker sets numpy's BLAS to one thread before numpy loads, unless the environment says otherwise
(checker/_threads.py: the spinning pool threads took the cores from the other server worker)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import ROOT

WATCH = """
import os, sys
seen = []
class Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "numpy" and not seen:
            seen.append(os.environ.get("OPENBLAS_NUM_THREADS"))
sys.meta_path.insert(0, Watch())
import checker
print(seen[0] if seen else "numpy never imported")
"""


def _numpy_saw(given: str | None) -> str:
    """OPENBLAS_NUM_THREADS at the moment ``import checker`` first imported numpy, in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    out = subprocess.run([sys.executable, "-c", WATCH], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True, timeout=120)
    return out.stdout.strip()


@pytest.mark.parametrize(("given", "expected"), [(None, "1"), ("2", "2")])
def test_blas_threads_are_one_when_numpy_loads_unless_set(given, expected):
    """OpenBLAS reads it when numpy loads: a module of the package importing numpy before
    checker/_threads.py runs would undo it, and an explicit setting wins."""
    assert _numpy_saw(given) == expected
