"""The installed package, not the checkout: the wheel carries the data it reads at run time (rules,
specs, the web page, the heads, its licence), keeps its state in the per-user folder, and the
editable install keeps working.

How the slow test proves it, and why this way:

- the wheel is built by ``pip wheel --no-deps`` from a copy of exactly the files pyproject.toml names
  (so a stale ``build/`` of the checkout cannot leak into it), with setuptools pinned to the floor in
  ``[build-system] requires`` (``--build-constraint``): the floor is verified on every run, the newest
  setuptools by every ``make`` (``pip install -e .``);
- it is installed with ``--no-deps`` (this venv's pip, ``--python``) into a fresh venv made with
  ``python -m venv --without-pip``; the third-party dependencies come from a ``.pth`` line naming this
  project's venv site-packages. A path added by a ``.pth`` line is not itself a site folder, so that
  venv's own ``.pth`` files (the editable finder that maps ``checker`` to the checkout) are never run:
  ``checker`` can only come from the wheel. Installing the ~60 dependencies again from the index would
  cost minutes (a dry-run resolve alone took 24 s) and prove little about our wheel; the dependency
  declarations are checked by the fast tests instead (every third-party import in checker/ is a direct
  dependency; their closure holds one OpenCV and no mtcnn-runtime), and the wheel's METADATA here;
- every command runs with the cwd in a temporary folder, PYTHONPATH and every CHECKER_*_DIR override
  except CHECKER_MODELS_DIR removed, and XDG_DATA_HOME in the temporary folder, so the default state
  folder is observable; CHECKER_MODELS_DIR names links to the model files `make` already pulled, so
  nothing is downloaded;
- then: ``idphoto specs``, ``idphoto check``, ``idphoto fix``, the library verb ``checker.check`` and the
  mtcnn detector in one probe process, and ``idphoto serve`` answering /healthz and /api/check_pic; the
  state files must appear under ``$XDG_DATA_HOME/idphoto/instance`` and nothing under site-packages;
- last, the same copy is installed editable into a second fresh venv, which must read the copy's
  ``rules/`` and ``specs/`` from another folder.

It takes 40-60 s on two cores; it needs the photos in ../shared/faces and the pulled model files.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from PIL import Image

from checker import datafiles, instance
from checker.models import files

from .conftest import FACES, ROOT, need_shared
from .servers import free_port, post_check_pic, wait_healthy

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = None

PHOTO = "hivision_idphoto_0.jpg"
SPEC = 1102
SPEC_COUNT = len(list((ROOT / "specs").glob("[0-9]*.json")))
BUILD_FILES = ("pyproject.toml", "README.md", "LICENSE", "checker", "rules", "specs")
SITE = Path(sysconfig.get_paths()["purelib"])


def pyproject() -> dict:
    if tomllib is None:
        pytest.skip("reading pyproject.toml needs tomllib (Python 3.11)")
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


# --- fast: the configuration and the lookups ----------------------------------------------------------


def test_pyproject_lists_every_folder_of_the_package_and_maps_the_data_folders():
    tool = pyproject()["tool"]["setuptools"]
    assert tool["package-dir"] == {"checker.rules_data": "rules", "checker.specs_data": "specs"}
    folders = {".".join(p.relative_to(ROOT).parts) for p in (ROOT / "checker").rglob("*")
               if p.is_dir() and p.name != "__pycache__"} | {"checker"}
    assert set(tool["packages"]) == folders | {"checker.rules_data", "checker.specs_data"}


def test_build_floor_and_licence():
    doc = pyproject()
    (req,) = doc["build-system"]["requires"]
    assert re.fullmatch(r"setuptools>=(77|78|79|8\d)\.\d+\.\d+", req), req  # PEP 639 strings need >= 77
    assert doc["project"]["license"] == "Apache-2.0" and doc["project"]["license-files"] == ["LICENSE"]
    assert "Apache License" in (ROOT / "LICENSE").read_text(encoding="utf-8")[:200]
    deps = {re.split(r"[=<>!~; ]", d, maxsplit=1)[0].lower() for d in doc["project"]["dependencies"]}
    assert "platformdirs" in deps and "mtcnn-runtime" not in deps and "opencv-python" not in deps


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> set[str]:
    return {norm(Requirement(d).name) for d in pyproject()["project"]["dependencies"]}


def test_every_third_party_import_in_the_package_is_a_declared_dependency():
    """Each module checker/ imports (at the top or inside a function) is the standard library, the
    package itself, or belongs to a distribution pyproject.toml names directly."""
    owners = md.packages_distributions()
    tops: dict[str, str] = {}
    for path in (ROOT / "checker").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                tops.setdefault(name.split(".")[0], path.relative_to(ROOT).as_posix())
    third = {t: p for t, p in tops.items() if t not in sys.stdlib_module_names and t != "checker"}
    assert "cv2" in third and "platformdirs" in third
    undeclared = {t: (p, owners.get(t)) for t, p in third.items()
                  if not {norm(d) for d in owners.get(t, [t])} & declared()}
    assert undeclared == {}


def test_the_dependencies_bring_one_opencv_and_no_mtcnn_package():
    """The closure of the declared dependencies (from the installed distributions' metadata) holds
    opencv-contrib-python only: a second cv2 (opencv-python, which mtcnn-runtime declares) would
    shadow it."""
    seen: set[str] = set()
    todo = sorted(declared())
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for text in md.requires(name) or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate(default_environment() | {"extra": ""}):
                todo.append(norm(req.name))
    assert sorted(d for d in seen if "opencv" in d) == ["opencv-contrib-python"]
    assert "mtcnn-runtime" not in seen and "mediapipe" in seen


def test_data_folders_are_the_checkouts_in_an_editable_install(monkeypatch):
    for env in ("CHECKER_RULES_DIR", "CHECKER_SPECS_DIR"):
        monkeypatch.delenv(env, raising=False)
    assert not (ROOT / "checker" / "rules_data").exists()  # only a wheel has them
    assert datafiles.data_dir("rules", "CHECKER_RULES_DIR") == ROOT / "rules"
    assert datafiles.data_dir("specs", "CHECKER_SPECS_DIR") == ROOT / "specs"


def test_the_packaged_folder_wins_over_the_checkout_and_the_environment_over_both(monkeypatch, tmp_path):
    pkg = tmp_path / "checker"
    (pkg / "rules_data").mkdir(parents=True)
    monkeypatch.setattr(datafiles.resources, "files", lambda name: pkg if name == "checker" else None)
    monkeypatch.delenv("CHECKER_RULES_DIR", raising=False)
    assert datafiles.data_dir("rules", "CHECKER_RULES_DIR") == pkg / "rules_data"
    monkeypatch.setenv("CHECKER_RULES_DIR", str(tmp_path / "mine"))
    assert datafiles.data_dir("rules", "CHECKER_RULES_DIR") == tmp_path / "mine"
    # Neither packaged nor in a checkout: the packaged path, so the error names where it should be.
    monkeypatch.delenv("CHECKER_RULES_DIR")
    monkeypatch.setattr(datafiles, "CHECKOUT", tmp_path / "nowhere")
    assert datafiles.data_dir("specs", "CHECKER_SPECS_DIR") == pkg / "specs_data"


def test_state_and_models_default_to_the_per_user_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("CHECKER_INSTANCE_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert instance.instance_dir() == tmp_path / "idphoto" / "instance"
    assert files.default_dir() == tmp_path / "idphoto" / "models"
    monkeypatch.setenv("CHECKER_INSTANCE_DIR", str(tmp_path / "state"))
    assert instance.instance_dir() == tmp_path / "state"


# --- slow: build, install, run from elsewhere ---------------------------------------------------------


def run(cmd: list[str], env: dict[str, str], cwd: Path, ok: tuple[int, ...] = (0,), timeout: float = 180):
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode in ok, f"{cmd} -> {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def fresh_venv(path: Path, env: dict[str, str]) -> tuple[Path, Path]:
    """A venv without pip whose site-packages also sees this venv's third-party packages (not its .pth)."""
    run([sys.executable, "-m", "venv", "--without-pip", str(path)], env, path.parent)
    python = path / "bin" / "python"
    site = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                    env, path.parent).stdout.strip())
    (site / "_idphoto_test_deps.pth").write_text(f"{SITE}\n", encoding="utf-8")
    return python, site


