"""``idphoto models``: the optional weight files in CHECKER_MODELS_DIR (list, pull, verify).

The lead registers :data:`models_group` in :mod:`checker.cli` as ``idphoto models``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from .errors import CheckerError
from .models import files


def _state(st: dict[str, Any]) -> str:
    if not st["present"]:
        return "-"
    return {True: "verified", False: "MISMATCH", None: "unpinned"}[st["verified"]]


def _no_dir_note() -> None:
    click.echo(f"note: {files.ENV} is not set, so no model file is installed; set it to the models folder", err=True)


@click.group("models")
def models_group() -> None:
    """Optional model weight files (folder: $CHECKER_MODELS_DIR)."""


@models_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the status of every file as JSON.")
def list_cmd(as_json: bool) -> None:
    """Every known model file: purpose, whether it is here, whether it matches its pin, licence."""
    rows = [files.status(name) for name in files.MODEL_FILES]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = [("NAME", "PURPOSE", "PRESENT", "STATE", "LICENCE")]
    for st in rows:
        table.append((st["name"], st["purpose"], "yes" if st["present"] else "no", _state(st), st["licence"]))
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    for r in table:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4])
    if files.models_dir() is None:
        _no_dir_note()


class _Progress:
    """Download progress on stderr, redrawn at most once per whole percent (or per MB when the size
    is unknown), so a pipe or CI log does not fill with lines."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.last: int | None = None

    def __call__(self, done: int, total: int | None) -> None:
        mark = done * 100 // total if total else done >> 20
        if mark == self.last:
            return
        self.last = mark
        mb = done / 1e6
        text = f"{mb:.1f} / {total / 1e6:.1f} MB ({mark}%)" if total else f"{mb:.1f} MB"
        click.echo(f"\r  {self.name}: {text}", nl=False, err=True)

    def end(self) -> None:
        if self.last is not None:
            click.echo("", err=True)


@models_group.command("pull")
@click.argument("names", nargs=-1)
@click.option("--all", "pull_all", is_flag=True, help="Pull every known model file.")
@click.option("--allow-unpinned", is_flag=True,
              help="Also fetch files with no pinned sha256 (their hash is printed so it can be pinned).")
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=f"Folder to put the files in [default: ${files.ENV}].")
def pull_cmd(names: tuple[str, ...], pull_all: bool, allow_unpinned: bool, dest: Path | None) -> None:
    """Download model files NAME... (or --all) from their upstream addresses, checking their sha256.

    A file already there and matching its pin is not downloaded again. Exit status: 0 when every
    file asked for is in place, 1 otherwise."""
    if pull_all == bool(names):
        raise click.UsageError("name the model files to pull, or pass --all (not both)")
    wanted = list(files.MODEL_FILES) if pull_all else list(dict.fromkeys(names))
    unknown = [n for n in wanted if n not in files.MODEL_FILES]
    if unknown:
        raise click.UsageError(f"unknown model file(s) {', '.join(unknown)}; known: {', '.join(files.MODEL_FILES)}")
    folder = dest or files.models_dir()
    if folder is None:
        raise click.UsageError(f"set {files.ENV} or pass --dest DIR")
    failed = 0
    for name in wanted:
        entry = files.MODEL_FILES[name]
        target = folder / entry.filename
        if entry.sha256 and target.is_file() and files.sha256_of(target) == entry.sha256:
            click.echo(f"{name}: already present, sha256 {entry.sha256} (verified)")
            continue
        click.echo(f"{name}: {entry.url}", err=True)
        progress = _Progress(name)
        try:
            path = files.pull(name, dest=folder, allow_unpinned=allow_unpinned, progress=progress)
        except CheckerError as exc:
            progress.end()
            click.echo(f"{name}: FAILED: {exc.message}", err=True)
            failed += 1
            continue
        progress.end()
        digest = files.sha256_of(path)
        note = "verified" if entry.sha256 else "UNPINNED: check it and pin this hash in checker/models/files.py"
        click.echo(f"{name}: {path} sha256 {digest} ({note})")
    sys.exit(1 if failed else 0)


@models_group.command("verify")
def verify_cmd() -> None:
    """Check every file present in $CHECKER_MODELS_DIR against its pinned sha256.

    Exit status 0 when every present, pinned file matches (unpinned files are listed with their hash
    but do not fail), 1 when any does not, 2 when CHECKER_MODELS_DIR is not set."""
    if files.models_dir() is None:
        click.echo(f"error: {files.ENV} is not set: nothing to verify", err=True)
        sys.exit(2)
    bad = present = 0
    for name in files.MODEL_FILES:
        st = files.status(name)
        if not st["present"]:
            continue
        present += 1
        if st["verified"] is False:
            bad += 1
            click.echo(f"MISMATCH  {name}: {st['file']} has sha256 {st['actual_sha256']}, pinned {st['sha256']}")
        elif st["verified"] is None:
            click.echo(f"unpinned  {name}: {st['file']} sha256 {st['actual_sha256']}")
        else:
            click.echo(f"ok        {name}: {st['file']}")
    click.echo(f"{present} file(s) present in {files.models_dir()}, {bad} mismatched", err=True)
    sys.exit(1 if bad else 0)
