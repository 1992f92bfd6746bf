"""Tests of outbound addresses (image_url, selfie_url, callback_url) run inside a network namespace
with no route out: `unshare -n` (or `unshare -rn` for a user without root), loopback brought up,
nothing else. A test there can reach the servers it starts on 127.0.0.1 and nothing beyond this
machine, whatever the code under test tries (a name that resolves, a mistaken policy).

``run(paths)`` starts pytest on those files inside a fresh namespace; the files mark their tests
``pytestmark = netns.ONLY_INSIDE``, so outside the namespace they are skipped, never run with a route out.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_FLAG = "IDPHOTO_TESTS_IN_NETNS"

# Run in the namespace before pytest: bring `lo` up (SIOCGIFFLAGS / SIOCSIFFLAGS, no iproute2 needed)
# and refuse to go on if any other interface exists.
_BOOT = r"""
import fcntl, socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
req = struct.pack("16sH22x", b"lo", 0)
flags = struct.unpack("16sH22x", fcntl.ioctl(s, 0x8913, req))[1]
fcntl.ioctl(s, 0x8914, struct.pack("16sH22x", b"lo", flags | 0x1))
names = sorted(name for _, name in socket.if_nameindex())
if names != ["lo"]:
    sys.exit(f"not an isolated network namespace: interfaces {names}")
import pytest
sys.exit(pytest.main(sys.argv[1:]))
"""


def isolated() -> bool:
    """This process sees no network interface but loopback."""
    try:
        return sorted(name for _, name in socket.if_nameindex()) == ["lo"]
    except OSError:
        return False


def inside() -> bool:
    """Running in the namespace that run() made (and it is isolated)."""
    return os.environ.get(_FLAG) == "1" and isolated()


ONLY_INSIDE = pytest.mark.skipif(not inside(), reason="outbound-address tests run only inside a network namespace "
                                                      "with no route out: see tests/test_netns.py")


@lru_cache(maxsize=1)
def _unshare() -> list[str] | None:
    exe = shutil.which("unshare")
    if exe is None:
        return None
    for cmd in ([exe, "--net"], [exe, "--net", "--map-root-user"]):
        if subprocess.run([*cmd, "true"], capture_output=True).returncode == 0:
            return cmd
    return None


def run(paths: list[str], timeout: float = 900) -> str:
    """pytest ``paths`` inside a new network namespace; fails with the child's output unless all pass."""
    cmd = _unshare()
    if cmd is None:
        reason = "cannot make a network namespace here (`unshare --net` and `unshare --net --map-root-user` failed)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    env = os.environ | {_FLAG: "1"}
    args = [*cmd, sys.executable, "-c", _BOOT, "-q", "-n", "0", "-p", "no:cacheprovider", "-rfEs", *paths]
    child = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    out = child.stdout + child.stderr
    if child.returncode != 0:
        pytest.fail(f"inside the network namespace (exit {child.returncode}):\n{out[-12000:]}", pytrace=False)
    return out