def linked_models(folder: Path) -> Path:
    """A folder of links to the required model files `make` already pulled; skip (fail under CI) without."""
    folder.mkdir()
    for name, entry in files.MODEL_FILES.items():
        if not entry.required:
            continue
        found = files.find(name)
        if found is None:
            reason = f"{name} is not pulled: run `.venv/bin/idphoto models pull` (make test does)"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(reason)
            pytest.skip(reason)
        (folder / entry.filename).symlink_to(found[1].resolve())
    return folder


PROBE = r"""
import json, sys, sysconfig
from pathlib import Path

import checker
from checker import instance, models, rules, specs
from checker.imaging import load_photo

report = checker.check(sys.argv[1], 1102)
faces = models.get("mtcnn").detect(load_photo(Path(sys.argv[1]).read_bytes()).rgb)
print(json.dumps({
    "checker": checker.__file__, "rules_dir": str(rules.RULES_DIR), "specs_dir": str(specs.SPECS_DIR),
    "instance": str(instance.instance_dir()), "check_result": report["check_result"],
    "checks": len(report["result"]), "faces": len(faces), "mtcnnruntime": "mtcnnruntime" in sys.modules,
    "purelib": sysconfig.get_paths()["purelib"],
}))
"""


def build_and_install(tmp: Path) -> dict:
    """The wheel built from a copy of the checkout, installed into a fresh venv; the run environment."""
    src = tmp / "src"
    src.mkdir()
    for name in BUILD_FILES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(ROOT / name, src / name)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "CHECKER_INSTANCE_DIR", "CHECKER_KEYS_DB", "CHECKER_TASKS_DIR",
                        "CHECKER_RULES_DIR", "CHECKER_SPECS_DIR")}
    env |= {"XDG_DATA_HOME": str(tmp / "xdg"), "CHECKER_MODELS_DIR": str(linked_models(tmp / "models")),
            "PIP_DISABLE_PIP_VERSION_CHECK": "1", "CI": ""}
    floor = re.fullmatch(r"setuptools>=(\S+)", pyproject()["build-system"]["requires"][0]).group(1)
    (tmp / "build-constraints.txt").write_text(f"setuptools=={floor}\n", encoding="utf-8")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--build-constraint",
         str(tmp / "build-constraints.txt"), "-w", str(tmp / "dist"), str(src)], env, tmp, timeout=300)
    (wheel,) = (tmp / "dist").glob("idphoto_checker-*.whl")
    python, site = fresh_venv(tmp / "venv", env)
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "--quiet",
         str(wheel)], env, tmp)
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    return {"tmp": tmp, "src": src, "wheel": wheel, "python": python, "site": site, "env": env,
            "cwd": elsewhere, "idphoto": str(python.parent / "idphoto"), "floor": floor}


