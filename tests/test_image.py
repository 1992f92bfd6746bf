"""The container image: the Containerfile built with buildah (tools/image.py, what `make image` runs) and
the API server run inside it.

How the slow test does it, and why this way:

- the base is Debian bookworm made here by ``debootstrap --variant=minbase`` from the host's Debian mirror
  and imported as the local image ``localhost/idphoto-base:bookworm`` (no registry of images is reachable
  here); it is made once and stays in buildah's storage, as do the build's layers (``--layers``), so a run
  after a change of the code rebuilds the wheel and what follows it only (about 15 s; from nothing, with
  the debootstrap, about 4 minutes);
- ``buildah bud --isolation chroot`` (podman's runtime cannot run here: cgroups), with pip's index settings
  of this host passed in as build arguments and the local indexes mounted read-only (tools/image.py);
- the server runs inside with ``buildah run --isolation chroot`` as the image's own user: chroot isolation
  shares the host's network, so it is bound to a free loopback port with ``CHECKER_BIND`` and asked from
  here; /healthz, one /api/check_pic on a photo read from ../shared at test time, and the image's
  HEALTHCHECK command;
- the previous image of the test's tag is removed once a new one is built (the layers it shares stay).

Skipped with the reason where buildah or debootstrap is missing, or without root (tools/system-packages.sh
installs them as root, which `make test` runs); under CI=true those are failures.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import FACES, ROOT, need_shared
from .servers import free_port, post_check_pic, wait_healthy

TOOL = ROOT / "tools" / "image.py"
TAG = "localhost/idphoto-checker:test"
PHOTO = "hivision_idphoto_0.jpg"
SPEC = 1102
SPEC_COUNT = len(list((ROOT / "specs").glob("[0-9]*.json")))
INSTANCE = "/var/lib/idphoto"


def load_tool():
    spec = importlib.util.spec_from_file_location("idphoto_image_tool", TOOL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


image = load_tool()


# --- fast: the build's inputs -----------------------------------------------------------------------------


def test_pip_settings_become_build_arguments_and_read_only_mounts(tmp_path):
    index = tmp_path / "pypi" / "simple"
    index.mkdir(parents=True)
    links = tmp_path / "wheels"
    links.mkdir()
    constraint = tmp_path / "constraints.txt"
    constraint.write_text("torch<=2\n", encoding="utf-8")
    settings = {"index-url": "https://pypi.org/simple", "extra-index-url": f"file://{index} https://example.org/simple",
                "find-links": str(links), "constraint": str(constraint), "trusted-host": "example.org"}
    args = image.build_arguments(settings)
    pairs = list(zip(args[::2], args[1::2], strict=True))
    built = dict(v.split("=", 1) for k, v in pairs if k == "--build-arg")
    mounts = [v for k, v in pairs if k == "--volume"]
    inside = image.IN_BUILD
    assert built == {"PIP_INDEX_URL": "https://pypi.org/simple",
                     "PIP_EXTRA_INDEX_URL": f"file://{inside}{index} https://example.org/simple",
                     "PIP_FIND_LINKS": f"{inside}{links}", "PIP_CONSTRAINT": f"{inside}{constraint}",
                     "PIP_TRUSTED_HOST": "example.org"}
    # The index's folder above simple/ (its pages link to ../../files), every mount read-only.
    assert mounts == [f"{p}:{inside}{p}:ro" for p in (index.parent, links, constraint)]


def test_debian_mirrors_are_read_from_either_format_of_apt_sources(tmp_path):
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\n# a comment\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\n"
        "Components: main\n\nTypes: deb\nURIs: http://mirror.example/debian-security\n"
        "Suites: bookworm-security\nComponents: main\n", encoding="utf-8")
    assert image.debian_mirrors(tmp_path) == ("http://mirror.example/debian", "http://mirror.example/debian-security")
    (tmp_path / "sources.list.d" / "debian.sources").unlink()
    (tmp_path / "sources.list").write_text("# deb http://old.example/debian bookworm main\n"
                                           "deb [arch=amd64] http://one.example/debian bookworm main\n",
                                           encoding="utf-8")
    assert image.debian_mirrors(tmp_path) == ("http://one.example/debian", image.DEFAULT_SECURITY)


def test_the_containerfile_takes_every_pip_setting_and_copies_only_what_the_context_admits():
    text = (ROOT / "Containerfile").read_text(encoding="utf-8")
    wanted = {"PIP_" + name.upper().replace("-", "_") for name in image.PIP_SETTINGS}
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    for stage in stages:  # each stage that runs pip declares them (an ARG is per stage)
        if re.search(r"\bpip (install|wheel)\b", stage):
            assert set(re.findall(r"^ARG (PIP_\w+)$", stage, flags=re.M)) == wanted, stage[:80]
    assert re.search(r"^ARG BASE=debian:bookworm-slim$", text, flags=re.M)
    copied = {src for line in re.findall(r"^COPY (?!--from)(.+)$", text, flags=re.M) for src in line.split()[:-1]}
    ignore = (ROOT / ".containerignore").read_text(encoding="utf-8").splitlines()
    admitted = {line[1:] for line in ignore if line.startswith("!")}
    assert "*" in ignore and copied == admitted
    assert os.access(ROOT / "tools" / "container-entrypoint.sh", os.X_OK)


# --- slow: build, run, ask --------------------------------------------------------------------------------


def need_tools() -> None:
    missing = [t for t in ("buildah", "debootstrap")
               if not (shutil.which(t) or shutil.which(t, path="/usr/sbin:/sbin"))]
    reason = None
    if missing:
        reason = (f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed: the image is "
                  "built with buildah on a debootstrap base (tools/system-packages.sh installs both as root; "
                  "make test runs it)")
    elif os.geteuid() != 0:
        reason = "the image test builds with buildah and debootstrap as root (not rootless)"
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def run(cmd: list[str], timeout: float = 120, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode in ok, f"{cmd} -> {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def build(log: Path) -> float:
    t0 = time.time()
    with open(log, "wb") as out:
        proc = subprocess.run([sys.executable, str(TOOL), "--tag", TAG, "--base", "debootstrap"], stdout=out,
                              stderr=subprocess.STDOUT, timeout=1500, cwd=ROOT)
    if proc.returncode != 0:
        pytest.fail(f"the image did not build:\n{log.read_text(errors='replace')[-5000:]}")
    return time.time() - t0


def image_config() -> dict:
    inspected = json.loads(run(["buildah", "inspect", "--type", "image", TAG]).stdout)
    return inspected["Docker"]["config"]


PROBE = r"""
import json, os, sys, sysconfig
import checker
from checker.models import files
print(json.dumps({
    "uid": os.getuid(), "checker": checker.__file__, "purelib": sysconfig.get_paths()["purelib"],
    "models": {n: [s["verified"], s["path"]] for n in files.MODEL_FILES if (s := files.status(n))["required"]},
    "instance_writable": os.access(os.environ["CHECKER_INSTANCE_DIR"], os.W_OK),
    "source_tree": os.path.exists("/src"),
}))
"""


def children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM to gunicorn's master inside (buildah run answers a signal of its own with SIGKILL to what it
    runs, which leaves the workers behind); buildah run ends with it. A kill of the group if that fails."""
    todo = [proc.pid]
    while todo and proc.poll() is None:
        pid = todo.pop(0)
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"gunicorn" in cmdline:
            os.kill(pid, signal.SIGTERM)
            break
        todo += children(pid)
    try:
        proc.wait(timeout=40)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


