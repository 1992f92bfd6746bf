"""The spec catalogue: specs/*.json validated by specs/schema.json, found by id, slug or alias.

A spec file says what its document says (see specs/schema.json): an exact pixel size or a pixel
range with an aspect ratio, a print size or a range of them, print and digital variants linked to
each other, the head height's top (hair or skull), background colours each with its own tolerance
and colour ranges, colour or greyscale, file windows in the authority's own KB, and for an official
document its source. :func:`derived_checks` turns that into the thresholds the rule engine applies.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jsonschema

from . import colors, countries
from .datafiles import data_dir
from .errors import CheckerError

SPECS_DIR = data_dir("specs", "CHECKER_SPECS_DIR")  # specs/ in a checkout, checker/specs_data in a wheel

_LITERAL = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*([a-zA-Z%]*)\s*$")


@dataclass(frozen=True)
class Spec:
    """One document's requirements. ``checks`` are the thresholds the rule engine applies: the
    file's explicit ``checks`` merged over those derived from its size, colours and file rules.

    ``size_px`` is always one (width, height): the document's exact size, or where it allows a
    pixel range (``pixels``) the size generation produces. ``background_colors`` are colour names or
    hex values, without their tolerances (those are in ``checks``)."""

    id: int
    slug: str
    name: str
    name_zh: str
    category: str
    size_px: tuple[int, int]
    dpi: int
    size_mm: tuple[float, float] | None = None
    country: str | None = None
    aliases: tuple[str, ...] = ()
    background_colors: tuple[str, ...] = ()
    checks: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def medium(self) -> str:
        return str(self.raw.get("medium", "print_and_digital"))

    @property
    def variants(self) -> tuple[int, ...]:
        return tuple(self.raw.get("variants", ()))

    @property
    def pixels(self) -> Mapping[str, Any] | None:
        """The pixel range the document allows, or None for one exact size."""
        return self.raw.get("pixels")

    @property
    def source(self) -> Mapping[str, Any] | None:
        return self.raw.get("source")

    @property
    def official(self) -> bool:
        """A document whose rules come from its issuing authority (it names its source)."""
        return self.source is not None

    @property
    def country_name(self) -> str | None:
        c = countries.country(self.country)
        return c.name if c else None

    @property
    def country_name_zh(self) -> str | None:
        c = countries.country(self.country)
        return c.name_zh if c else None

    def to_json(self) -> dict[str, Any]:
        """The spec file as served by GET /api/specs/<id>, with the derived checks."""
        return dict(self.raw) | {"checks": {k: dict(v) for k, v in self.checks.items()},
                                 "country_name": self.country_name, "country_name_zh": self.country_name_zh,
                                 "official": self.official}

    def summary(self) -> dict[str, Any]:
        out = {
            "id": self.id, "slug": self.slug, "name": self.name, "name_zh": self.name_zh,
            "category": self.category, "country": self.country, "country_name": self.country_name,
            "country_name_zh": self.country_name_zh, "size_px": list(self.size_px),
            "size_mm": list(self.size_mm) if self.size_mm else None, "dpi": self.dpi,
            "background_colors": list(self.background_colors),
            "background_hex": [colors.to_hex(colors.parse_color(c)) for c in self.background_colors],
            "medium": self.medium, "official": self.official,
        }
        for key in ("pixels", "size_mm_range", "variants", "source"):
            if key in self.raw:
                out[key] = self.raw[key]
        return out


def _color_name(entry: str | Mapping[str, Any]) -> str:
    return entry if isinstance(entry, str) else str(entry["color"])


def derived_checks(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Thresholds implied by a spec's size, colours and file rules, then its explicit checks."""
    pixels = doc.get("pixels")
    size_check: dict[str, Any] = {"equals": list(doc["size_px"])}
    if pixels:
        keys = (("min", "min_size"), ("max", "max_size"), ("aspect", "aspect"))
        size_check = {k: list(pixels[src]) for src, k in keys if src in pixels}
    checks: dict[str, dict[str, Any]] = {
        "px_and_mm": size_check,
        "ppi": {"min": doc["dpi"], "enabled": False},  # the threshold is known; checking it is opt-in
    }
    entries = doc.get("background_colors")
    if entries or doc.get("background_ranges"):
        checks["background_color"] = {"one_of": [_color_name(e) for e in entries or ()]}
        own = {e["color"]: e["tolerance"] for e in entries or () if not isinstance(e, str)}
        if own:
            checks["background_color"]["tolerances"] = own
        if "background_tolerance" in doc:
            checks["background_color"]["tolerance"] = doc["background_tolerance"]
        if doc.get("background_ranges"):
            checks["background_color"]["ranges"] = [dict(r) for r in doc["background_ranges"]]
    else:
        checks["background_color"] = {"enabled": False}  # "no requirement"
    file_rules = doc.get("file", {})
    if "formats" in file_rules:
        checks["photo_format"] = {"one_of": list(file_rules["formats"])}
    window = file_window(file_rules)
    if window:
        checks["file_size"] = window
    for name, entry in doc.get("checks", {}).items():
        checks[name] = {**checks.get(name, {}), **entry}
    if doc.get("head_crown") == "skull" and "max" in checks.get("head_length", {}):
        checks["head_length"] = {**checks["head_length"],
                                 "max": _add_literals(checks["head_length"]["max"], doc["hair_allowance"])}
    return checks