def wheel_contents(built: dict) -> None:
    with zipfile.ZipFile(built["wheel"]) as zf:
        names = set(zf.namelist())
        meta = zf.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
        generator = zf.read(next(n for n in names if n.endswith(".dist-info/WHEEL"))).decode()
    for folder, packaged in (("rules", "rules_data"), ("specs", "specs_data")):
        want = {f"checker/{packaged}/{p.name}" for p in (ROOT / folder).glob("*.json")}
        assert want and want <= names, want - names
    for path in [*(ROOT / "checker" / "web" / "static").iterdir(), *(ROOT / "checker" / "heads").glob("*.json"),
                 ROOT / "checker" / "web" / "docs_page.html", ROOT / "checker" / "py.typed"]:
        assert path.relative_to(ROOT).as_posix() in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not any(n.startswith(("rules/", "specs/", "tests/", "instance/")) for n in names)
    head = meta.split("\n\n", 1)[0]  # the fields, not the README after them
    assert "License-Expression: Apache-2.0" in head and "Requires-Dist: platformdirs==" in head
    assert "mtcnn" not in head and "opencv-python==" not in head
    assert f"setuptools ({built['floor']})" in generator  # built with the floor, not a newer release


def cli_and_library(built: dict) -> None:
    env, cwd, idphoto = built["env"], built["cwd"], built["idphoto"]
    photo = str(FACES / PHOTO)

    listed = json.loads(run([idphoto, "specs", "--json"], env, cwd).stdout)
    assert len(listed) == SPEC_COUNT and any(s["id"] == SPEC for s in listed)

    report = json.loads(run([idphoto, "check", photo, "--spec", str(SPEC), "--json"], env, cwd, ok=(0, 1)).stdout)
    assert report["code"] == 200 and report["check_result"] in (0, 1) and report["spec_id"] == SPEC

    out = cwd / "fixed.jpg"
    run([idphoto, "fix", photo, "--spec", str(SPEC), "-o", str(out)], env, cwd, ok=(0, 1))
    with Image.open(out) as im:
        im.load()
        assert im.format == "JPEG" and im.size == (295, 413)

    probe = json.loads(run([str(built["python"]), "-c", PROBE, photo], env, cwd).stdout)
    site = str(built["site"])
    assert probe["purelib"] == site and probe["checker"].startswith(site + "/")
    assert probe["rules_dir"] == f"{site}/checker/rules_data" and probe["specs_dir"] == f"{site}/checker/specs_data"
    assert probe["instance"] == str(built["tmp"] / "xdg" / "idphoto" / "instance")
    assert probe["check_result"] in (0, 1) and probe["checks"] > 20
    assert probe["faces"] == 1 and probe["mtcnnruntime"] is False  # our cascade on the pulled ONNX files


