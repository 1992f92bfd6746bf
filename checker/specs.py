"""The spec catalogue: specs/*.json validated by specs/schema.json, found by id, slug or alias."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jsonschema

from . import colors
from .datafiles import data_dir
from .errors import CheckerError

SPECS_DIR = data_dir("specs", "CHECKER_SPECS_DIR")  # specs/ in a checkout, checker/specs_data in a wheel


@dataclass(frozen=True)
class Spec:
    """One document's requirements. ``checks`` are the thresholds the rule engine applies: the
    file's explicit ``checks`` merged over those derived from its size, colours and file rules."""

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

    def to_json(self) -> dict[str, Any]:
        """The spec file as served by GET /api/specs/<id>, with the derived checks."""
        return dict(self.raw) | {"checks": {k: dict(v) for k, v in self.checks.items()}}

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id, "slug": self.slug, "name": self.name, "name_zh": self.name_zh,
            "category": self.category, "country": self.country, "size_px": list(self.size_px),
            "size_mm": list(self.size_mm) if self.size_mm else None, "dpi": self.dpi,
            "background_colors": list(self.background_colors),
            "background_hex": [colors.to_hex(colors.parse_color(c)) for c in self.background_colors],
        }


def derived_checks(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Thresholds implied by a spec's size, colours and file rules, then its explicit checks."""
    checks: dict[str, dict[str, Any]] = {
        "px_and_mm": {"equals": list(doc["size_px"])},
        "ppi": {"min": doc["dpi"], "enabled": False},  # the threshold is known; checking it is opt-in
    }
    colors = doc.get("background_colors")
    if colors:
        checks["background_color"] = {"one_of": list(colors)}
        if "background_tolerance" in doc:
            checks["background_color"]["tolerance"] = doc["background_tolerance"]
    else:
        checks["background_color"] = {"enabled": False}  # "no requirement"
    file_rules = doc.get("file", {})
    if "formats" in file_rules:
        checks["photo_format"] = {"one_of": list(file_rules["formats"])}
    window = {k: file_rules[f"{k}_bytes"] for k in ("min", "max") if f"{k}_bytes" in file_rules}
    if window:
        checks["file_size"] = window
    for name, entry in doc.get("checks", {}).items():
        checks[name] = {**checks.get(name, {}), **entry}
    return checks


def _schema() -> dict[str, Any]:
    return json.loads((SPECS_DIR / "schema.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _catalogue() -> tuple[dict[int, Spec], dict[str, Spec]]:
    schema = _schema()
    by_id: dict[int, Spec] = {}
    by_name: dict[str, Spec] = {}
    for path in sorted(SPECS_DIR.glob("*.json")):
        if path.name == "schema.json":
            continue
        doc = json.loads(path.read_text(encoding="utf-8"))
        try:
            jsonschema.validate(doc, schema)
        except jsonschema.ValidationError as exc:
            raise ValueError(f"specs/{path.name}: {exc.message} at {list(exc.absolute_path)}") from exc
        spec = Spec(
            id=doc["id"], slug=doc["slug"], name=doc["name"], name_zh=doc["name_zh"], category=doc["category"],
            size_px=tuple(doc["size_px"]), dpi=doc["dpi"],
            size_mm=tuple(doc["size_mm"]) if "size_mm" in doc else None,
            country=doc.get("country"), aliases=tuple(doc.get("aliases", ())),
            background_colors=tuple(doc.get("background_colors", ())),
            checks=derived_checks(doc), raw=doc,
        )
        if spec.id in by_id:
            raise ValueError(f"specs/{path.name}: id {spec.id} is used twice")
        by_id[spec.id] = spec
        for name in (spec.slug, *spec.aliases):
            if name in by_name:
                raise ValueError(f"specs/{path.name}: slug {name!r} is used twice")
            by_name[name] = spec
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


def list_specs(search: str | None = None, category: str | None = None) -> list[Spec]:
    """Specs sorted by id, optionally filtered by words (in any name, slug, id or country)
    and category."""
    by_id, _ = _catalogue()
    specs = [by_id[k] for k in sorted(by_id)]
    if category:
        specs = [s for s in specs if s.category == category.lower()]
    if search:
        words = search.lower().split()
        specs = [s for s in specs if all(w in _haystack(s) for w in words)]
    return specs


def _haystack(spec: Spec) -> str:
    size = "x".join(str(v) for v in spec.size_px)
    return " ".join([str(spec.id), spec.slug, *spec.aliases, spec.name.lower(), spec.name_zh,
                     spec.category, (spec.country or "").lower(), size])