def file_window(file_rules: Mapping[str, Any]) -> dict[str, int]:
    """The file-size window in bytes. A window in KB is read as the authority counts: 1000 or
    1024 bytes, or, where it does not say, the window both readings accept (min x 1024, max x 1000)."""
    out = {k: int(file_rules[f"{k}_bytes"]) for k in ("min", "max") if f"{k}_bytes" in file_rules}
    unit = file_rules.get("kb")
    if "min_kb" in file_rules:
        out["min"] = round(file_rules["min_kb"] * (1024 if unit in (1024, "either") else 1000))
    if "max_kb" in file_rules:
        out["max"] = round(file_rules["max_kb"] * (1024 if unit == 1024 else 1000))
    return out


def _add_literals(a: Any, b: Any) -> Any:
    """``"36mm" + "2mm"`` -> ``"38mm"``: two literals in the same unit."""
    ma, mb = _LITERAL.match(str(a)), _LITERAL.match(str(b))
    if not ma or not mb or ma.group(2).lower() != mb.group(2).lower():
        raise ValueError(f"cannot add {b!r} to {a!r}: the hair allowance needs head_length's unit")
    total = round(float(ma.group(1)) + float(mb.group(1)), 3)
    number = f"{total:g}"
    return f"{number}{ma.group(2)}" if ma.group(2) else total


def _schema() -> dict[str, Any]:
    return json.loads((SPECS_DIR / "schema.json").read_text(encoding="utf-8"))


def _consistent(doc: Mapping[str, Any]) -> None:
    """What the schema cannot say: the generation size inside the pixel range, the print size inside
    its range, a known country."""
    w, h = doc["size_px"]
    pixels = doc.get("pixels") or {}
    for bound, ok in (("min", lambda v, lim: v >= lim), ("max", lambda v, lim: v <= lim)):
        for v, lim in zip((w, h), pixels.get(bound) or (None, None), strict=True):
            if lim is not None and not ok(v, lim):
                raise ValueError(f"size_px {w}x{h} is outside pixels.{bound} {pixels[bound]}")
    if "aspect" in pixels:
        aw, ah = pixels["aspect"]
        if abs(w - h * aw / ah) > 1:
            raise ValueError(f"size_px {w}x{h} does not keep the aspect {aw}:{ah}")
    rng = doc.get("size_mm_range")
    if rng:
        if "size_mm" not in doc:
            raise ValueError("size_mm_range needs the size_mm generation prints")
        for v, lo, hi in zip(doc["size_mm"], rng["min"], rng["max"], strict=True):
            if not lo <= v <= hi:
                raise ValueError(f"size_mm {doc['size_mm']} is outside size_mm_range {rng}")
    if doc.get("country") and countries.country(doc["country"]) is None:
        raise ValueError(f"country {doc['country']!r} is not in checker/countries.py")
    for entry in doc.get("background_colors", ()):
        colors.parse_color(_color_name(entry))  # raises on a name the palette does not know