def server(built: dict) -> None:
    env, port = built["env"], free_port()
    base = f"http://127.0.0.1:{port}"
    cwd = built["tmp"] / "serve"
    cwd.mkdir()
    log = built["tmp"] / "serve.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen([built["idphoto"], "serve", "--host", "127.0.0.1", "--port", str(port),
                                 "--workers", "1"], cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True)
    try:
        health = wait_healthy(base, proc, log, limit=90, what="the installed server")
        assert health["status"] == "ok" and health["specs"] == SPEC_COUNT
        status, report = post_check_pic(base, FACES / PHOTO, SPEC)
        assert status == 200 and report["code"] == 200 and report["check_result"] in (0, 1)
        assert readme_curl_examples(base, env, built["tmp"] / "readme") >= 4
        readme_key_examples(base, env, built["tmp"] / "readme", built["idphoto"])
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    state = built["tmp"] / "xdg" / "idphoto" / "instance"
    assert (state / "keys.sqlite3").is_file() and (state / "tasks").is_dir()
    venv = built["python"].parent.parent
    assert not list(venv.rglob("*.sqlite3*")) and not (built["site"] / "instance").exists()
    assert not list(cwd.iterdir())  # nor where it was started


def editable(built: dict) -> None:
    env, src, tmp = built["env"], built["src"], built["tmp"]
    python, _site = fresh_venv(tmp / "editable", env)
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet", "-e", str(src)],
        env, tmp, timeout=300)
    got = json.loads(run([str(python), "-c", "import json, checker, checker.rules as r, checker.specs as s; "
                          "print(json.dumps([checker.__file__, str(r.RULES_DIR), str(s.SPECS_DIR), "
                          "len(s.list_specs()), len(r.load_rules())]))"], env, built["cwd"]).stdout)
    assert got[:3] == [str(src / "checker" / "__init__.py"), str(src / "rules"), str(src / "specs")]
    assert got[3] == SPEC_COUNT and got[4] > 20
    listed = json.loads(run([str(python.parent / "idphoto"), "specs", "--json"], env, built["cwd"]).stdout)
    assert len(listed) == SPEC_COUNT


# --- the README's examples, run against the installed wheel ------------------------------------------
SKIPPED_VERBS = ("serve", "keys", "models")  # serve is run above; keys close the open server; models download


def readme_blocks() -> list[tuple[str, str]]:
    """(language, text) of every fenced code block of the README."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [(m.group(1), m.group(2)) for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, flags=re.M | re.S)]


def readme_commands(prefix: str) -> list[str]:
    """Shell lines of the README's code blocks that contain ``prefix``, comments dropped."""
    lines = []
    for lang, block in readme_blocks():
        if lang not in ("", "sh", "bash", "shell"):
            continue
        joined = re.sub(r"\|\n\s*", "| ", re.sub(r"\\\n\s*", " ", block))  # continued lines, pipes
        for line in joined.splitlines():
            line = re.sub(r"\s+#\s.*$", "", line).rstrip()
            if prefix in line:
                lines.append(line)
    return lines


def example_files(cwd: Path) -> None:
    """The files the README's examples name, made from a real photo."""
    import pillow_heif

    photo = FACES / PHOTO
    shutil.copy2(photo, cwd / "photo.jpg")
    with Image.open(photo) as im:
        heif = pillow_heif.from_pillow(im.convert("RGB"))
        for name in ("photo.heic", "IMG_0001.HEIC", "late.heic"):
            heif.save(str(cwd / name), quality=90)
    for folder in ("uploads", "photos"):
        (cwd / folder).mkdir()
        for other in ("hivision_idphoto_2.jpg", PHOTO):
            shutil.copy2(FACES / other, cwd / folder / other)