@pytest.mark.slow
def test_the_image_builds_from_the_wheel_and_serves_check_pic(tmp_path):
    need_shared(FACES / PHOTO, "the real photos")
    need_tools()
    previous = image.image_id(TAG)
    built_in = build(tmp_path / "build.log")
    current = image.image_id(TAG)
    assert current

    config = image_config()
    assert config["User"] == "idphoto" and config["Entrypoint"] == ["idphoto-container"] and config["Cmd"] == ["serve"]
    assert INSTANCE in config["Volumes"] and f"CHECKER_INSTANCE_DIR={INSTANCE}" in config["Env"]
    assert config["Healthcheck"]["Test"] == ["CMD", "idphoto-container", "healthcheck"]

    ctr = run(["buildah", "from", "--pull=never", TAG]).stdout.strip()
    proc = None
    try:
        probe = json.loads(run(["buildah", "run", "--isolation", "chroot", ctr, "--", "python", "-c", PROBE]).stdout)
        assert probe["uid"] != 0 and probe["instance_writable"] and not probe["source_tree"]
        assert probe["checker"] == f"{probe['purelib']}/checker/__init__.py"  # the wheel's, in the venv
        assert probe["models"] and all(ok and path.startswith("/opt/idphoto/models/")
                                       for ok, path in probe["models"].values()), probe["models"]

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        bind = f"CHECKER_BIND=127.0.0.1:{port}"
        log = tmp_path / "serve.log"
        t0 = time.time()
        with open(log, "wb") as out:
            proc = subprocess.Popen(["buildah", "run", "--isolation", "chroot", "-e", bind, "-e", "CHECKER_WORKERS=1",
                                     ctr, "--", "idphoto-container", "serve"], stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        health = wait_healthy(base, proc, log, what="the server in the image")
        started_in = time.time() - t0
        assert health["status"] == "ok" and health["specs"] == SPEC_COUNT and health["models_loaded"]

        status, report = post_check_pic(base, FACES / PHOTO, SPEC)
        assert status == 200 and report["code"] == 200 and report["check_result"] in (0, 1)
        assert report["spec_id"] == SPEC and len(report["result"]) > 20 and report["value_dict"]

        run(["buildah", "run", "--isolation", "chroot", "-e", bind, ctr, "--", "idphoto-container", "healthcheck"])
        state = run(["buildah", "run", "--isolation", "chroot", ctr, "--", "ls", INSTANCE]).stdout.split()
        assert "keys.sqlite3" in state and "tasks" in state  # the server's state, in the volume's folder
    finally:
        if proc is not None:
            stop(proc)
        subprocess.run(["buildah", "rm", ctr], capture_output=True, timeout=60)
    if previous and previous != current:
        subprocess.run(["buildah", "rmi", previous], capture_output=True, timeout=120)
    print(f"test_image: built in {built_in:.0f} s, server answered /healthz {started_in:.1f} s after buildah run")