@lru_cache(maxsize=1)
def _catalogue() -> tuple[dict[int, Spec], dict[str, Spec]]:
    schema = _schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)  # built once: jsonschema.validate() per file took 11 s
    by_id: dict[int, Spec] = {}
    by_name: dict[str, Spec] = {}
    for path in sorted(SPECS_DIR.glob("*.json")):
        if path.name == "schema.json":
            continue
        doc = json.loads(path.read_text(encoding="utf-8"))
        try:
            validator.validate(doc)
            _consistent(doc)
            checks = derived_checks(doc)
        except jsonschema.ValidationError as exc:
            raise ValueError(f"specs/{path.name}: {exc.message} at {list(exc.absolute_path)}") from exc
        except ValueError as exc:
            raise ValueError(f"specs/{path.name}: {exc}") from exc
        spec = Spec(
            id=doc["id"], slug=doc["slug"], name=doc["name"], name_zh=doc["name_zh"], category=doc["category"],
            size_px=tuple(doc["size_px"]), dpi=doc["dpi"],
            size_mm=tuple(doc["size_mm"]) if "size_mm" in doc else None,
            country=doc.get("country"), aliases=tuple(doc.get("aliases", ())),
            background_colors=tuple(_color_name(e) for e in doc.get("background_colors", ())),
            checks=checks, raw=doc,
        )
        if spec.id in by_id:
            raise ValueError(f"specs/{path.name}: id {spec.id} is used twice")
        by_id[spec.id] = spec
        for name in (spec.slug, *spec.aliases):
            if name in by_name:
                raise ValueError(f"specs/{path.name}: slug {name!r} is used twice")
            by_name[name] = spec
    for spec in by_id.values():  # print and digital variants name each other
        for other in spec.variants:
            if other not in by_id or spec.id not in by_id[other].variants:
                raise ValueError(f"specs/{spec.id}.json: variant {other} does not exist or does not name {spec.id}")
    return by_id, by_name


def load_spec(ref: int | str) -> Spec:
    """A spec by numeric id (``1102`` or ``"1102"``), slug or alias; UNKNOWN_SPEC otherwise."""
    by_id, by_name = _catalogue()
    key: int | str | None = ref.strip().lower() if isinstance(ref, str) else ref
    if isinstance(key, bool):
        key = None
    if isinstance(key, str) and re.fullmatch(r"\d{1,18}", key):  # longer digit strings name no spec
        key = int(key)
    spec = by_id.get(key) if isinstance(key, int) else by_name.get(key) if isinstance(key, str) else None
    if spec is None:
        shown = ref if not isinstance(ref, str) or len(ref) <= 60 else ref[:57] + "..."
        raise CheckerError("UNKNOWN_SPEC", f"no spec {shown!r}; GET /api/specs lists them")
    return spec


def list_specs(search: str | None = None, category: str | None = None, country: str | None = None) -> list[Spec]:
    """Specs sorted by id, optionally filtered by words (in any name, slug, id, size or the issuing
    country's names in English and Chinese), category and country (an ISO code such as ``DE``, or
    a country's name). A word of digits matches an id whole, or a size or name that contains it."""
    by_id, _ = _catalogue()
    specs = [by_id[k] for k in sorted(by_id)]
    if category:
        specs = [s for s in specs if s.category == category.strip().lower()]
    if country:
        found = countries.find(country)
        code = found.code if found else country.strip().upper()
        specs = [s for s in specs if s.country == code]
    if search:
        words = search.casefold().split()
        specs = [s for s in specs if all(_matches(s, w) for w in words)]
    return specs


def _matches(spec: Spec, word: str) -> bool:
    if word.isdigit() and word == str(spec.id):
        return True
    return word in _haystack(spec)


def _haystack(spec: Spec) -> str:
    size = "x".join(str(v) for v in spec.size_px)
    return " ".join([spec.slug, *spec.aliases, spec.name.casefold(), spec.name_zh, spec.category,
                     countries.search_text(spec.country), size])