def readme_cli_examples(built: dict) -> None:
    """Every `.venv/bin/idphoto` line of the README (but serve, keys, models) and every Python block,
    from another folder, with the wheel's idphoto and python: each exits 0 or 1 (1: a photo failed a
    check, which is the examples' point) and each file it names with -o or > is written."""
    env, cwd = built["env"], built["tmp"] / "readme"
    cwd.mkdir()
    example_files(cwd)
    lines = [line for line in readme_commands(".venv/bin/idphoto ")
             if not re.search(r"\.venv/bin/idphoto (" + "|".join(SKIPPED_VERBS) + r")\b", line)]
    assert len(lines) >= 15, lines
    for line in lines:
        run(["bash", "-o", "pipefail", "-c", line.replace(".venv/bin/idphoto", built["idphoto"])], env, cwd,
            ok=(0, 1), timeout=300)
        for out in re.findall(r"(?:-o|--out|>|--report|--hd-out) (\S+)", line):
            if out != "-":
                target = cwd / out
                assert target.exists() and (target.is_dir() or target.stat().st_size > 0), (line, out)
    blocks = [b for lang, b in readme_blocks() if lang == "python"]
    assert blocks
    for block in blocks:
        run([str(built["python"]), "-c", block], env, cwd)


KEYED = re.compile(r"\$(KEY|ID|SECRET)\b")


def readme_curl_examples(base: str, env: dict[str, str], cwd: Path, *, keyed: bool = False) -> int:
    """The README's curl lines against the installed server (those that need no key, or with
    ``keyed`` those that send $KEY or $ID/$SECRET): JSON with code 0 or 200 (or status true, or a
    task's 200), or the PNG asked for with -o. A task created is the TASK_ID polled next; the
    placeholder callback address is left out."""
    count, task_id = 0, None
    for line in readme_commands("curl "):
        if "127.0.0.1:8080" not in line or bool(KEYED.search(line)) != keyed:
            continue
        line = line.replace(" -F callback_url=https://...", "").replace("http://127.0.0.1:8080", base)
        if "TASK_ID" in line:
            assert task_id, line
            line = line.replace("TASK_ID", task_id)
        proc = run(["bash", "-c", line], env, cwd, timeout=300)
        out = re.search(r" -o (\S+)", line)
        if out:
            with Image.open(cwd / out.group(1)) as im:
                assert im.format == "PNG", line
        else:
            body = json.loads(proc.stdout)
            assert body.get("code") in (0, 200) or body.get("status") in (True, 200), (line, proc.stdout[:500])
            task_id = (body.get("data") or {}).get("task_id", task_id)
        count += 1
    return count


def readme_key_examples(base: str, env: dict[str, str], cwd: Path, idphoto: str) -> None:
    """`idphoto keys create|list|revoke` as the README shows them, and the keyed curl lines with the
    created key while the server runs (keys are read from the shared state folder)."""
    lines = [line.replace(".venv/bin/idphoto", idphoto) for line in readme_commands(".venv/bin/idphoto keys")]
    create = next(line for line in lines if " keys create" in line)
    secret = run(["bash", "-c", create], env, cwd).stdout.splitlines()[0].strip()  # ID.SECRET, then where
    key_id = secret.split(".")[0]
    assert "." in secret and key_id in run(["bash", "-c", next(x for x in lines if " keys list" in x)], env,
                                            cwd).stdout
    key_env = env | {"KEY": secret, "ID": key_id, "SECRET": secret.split(".", 1)[1]}
    assert readme_curl_examples(base, key_env, cwd, keyed=True) >= 5
    for line in lines:
        if " keys revoke " in line:
            run(["bash", "-c", line.replace(" ID", f" {key_id}")], env, cwd)


@pytest.mark.slow
def test_the_wheel_installed_elsewhere_checks_fixes_and_serves_and_editable_still_works(tmp_path):
    """One test, not four sharing a fixture: under `pytest -n 2` a module fixture would be built once per
    worker."""
    need_shared(FACES / PHOTO, "the real photos")
    t0 = time.time()
    built = build_and_install(tmp_path)
    wheel_contents(built)
    cli_and_library(built)
    readme_cli_examples(built)
    server(built)
    editable(built)
    print(f"test_wheel: {time.time() - t0:.0f} s")
