"""checker sets numpy's BLAS to one thread before numpy loads, unless the environment says otherwise
(checker/_threads.py: the spinning pool threads took the cores from the other server worker)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import ROOT

PROBE = "import checker, os; print(os.environ.get('OPENBLAS_NUM_THREADS'))"


@pytest.mark.parametrize(("given", "expected"), [(None, "1"), ("2", "2")])
def test_blas_threads_are_one_unless_set(given, expected):
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if given is not None:
        env["OPENBLAS_NUM_THREADS"] = given
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == expected


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


def test_the_setting_is_made_before_numpy_is_first_imported():
    """OpenBLAS reads it when numpy loads: a module of the package importing numpy earlier would undo it."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", WATCH], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "1"
