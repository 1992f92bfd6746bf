"""What the ``idphoto`` commands share: ``-`` for stdin/stdout, output formats from file names,
``--param`` parsing with its names checked, and photo discovery in folders."""

from __future__ import annotations

import difflib
import json
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any, NoReturn

import click

import checker

STDIO = "-"
# Output formats by file extension (the encoders write these two).
OUTPUT_EXTENSIONS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
FORMAT_CHOICE = click.Choice(["png", "jpg", "jpeg"], case_sensitive=False)
# Files a folder walk picks up; a file named on the command line is read whatever its name.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".heic", ".heif",
                  ".hif", ".avif")


# --- input and output ---------------------------------------------------------------------------
def read_input(path: str) -> bytes:
    """The bytes of PATH, or of stdin for ``-``. FILE_NOT_READABLE when it cannot be read."""
    if path == STDIO:
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise checker.CheckerError("FILE_NOT_READABLE", f"{path}: {exc.strerror or exc}") from exc


def write_output(path: str, data: bytes) -> None:
    """Write DATA to PATH, or to stdout for ``-``."""
    if path == STDIO:
        sys.stdout.flush()  # whatever text went before stays before
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        with open(path, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise checker.CheckerError("FILE_NOT_WRITABLE", f"{path}: {exc.strerror or exc}") from exc


def output_format(path: str, fmt: str | None, default: str | None, *, option: str = "-o") -> str | None:
    """JPEG or PNG for an output: from PATH's extension; for stdout ``fmt`` (``--format``), else
    ``default``; for a name without an extension ``fmt``. An unknown or missing extension (without
    ``--format``), or one that contradicts ``--format``, is a usage error."""
    asked = _format_name(fmt)
    if path == STDIO:
        return asked or default
    ext = os.path.splitext(path)[1].lower()
    if not ext:
        if asked:
            return asked
        raise click.BadParameter(f"{path!r} has no extension: name it .png, .jpg or .jpeg, or give --format",
                                 param_hint=option)
    by_name = OUTPUT_EXTENSIONS.get(ext)
    if by_name is None:
        raise click.BadParameter(f"{path!r}: {ext} is not an output format here; use .png, .jpg or .jpeg "
                                 f"(or - for stdout)", param_hint=option)
    if asked and asked != by_name:
        raise click.BadParameter(f"{path!r} is a {by_name} name but --format says {asked}", param_hint=option)
    return by_name


def _format_name(fmt: str | None) -> str | None:
    if not fmt:
        return None
    f = fmt.strip().upper()
    return "JPEG" if f in ("JPG", "JPEG") else f


def shown(path: str) -> str:
    """A path as messages name it."""
    return "<stdout>" if path == STDIO else path


def say(text: str, *, quiet_stdout: bool) -> None:
    """A message for the person at the terminal: on stderr when stdout carries data."""
    click.echo(text, err=quiet_stdout)


def fail(status: str, message: str, as_json: bool = False) -> NoReturn:
    """End the command with exit status 2 for an error the library reported."""
    if as_json:
        click.echo(json.dumps({"status": status, "message": message}, ensure_ascii=False))
    else:
        click.echo(f"error: {status}: {message}", err=True)
    sys.exit(2)


# --- --param ------------------------------------------------------------------------------------
def parse_params(pairs: Iterable[str], known: Callable[[], Iterable[str]] | None = None,
                 what: str = "parameter") -> dict[str, Any]:
    """``KEY=VALUE`` pairs; values are JSON where they parse (numbers, lists), text otherwise. With
    ``known``, a name outside it is a usage error naming it and the closest valid names."""
    params: dict[str, Any] = {}
    names: list[str] | None = None
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--param")
        if known is not None:
            names = names if names is not None else sorted(known())
            if key not in names:
                raise click.BadParameter(unknown_name(key, names, what), param_hint="--param")
        try:
            params[key] = json.loads(value)  # numbers and lists as JSON, anything else as text
        except json.JSONDecodeError:
            params[key] = value
    return params


def unknown_name(key: str, names: list[str], what: str) -> str:
    """"unknown threshold 'eyes_clsoe'; did you mean eyes_close?" (spelling first, then names
    containing what was typed)."""
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.6)
    close = close or [n for n in names if key.lower() in n.lower()][:3]
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return f"unknown {what} {key!r}{hint}"


# --- photos on the command line -------------------------------------------------------------------
def collect_photos(paths: Iterable[str]) -> list[str]:
    """The photos named: files as given (any name), ``-`` for stdin (once), folders walked
    (recursively, sorted, hidden entries skipped) for files with an image extension."""
    found: list[str] = []
    stdin_seen = False
    for path in paths:
        if path == STDIO:
            if stdin_seen:
                raise click.BadParameter("- (stdin) can be named only once", param_hint="PHOTO")
            stdin_seen = True
            found.append(path)
        elif os.path.isdir(path):
            found.extend(_walk(path))
        else:
            found.append(path)  # a missing file becomes an error row, not an abort
    return found


def _walk(folder: str) -> list[str]:
    out: list[str] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out.extend(os.path.join(root, f) for f in sorted(files)
                   if not f.startswith(".") and f.lower().endswith(IMAGE_SUFFIXES))
    return out
