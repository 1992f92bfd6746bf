"""Build the container image (Containerfile) with buildah: ``make image``, and tests/test_image.py.

    python tools/image.py [--tag localhost/idphoto-checker:latest] [--base debootstrap|IMAGE] [-- BUILDAH ARGS]

- The base: ``--base debootstrap`` (the default) is a Debian bookworm root made here with
  ``debootstrap --variant=minbase`` from the host's own Debian mirror (its apt sources), trimmed like
  debian:bookworm-slim (no manuals, docs or translations) and imported as the local image
  ``localhost/idphoto-base:bookworm``; it is made once and reused (``--new-base`` makes it again). Any
  other value is an image name for the Containerfile's ``BASE`` (debian:bookworm-slim from a registry,
  where one is reachable).
- pip inside the build uses the host's package index: the index URLs, find-links, constraint, trusted
  hosts and CA bundle that ``pip config list`` reports (the host's pip files and PIP_* variables) become
  ``PIP_*`` build arguments, and the local folders and files they name are mounted read-only at the
  same paths under /run/host-pip (``buildah bud --volume``), so file:// indexes resolve inside the
  build as outside.
- ``buildah bud --isolation chroot --layers --format docker``: chroot isolation needs no cgroups or
  namespaces of its own (podman's runtime does not run on these machines); the layers are cached, so
  a rebuild after a change of the code redoes only the wheel and what follows it; the Docker format
  keeps the HEALTHCHECK (OCI image configs have none).

Needs root, buildah and (for the base) debootstrap: ``bash tools/system-packages.sh buildah debootstrap``.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TAG = "localhost/idphoto-checker:latest"
BASE_IMAGE = "localhost/idphoto-base:bookworm"
SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY = "http://deb.debian.org/debian-security"
# pip settings passed into the build (the Containerfile declares an ARG for each).
PIP_SETTINGS = ("index-url", "extra-index-url", "find-links", "constraint", "trusted-host", "no-index", "cert")
INDEX_SETTINGS = ("index-url", "extra-index-url")
# Where the host's files that pip's settings name are mounted inside the build: under one folder, at their
# own paths below it (so nothing shadows the image's own files, e.g. the CA bundle that the image's
# ca-certificates writes, and the only mount point left in the image is this folder).
IN_BUILD = "/run/host-pip"
# As debian:bookworm-slim's /etc/dpkg/dpkg.cfg.d/docker: what packages installed later leave out too.
DPKG_EXCLUDES = """\
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
"""


def log(message: str) -> None:
    print(f"image: {message}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "idphoto-image"


# --- the host's settings --------------------------------------------------------------------------------


def pip_settings(python: str = sys.executable) -> dict[str, str]:
    """The pip settings that choose where packages come from, as this host's pip resolves them for
    ``pip install``: the config files' global and install sections, then PIP_* variables on top."""
    proc = subprocess.run([python, "-m", "pip", "config", "list"], capture_output=True, text=True,
                          env=os.environ | {"PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    if proc.returncode != 0:
        raise SystemExit(f"image: `pip config list` failed: {proc.stderr.strip()}")
    layers: dict[str, dict[str, str]] = {"global": {}, "install": {}, ":env:": {}}
    for line in proc.stdout.splitlines():
        key, sep, raw = line.partition("=")
        section, _, name = key.partition(".")
        if not sep or section not in layers or name not in PIP_SETTINGS:
            continue
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            value = raw.strip("'\"")
        layers[section][name] = " ".join(str(value).split())
    merged: dict[str, str] = {}
    for section in ("global", "install", ":env:"):
        merged.update({k: v for k, v in layers[section].items() if v})
    return merged


def local_paths(settings: dict[str, str]) -> list[Path]:
    """The host folders and files the settings name (file:// URLs and absolute paths), to mount into the
    build. For a file:// index the folder above it: a PEP 503 index's pages link to files beside it
    (``../../files/...``)."""
    found: list[Path] = []
    for name, value in settings.items():
        for word in value.split():
            path = _path_of(word)
            if path is None:
                continue
            if name in INDEX_SETTINGS and path.is_dir() and path.name == "simple":
                path = path.parent
            if path.exists() and path != Path("/") and path not in found:
                found.append(path)
    return found


def _path_of(word: str) -> Path | None:
    if word.startswith("file:"):
        return Path(urllib.parse.unquote(urllib.parse.urlparse(word).path))
    if word.startswith("/"):
        return Path(word)
    return None  # a remote index, a host name, a flag's value


def _in_build(word: str, mounts: list[Path]) -> str:
    """``word`` as the build sees it: a path or file:// URL under a mounted folder moves under IN_BUILD."""
    path = _path_of(word)
    if path is None or not any(path == m or m in path.parents for m in mounts):
        return word
    if word.startswith("file:"):
        return "file://" + IN_BUILD + urllib.parse.urlparse(word).path
    return IN_BUILD + word


def build_arguments(settings: dict[str, str]) -> list[str]:
    """``--build-arg PIP_...=...`` for each setting and ``--volume`` (read-only) for each local path."""
    mounts = local_paths(settings)
    args: list[str] = []
    for name, value in settings.items():
        value = " ".join(_in_build(word, mounts) for word in value.split())
        args += ["--build-arg", f"PIP_{name.upper().replace('-', '_')}={value}"]
    for path in mounts:
        args += ["--volume", f"{path}:{IN_BUILD}{path}:ro"]
    return args


def debian_mirrors(apt: Path = Path("/etc/apt")) -> tuple[str, str]:
    """(main mirror, security mirror) of the host's apt sources (deb822 .sources or one-line lists)."""
    mirror = security = None
    for path in sorted(apt.glob("sources.list.d/*.sources")):
        for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8", errors="replace")):
            fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.*)$", block, flags=re.M))
            if "deb" not in fields.get("Types", "").split() or not fields.get("URIs"):
                continue
            uri, suites = fields["URIs"].split()[0], fields.get("Suites", "").split()
            if f"{SUITE}-security" in suites:
                security = security or uri
            elif SUITE in suites:
                mirror = mirror or uri
    for path in [apt / "sources.list", *sorted(apt.glob("sources.list.d/*.list"))]:
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
            if len(words) >= 3 and words[0] == "deb":
                if words[2] == f"{SUITE}-security":
                    security = security or words[1]
                elif words[2] == SUITE:
                    mirror = mirror or words[1]
    return (mirror or DEFAULT_MIRROR).rstrip("/"), (security or DEFAULT_SECURITY).rstrip("/")


# --- buildah ----------------------------------------------------------------------------------------------


def tool(name: str) -> str:
    """The path of a command (the sbin folders too: debootstrap lives there and PATH may lack them)."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if path is None:
        raise SystemExit(f"image: {name} is not installed (bash tools/system-packages.sh buildah debootstrap)")
    return path


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, **kw)
    if proc.returncode != 0:
        raise SystemExit(f"image: {' '.join(cmd[:3])} ... failed with status {proc.returncode}")
    return proc


def image_id(name: str) -> str | None:
    proc = subprocess.run(["buildah", "inspect", "--type", "image", "--format", "{{.FromImageID}}", name],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    return proc.stdout.strip() or None


def debootstrap_base(name: str = BASE_IMAGE, *, new: bool = False) -> str:
    """The local base image ``name``, made with debootstrap unless it exists (or ``new``)."""
    if not new and image_id(name):
        return name
    debootstrap = tool("debootstrap")
    tool("buildah")
    mirror, security = debian_mirrors()
    work = cache_dir()
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="debootstrap-", dir=work) as tmp:
        rootfs = Path(tmp) / "rootfs"
        log(f"debootstrap --variant=minbase {SUITE} from {mirror} (once; the base is kept as {name})")
        with open(Path(tmp) / "debootstrap.log", "wb") as out:
            proc = subprocess.run([debootstrap, "--variant=minbase", SUITE, str(rootfs), mirror],
                                  stdout=out, stderr=subprocess.STDOUT)
        if proc.returncode != 0:
            tail = (Path(tmp) / "debootstrap.log").read_text(errors="replace")[-2000:]
            raise SystemExit(f"image: debootstrap failed ({proc.returncode}):\n{tail}")
        slim(rootfs, mirror, security)
        tarball = Path(tmp) / "rootfs.tar"
        run(["tar", "-C", str(rootfs), "--numeric-owner", "--exclude=./dev/*", "--exclude=./proc/*",
             "--exclude=./sys/*", "-cf", str(tarball), "."])
        ctr = run(["buildah", "from", "scratch"], capture_output=True, text=True).stdout.strip()
        try:
            run(["buildah", "add", "--quiet", ctr, str(tarball), "/"], stdout=subprocess.DEVNULL)
            run(["buildah", "config", "--cmd", "/bin/bash", "--env",
                 "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                 "--label", f"org.opencontainers.image.description=debootstrap --variant=minbase {SUITE}",
                 ctr])
            run(["buildah", "commit", "--quiet", "--rm", ctr, name], stdout=subprocess.DEVNULL)
        except BaseException:
            subprocess.run(["buildah", "rm", ctr], capture_output=True)
            raise
    log(f"base {name} made in {time.time() - t0:.0f} s")
    return name


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink()


def slim(rootfs: Path, mirror: str, security: str) -> None:
    """Trim the debootstrapped root as debian:bookworm-slim is, and give apt the host's mirrors."""
    (rootfs / "etc/dpkg/dpkg.cfg.d").mkdir(parents=True, exist_ok=True)
    (rootfs / "etc/dpkg/dpkg.cfg.d/excludes").write_text(DPKG_EXCLUDES, encoding="utf-8")
    share = rootfs / "usr/share"
    for folder in ("man", "groff", "info", "lintian", "linda"):
        shutil.rmtree(share / folder, ignore_errors=True)
    for path in (share / "locale").glob("*"):
        if path.name != "locale.alias":
            remove(path)
    for doc in (share / "doc").glob("*"):
        if doc.is_dir() and not doc.is_symlink():
            for item in doc.iterdir():
                if item.name != "copyright":
                    remove(item)
    for pattern in ("var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*_*", "var/log/*.log",
                    "var/log/apt/*"):
        for path in rootfs.glob(pattern):
            if path.is_file():
                path.unlink()
    (rootfs / "etc/apt/sources.list").write_text(
        f"deb {mirror} {SUITE} main\ndeb {mirror} {SUITE}-updates main\ndeb {security} {SUITE}-security main\n",
        encoding="utf-8")


def build(tag: str = DEFAULT_TAG, base: str = "debootstrap", *, isolation: str = "chroot",
          extra: list[str] | None = None, new_base: bool = False, python: str = sys.executable) -> str:
    """Build the Containerfile as ``tag``; returns the image id."""
    tool("buildah")
    local = base == "debootstrap"
    if local:
        base = debootstrap_base(new=new_base)
    cmd = ["buildah", "bud", "--isolation", isolation, "--layers", "--format", "docker",
           "-f", str(ROOT / "Containerfile"), "-t", tag, "--build-arg", f"BASE={base}"]
    if local or base.startswith("localhost/"):
        cmd.append("--pull=never")  # a local image: never ask a registry
    cmd += build_arguments(pip_settings(python))
    cmd += [*(extra or []), str(ROOT)]
    log(" ".join(cmd))
    t0 = time.time()
    run(cmd)
    built = image_id(tag)
    if not built:
        raise SystemExit(f"image: {tag} was not found after the build")
    log(f"{tag} ({built[:12]}) built in {time.time() - t0:.0f} s")
    return built


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tag", default=DEFAULT_TAG, help=f"the image's name (default {DEFAULT_TAG})")
    parser.add_argument("--base", default="debootstrap",
                        help="debootstrap (a local Debian base, made once) or an image name (debian:bookworm-slim)")
    parser.add_argument("--new-base", action="store_true", help="make the debootstrap base again")
    parser.add_argument("--isolation", default=os.environ.get("BUILDAH_ISOLATION", "chroot"))
    parser.add_argument("--print-pip", action="store_true", help="print the pip build arguments and mounts, only")
    parser.add_argument("extra", nargs="*", help="after --: more buildah bud arguments")
    args = parser.parse_args(argv)
    if args.print_pip:
        print("\n".join(build_arguments(pip_settings())))
        return
    build(args.tag, args.base, isolation=args.isolation, extra=args.extra, new_base=args.new_base)


if __name__ == "__main__":
    main()
