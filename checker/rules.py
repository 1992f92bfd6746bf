"""The rule engine: measurements + rules + spec thresholds + request overrides -> verdicts.

Rules are data (``rules/*.json``, validated by ``rules/schema.json``). A rule names its check, the
measure it reads, an operator and default thresholds, the seed 004 parameters that override them,
and its messages. Precedence: request > spec > rule default. The engine, not the rule, attaches
the check, value, expected and messages to each failure.

Threshold literals: a number in the rule's unit, or a string with a unit: ``"300px"`` (pixels of
the spec's frame, scaled to the photo), ``"32mm"`` (through the spec's px/mm), ``"12%"`` (of the
frame's width or height, the rule's ``axis``), ``"1.375in"`` (inches, 25.4 mm each), ``"40KB"`` / ``"1MB"``
(bytes). So the geometry of
a 607 x 851 upload is judged by the proportions of a 295 x 413 spec, and only px_and_mm says that
the size is wrong.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import jsonschema

from . import colors
from .datafiles import data_dir
from .detectors import Measure
from .errors import CheckerError
from .params import finite

RULES_DIR = data_dir("rules", "CHECKER_RULES_DIR")  # rules/ in a checkout, checker/rules_data in a wheel

_LITERAL = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(px|mm|in|%|kb|mb|b|deg|°)?\s*$", re.IGNORECASE)
_FORMAT_ALIASES = {
    "jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "bmp": "BMP", "bitmap": "BMP", "gif": "GIF",
    "tif": "TIFF", "tiff": "TIFF", "webp": "WEBP", "heif": "HEIF", "heic": "HEIF", "avif": "AVIF",
}


@dataclass(frozen=True, eq=False)  # hashed by identity: rules are loaded once
class Rule:
    check: str
    measure: str
    op: str
    use: str = "value"  # "value" (raw) or "score" (0-100)
    abs: bool = False  # compare |value|
    axis: str | None = None  # "x" / "y" for pixel measures
    unit: str = ""
    bare_number: str = "px"  # how a bare number in a request parameter reads: "px" or "percent"
    normalize: str | None = None  # "format" | "color" for one_of members
    metric: str | None = None  # "delta_e" for colours
    default: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    enabled: bool = True
    mandatory: bool = False  # always checked (seed: face_center, sight_line)
    planned: bool = False  # no detector yet: requested -> not assessed, never passed
    title: Mapping[str, str] = field(default_factory=dict)
    message: Mapping[str, str] = field(default_factory=dict)
    doc: str = ""


@dataclass(frozen=True)
class Frame:
    """The pixel frame thresholds are written in, and the photo they are applied to."""

    image_w: int
    image_h: int
    frame_w: float
    frame_h: float
    dpi: float | None = None
    mm_w: float | None = None  # the printed size, when it matches the pixel frame's intent
    mm_h: float | None = None

    def axis_len(self, axis: str, frame: bool) -> float:
        if frame:
            return self.frame_w if axis == "x" else self.frame_h
        return float(self.image_w if axis == "x" else self.image_h)

    def px_per_mm(self, axis: str) -> float:
        """Frame pixels per printed millimetre along ``axis``. From the printed size when known, so
        a head of 28-33 mm in a 48 mm print is 58-69% of the frame height even where the digital
        frame's aspect differs from the print's (China visa: 354 x 472 px for 33 x 48 mm)."""
        mm = self.mm_w if axis == "x" else self.mm_h
        if mm:
            return self.axis_len(axis, frame=True) / mm
        if not self.dpi:
            raise ValueError("a threshold in mm needs a spec with a size in mm or a dpi")
        return self.dpi / 25.4


# --- loading -----------------------------------------------------------------------------------
def _schema() -> dict[str, Any]:
    return json.loads((RULES_DIR / "schema.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def load_rules() -> dict[str, Rule]:
    """All rules by check name, from rules/*.json (validated)."""
    schema = _schema()
    rules: dict[str, Rule] = {}
    for path in sorted(RULES_DIR.glob("*.json")):
        if path.name == "schema.json":
            continue
        doc = json.loads(path.read_text(encoding="utf-8"))
        try:
            jsonschema.validate(doc, schema)
        except jsonschema.ValidationError as exc:
            raise ValueError(f"{path.name}: {exc.message} at {list(exc.absolute_path)}") from exc
        for raw in doc["rules"]:
            rule = Rule(**raw)
            if rule.op not in OPERATORS:
                raise ValueError(f"{path.name}: {rule.check} names no operator {rule.op!r}")
            if rule.check in rules:
                raise ValueError(f"{path.name}: check {rule.check!r} defined twice")
            rules[rule.check] = rule
    _param_index(tuple(rules.values()))  # fails on a parameter claimed by two rules
    return rules


@lru_cache(maxsize=4)
def _param_index(rules: tuple[Rule, ...]) -> dict[str, tuple[Rule, str]]:
    index: dict[str, tuple[Rule, str]] = {}
    for rule in rules:
        for key, param in rule.params.items():
            if param in index:
                raise ValueError(f"parameter {param!r} claimed by {index[param][0].check} and {rule.check}")
            index[param] = (rule, key)
    return index


def param_names() -> list[str]:
    """Every request parameter the engine understands."""
    return sorted(_param_index(tuple(load_rules().values())))


def param_help() -> list[tuple[str, str, str]]:
    """(parameter, the threshold it sets as check.key, the check's title) for every override."""
    index = _param_index(tuple(load_rules().values()))
    return [(name, f"{rule.check}.{key}", rule.title.get("en", rule.check))
            for name, (rule, key) in sorted(index.items())]


# --- literals ---
# --- literals ----------------------------------------------------------------------------------
def to_number(literal: Any, rule: Rule, frame: Frame, *, bare: str) -> float:
    """A threshold literal -> a number in the measure's own unit (image pixels for axis rules).

    ``bare`` says how a plain number reads: "native" (the rule's unit; pixels of the spec frame
    for axis rules), "px" or "percent" (request parameters, per the seed).
    """
    if isinstance(literal, bool):
        raise ValueError("expected a number")
    if isinstance(literal, int | float):
        number, unit = finite(literal), None
    elif isinstance(literal, str):
        m = _LITERAL.match(literal) if len(literal) <= 40 else None
        if not m:
            raise ValueError(f"{literal[:40]!r} is not a number (units: px, mm, in, %, KB, MB)")
        number, unit = finite(m.group(1)), (m.group(2) or "").lower() or None
    else:
        raise ValueError(f"{literal!r} is not a number")
    if unit is None:
        unit = {"percent": "%", "px": "px"}.get(bare) if rule.axis else None
        if rule.axis and unit is None:
            unit = "px"
    if unit in ("kb", "mb", "b"):
        if rule.unit != "bytes":
            raise ValueError(f"{literal!r}: a size in bytes does not fit {rule.check}")
        return number * {"kb": 1024, "mb": 1024**2, "b": 1}[unit]
    if unit in ("deg", "°"):
        return number
    if rule.axis is None:
        if unit in (None, "%") and (unit is None or rule.unit == "%"):
            return number
        raise ValueError(f"{literal!r}: {rule.check} takes a plain number ({rule.unit or 'score'})")
    axis = rule.axis
    if unit == "%":
        return number / 100.0 * frame.axis_len(axis, frame=False)
    if unit == "in":
        number, unit = number * 25.4, "mm"
    if unit == "mm":
        number *= frame.px_per_mm(axis)
    # pixels of the spec's frame -> pixels of this photo
    return number * frame.axis_len(axis, frame=False) / frame.axis_len(axis, frame=True)


def _members(values: Any, rule: Rule) -> list[Any]:
    if isinstance(values, str):
        values = [v for v in re.split(r"[,;|\s]+", values) if v]
    elif not isinstance(values, list | tuple):
        values = [values]
    if rule.normalize == "format":
        out = []
        for v in values:
            key = str(v).strip().lower().lstrip(".")
            if key not in _FORMAT_ALIASES:
                raise ValueError(f"{v!r} is not an image format (jpg, png, bmp, gif, tiff, webp, heic, avif)")
            out.append(_FORMAT_ALIASES[key])
        return out
    if rule.normalize == "color":
        return [colors.to_hex(colors.parse_color(v)) for v in values]
    return list(values)


# --- thresholds ---------------------------------------------------------------------------------
def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def resolve(
    rule: Rule, spec_entry: Mapping[str, Any] | None, request_entry: Mapping[str, Any], frame: Frame
) -> dict[str, Any]:
    """Concrete thresholds for one rule: rule default, then spec, then request."""
    out: dict[str, Any] = {}
    layers = (("native", rule.default), ("native", spec_entry or {}), ("request", request_entry))
    for source, layer in layers:
        for key, literal in layer.items():
            if key == "enabled" or _is_blank(literal):
                continue
            try:
                found = _threshold(rule, key, literal, frame, source)
            except (ValueError, TypeError) as exc:
                where = rule.params.get(key, key) if source == "request" else f"{rule.check}.{key}"
                raise CheckerError("INVALID_ARGUMENT", f"{where}: {exc}") from exc
            if "tolerances" in found:  # per-colour tolerances add up across the layers
                found["tolerances"] = {**out.get("tolerances", {}), **found["tolerances"]}
            out.update(found)
    if "one_of" in request_entry and rule.metric == "delta_e":
        out.pop("ranges", None)  # colours the request names replace the spec's colours and its ranges
    return out


def _threshold(rule: Rule, key: str, literal: Any, frame: Frame, source: str) -> dict[str, Any]:
    bare = rule.bare_number if source == "request" else "native"
    if key in ("min", "max"):
        return {key: to_number(literal, rule, frame, bare=bare)}
    if key == "one_of":
        return {"one_of": _members(literal, rule)}
    if key == "tolerance":
        return {"tolerance": _plain(literal)}
    if key == "equals":
        vals = [_plain(v) for v in (literal if isinstance(literal, list | tuple) else [literal])]
        return {"equals": [int(v) if v.is_integer() else v for v in vals]}
    if key.startswith("equals."):
        # one position of a list (px_and_mm: equals.0 = width, equals.1 = height)
        return {key: int(_plain(literal))}
    if key in ("min_size", "max_size"):  # a pixel range: [width, height], either may be null
        return {key: _pair(literal, integer=True)}
    if key == "aspect":  # width : height, as a pair ([35, 45]) or one number (0.778)
        pair = _pair(literal if isinstance(literal, list | tuple) else [literal, 1], integer=False)
        if any(v is None or v <= 0 for v in pair):
            raise ValueError(f"{literal!r} is not an aspect ratio (two positive numbers)")
        return {"aspect": pair}
    if key == "aspect_tolerance":
        return {"aspect_tolerance": _plain(literal)}
    if key == "tolerances":  # colour -> its own ΔE tolerance
        if not isinstance(literal, Mapping):
            raise ValueError(f"{literal!r} is not a mapping of colours to tolerances")
        return {"tolerances": {_members([c], rule)[0]: _plain(t) for c, t in literal.items()}}
    if key == "ranges":  # families of colours a document allows ("light colours")
        return {"ranges": [_colour_range(r) for r in (literal if isinstance(literal, list | tuple) else [literal])]}
    raise ValueError(f"unknown threshold {key!r}")


def _pair(literal: Any, *, integer: bool) -> list[Any]:
    if not isinstance(literal, list | tuple) or len(literal) != 2:
        raise ValueError(f"{literal!r} is not a [width, height] pair")
    out: list[Any] = []
    for v in literal:
        if v is None:
            out.append(None)
            continue
        number = _plain(v)
        if number < 0:
            raise ValueError(f"{literal!r} has a negative member")
        out.append(int(number) if integer or number.is_integer() else number)
    return out


_RANGE_BOUNDS = ("min_lightness", "max_lightness", "min_chroma", "max_chroma")


def _colour_range(doc: Any) -> dict[str, Any]:
    """A colour family in CIELAB: lightness and chroma bounds, an optional hue arc in degrees."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get("name"), str):
        raise ValueError(f"{doc!r} is not a colour range (a name and lightness/chroma bounds)")
    out: dict[str, Any] = {"name": doc["name"], "name_zh": str(doc.get("name_zh") or doc["name"])}
    for key in _RANGE_BOUNDS:
        if doc.get(key) is not None:
            out[key] = _plain(doc[key])
    if doc.get("hue") is not None:
        out["hue"] = _pair(doc["hue"], integer=False)
    if not any(k in out for k in _RANGE_BOUNDS):
        raise ValueError(f"colour range {doc['name']!r} has no bounds")
    return out


def in_colour_range(lab: tuple[float, float, float] | list[float], rng: Mapping[str, Any]) -> bool:
    """Whether a CIELAB colour lies in a colour range (see :func:`_colour_range`)."""
    lightness, chroma = float(lab[0]), math.hypot(float(lab[1]), float(lab[2]))
    if not rng.get("min_lightness", -1) - 1e-9 <= lightness <= rng.get("max_lightness", 101) + 1e-9:
        return False
    if not rng.get("min_chroma", -1) - 1e-9 <= chroma <= rng.get("max_chroma", 1e9) + 1e-9:
        return False
    if rng.get("hue") is not None:
        hue = math.degrees(math.atan2(float(lab[2]), float(lab[1]))) % 360
        lo, hi = (float(h) % 360 for h in rng["hue"])
        return lo <= hue <= hi if lo <= hi else hue >= lo or hue <= hi
    return True


def _plain(literal: Any) -> float:
    """A finite number with no unit (tolerances, exact sizes); never a boolean."""
    if isinstance(literal, bool) or not isinstance(literal, int | float | str):
        raise ValueError(f"{literal!r} is not a number")
    if isinstance(literal, str) and len(literal) > 40:
        raise ValueError("the number is too long")
    return finite(literal)


def _finish(th: dict[str, Any]) -> dict[str, Any]:
    """Fold positional equals.N overrides into the equals list."""
    for key in [k for k in th if k.startswith("equals.")]:
        idx = int(key.split(".", 1)[1])
        base = list(th.get("equals") or [])
        while len(base) <= idx:
            base.append(None)
        base[idx] = th.pop(key)
        th["equals"] = base
    return th


# --- comparing: one function per operator, in a registry (rules name them by "op") ---------------
Compare = Callable[["Rule", Any, Mapping[str, Any]], tuple[bool, Any]]


@dataclass(frozen=True)
class Operator:
    """How a rule's measured value is judged against its thresholds, and which thresholds it needs."""

    compare: Compare
    needs: Callable[[Mapping[str, Any]], bool]


OPERATORS: dict[str, Operator] = {}


def operator(name: str, needs: Callable[[Mapping[str, Any]], bool]) -> Callable[[Compare], Compare]:
    """Register ``fn(rule, value, thresholds) -> (passed, value shown)`` as the operator ``name``."""
    def register(fn: Compare) -> Compare:
        if name in OPERATORS:
            raise ValueError(f"operator {name!r} registered twice")
        OPERATORS[name] = Operator(fn, needs)
        return fn
    return register


def _bounded(th: Mapping[str, Any]) -> bool:
    return th.get("min") is not None or th.get("max") is not None


def _number(rule: Rule, value: Any) -> float:
    return abs(float(value)) if rule.abs else float(value)


@operator("min", _bounded)
def _op_min(rule: Rule, value: Any, th: Mapping[str, Any]) -> tuple[bool, Any]:
    lo = th.get("min")
    return lo is None or _number(rule, value) >= lo - 1e-9, value


@operator("max", _bounded)
def _op_max(rule: Rule, value: Any, th: Mapping[str, Any]) -> tuple[bool, Any]:
    hi = th.get("max")
    return hi is None or _number(rule, value) <= hi + 1e-9, value


@operator("range", _bounded)
def _op_range(rule: Rule, value: Any, th: Mapping[str, Any]) -> tuple[bool, Any]:
    v, lo, hi = _number(rule, value), th.get("min"), th.get("max")
    return (lo is None or v >= lo - 1e-9) and (hi is None or v <= hi + 1e-9), value


@operator("one_of", lambda th: bool(th.get("one_of")) or bool(th.get("ranges")))
def _op_one_of(rule: Rule, value: Any, th: Mapping[str, Any]) -> tuple[bool, Any]:
    allowed = th.get("one_of") or []
    if rule.metric == "delta_e":
        # Each colour within its own tolerance (else the rule's), or inside one of the allowed ranges.
        # The value shown is the distance to the nearest listed colour, as before ranges existed.
        lab = colors.rgb_to_lab(colors.parse_color(value))
        tolerances = th.get("tolerances") or {}
        general = float(th.get("tolerance", 0.0))
        dists = [(colors.delta_e(lab, colors.rgb_to_lab(colors.parse_color(c))), float(tolerances.get(c, general)))
                 for c in allowed]
        ok = any(d <= tol for d, tol in dists) or any(in_colour_range(lab, r) for r in th.get("ranges") or [])
        return ok, round(min(d for d, _ in dists), 1) if dists else None
    norm = _members([value], rule)[0] if rule.normalize else value
    return norm in allowed, value


@operator("equals", lambda th: bool(th.get("equals")) and any(v is not None for v in th["equals"]))
def _op_equals(rule: Rule, value: Any, th: Mapping[str, Any]) -> tuple[bool, Any]:
    expected = th.get("equals") or []
    tol = float(th.get("tolerance", 0))
    if isinstance(value, list | tuple):
        ok = all(e is None or abs(float(v) - float(e)) <= tol for v, e in zip(value, expected, strict=False))
    else:
        ok = abs(float(value) - float(expected[0])) <= tol
    return ok, value


def _size_needs(th: Mapping[str, Any]) -> bool:
    return any(v is not None for v in th.get("equals") or []) or any(
        v is not None for k in ("min_size", "max_size") for v in th.get(k) or []) or bool(th.get("aspect"))


@operator("size", _size_needs)
def _op_size(rule: Rule, value: Any, th: Mapping[str, Any]) -> tuple[bool, Any]:
    """A [width, height] against an exact size per axis (``equals``, what a request's width_px and
    height_px set) or else a range per axis (``min_size``, ``max_size``), and, when no exact size
    is asked, a width:height ``aspect`` (within ``aspect_tolerance`` of the width, at least 1 px)."""
    w, h = (float(v) for v in value[:2])
    equals = list(th.get("equals") or [None, None]) + [None, None]
    lows = list(th.get("min_size") or [None, None])
    highs = list(th.get("max_size") or [None, None])
    ok = True
    for axis, v in enumerate((w, h)):
        if equals[axis] is not None:
            ok = ok and abs(v - float(equals[axis])) <= float(th.get("tolerance", 0))
            continue
        lo, hi = lows[axis], highs[axis]
        ok = ok and (lo is None or v >= lo) and (hi is None or v <= hi)
    aspect = th.get("aspect")
    if aspect and all(e is None for e in equals):
        want_w = h * float(aspect[0]) / float(aspect[1])
        ok = ok and abs(w - want_w) <= max(1.0, float(th.get("aspect_tolerance", 0)) * want_w)
    return ok, value


def compare(rule: Rule, value: Any, th: Mapping[str, Any]) -> tuple[bool, Any]:
    """(passed, the number the verdict was taken on) for one measure value."""
    return OPERATORS[rule.op].compare(rule, value, th)


def has_threshold(rule: Rule, th: Mapping[str, Any]) -> bool:
    return OPERATORS[rule.op].needs(th)


# --- messages ------------------------------------------------------------------------------------
def _fmt(x: Any) -> str:
    if isinstance(x, float):
        return str(int(round(x))) if abs(x) >= 10 or float(x).is_integer() else f"{x:.1f}"
    return str(x)


def describe(rule: Rule, th: Mapping[str, Any], lang: str) -> str:
    """Human wording of the expected value."""
    u = rule.unit if rule.unit not in ("", "score") else ""
    sp = " " if u and u not in ("%", "°") and lang == "en" else ""
    unit = f"{sp}{u}"
    lo, hi = th.get("min"), th.get("max")
    zh = lang == "zh"
    if rule.op == "one_of":
        return _describe_one_of(rule, th, zh)
    if rule.op == "equals" or (rule.op == "size" and any(v is not None for v in th.get("equals") or [])):
        vals = [str(v) for v in th.get("equals", []) if v is not None]
        return ("为 " if zh else "") + "x".join(vals) + unit
    if rule.op == "size":
        return _describe_size(th, unit, zh)
    if rule.abs and hi is not None and lo is None:
        return f"±{_fmt(hi)}{unit}以内" if zh else f"within ±{_fmt(hi)}{unit}"
    if lo is not None and hi is not None:
        return f"{_fmt(lo)}–{_fmt(hi)}{unit}之间" if zh else f"between {_fmt(lo)} and {_fmt(hi)}{unit}"
    if lo is not None:
        return f"不小于 {_fmt(lo)}{unit}" if zh else f"at least {_fmt(lo)}{unit}"
    return f"不大于 {_fmt(hi)}{unit}" if zh else f"at most {_fmt(hi)}{unit}"


def _describe_one_of(rule: Rule, th: Mapping[str, Any], zh: bool) -> str:
    items = list(th.get("one_of", []))
    general = th.get("tolerance") if rule.metric else None
    own = th.get("tolerances") or {}
    per_colour = rule.metric is not None and any(own.get(c, general) != general for c in items)
    names = []
    for item in items:
        name = str(item)
        if rule.normalize == "color":
            name = colors.color_name(item)
            name = colors.ZH_NAMES.get(name, name) if zh else name
        if per_colour and own.get(item, general) is not None:
            name += f"(ΔE ≤ {_fmt(own.get(item, general))})" if zh else f" (ΔE ≤ {_fmt(own.get(item, general))})"
        names.append(name)
    joined = ("、" if zh else ", ").join(names)
    tol = f" (ΔE ≤ {_fmt(general)})" if general is not None and not per_colour and items else ""
    ranges = [_describe_range(r, zh) for r in th.get("ranges") or []]
    if zh:
        text = f"为以下之一:{joined}{tol}" if items else "为"
        return text + ("或" if items and ranges else "") + "或".join(ranges)
    text = f"one of {joined}{tol}" if items else ""
    return text + (" or " if items and ranges else "") + " or ".join(ranges)


def _describe_range(rng: Mapping[str, Any], zh: bool) -> str:
    bounds = []
    if "min_lightness" in rng:
        bounds.append(f"L* ≥ {_fmt(rng['min_lightness'])}")
    if "max_lightness" in rng:
        bounds.append(f"L* ≤ {_fmt(rng['max_lightness'])}")
    if "min_chroma" in rng:
        bounds.append(f"C* ≥ {_fmt(rng['min_chroma'])}")
    if "max_chroma" in rng:
        bounds.append(f"C* ≤ {_fmt(rng['max_chroma'])}")
    if "hue" in rng:
        bounds.append(f"h {_fmt(rng['hue'][0])}–{_fmt(rng['hue'][1])}°")
    if zh:
        return f"{rng.get('name_zh') or rng['name']}({'、'.join(bounds)})"
    return f"{rng['name']} ({', '.join(bounds)})"


def _describe_size(th: Mapping[str, Any], unit: str, zh: bool) -> str:
    def size(pair: list[Any] | None) -> str | None:
        if not pair or all(v is None for v in pair):
            return None
        return "x".join("any" if v is None else str(v) for v in pair)

    lo, hi = size(th.get("min_size")), size(th.get("max_size"))
    if lo and hi:
        text = f"为 {lo} 至 {hi}{unit}" if zh else f"{lo} to {hi}{unit}"
    elif lo:
        text = f"不小于 {lo}{unit}" if zh else f"at least {lo}{unit}"
    elif hi:
        text = f"不大于 {hi}{unit}" if zh else f"at most {hi}{unit}"
    else:
        text = ""
    aspect = th.get("aspect")
    if aspect:
        ratio = ":".join(_fmt(float(v)) for v in aspect)
        text += (f",宽高比 {ratio}" if text else f"宽高比为 {ratio}") if zh else (
            f", width:height {ratio}" if text else f"width:height {ratio}")
    return text


def expected_json(rule: Rule, th: Mapping[str, Any]) -> dict[str, Any]:
    """Thresholds as reported: numbers rounded, |x| <= max shown as a min/max pair."""
    out = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in th.items()}
    if rule.abs and "max" in out and "min" not in out:
        out["min"] = -out["max"]
    return out


def _fmt_apart(value: Any, rule: Rule, th: Mapping[str, Any]) -> str:
    """The value as _fmt shows it, with more decimals where it would read as equal to a bound it
    failed ("scores 50; it should be at most 50" for 50.3)."""
    text = _fmt(value)
    bounds = [float(b) for b in (th.get("min"), th.get("max")) if isinstance(b, int | float)]
    if not isinstance(value, float) or not bounds:
        return text
    for places in (1, 2, 3):
        shown = abs(float(text)) if rule.abs else float(text)
        if all(shown != round(b, places - 1) for b in bounds):
            break
        text = f"{value:.{places}f}"
    return text


def _render(template: str, rule: Rule, value: Any, th: Mapping[str, Any], lang: str) -> str:
    shown = value
    if isinstance(value, list) and rule.check == "px_and_mm":
        shown = "x".join(str(v) for v in value)
    title = rule.title.get(lang) or rule.title.get("en") or rule.check
    unit = f" {rule.unit}" if rule.unit[:1].isalpha() else rule.unit  # "564 px" but "12°", "3%"
    return template.format(value=_fmt_apart(shown, rule, th) if not isinstance(shown, str) else shown,
                           expected=describe(rule, th, lang), title=title, unit=unit)


# --- the engine ------------------------------------------------------------------------------------
@dataclass
class Plan:
    """Which rules run for one request, with their concrete thresholds."""

    active: dict[str, tuple[Rule, dict[str, Any]]]

    @property
    def measures(self) -> list[str]:
        return sorted({rule.measure for rule, _ in self.active.values()})


def plan(spec_checks: Mapping[str, Mapping[str, Any]], overrides: Mapping[str, Any], frame: Frame,
         rules: Mapping[str, Rule] | None = None) -> Plan:
    """Decide which checks run and with which thresholds (request > spec > rule default)."""
    rules = rules if rules is not None else load_rules()
    index = _param_index(tuple(rules.values()))
    request: dict[str, dict[str, Any]] = {}
    for param, value in overrides.items():
        if param in index and not _is_blank(value):
            rule, key = index[param]
            request.setdefault(rule.check, {})[key] = value
    unknown = set(spec_checks) - set(rules)
    if unknown:
        raise ValueError(f"spec names unknown checks: {', '.join(sorted(unknown))}")
    active: dict[str, tuple[Rule, dict[str, Any]]] = {}
    for check, rule in rules.items():
        entry = spec_checks.get(check, {})
        on = rule.mandatory or check in request or entry.get("enabled", rule.enabled if not entry else True)
        if not on:
            continue
        th = _finish(resolve(rule, entry, request.get(check, {}), frame))
        if not has_threshold(rule, th) and not rule.planned:
            continue  # e.g. file_size with no window: nothing to check against
        active[check] = (rule, th)
    return Plan(active)


@dataclass
class Verdicts:
    result: dict[str, int]
    value_dict: dict[str, Any]
    failures: list[dict[str, Any]]
    not_checked: list[dict[str, Any]]
    not_applicable: list[dict[str, Any]] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)  # one per active check, see _row

    @property
    def passed(self) -> bool:
        return not self.not_checked and all(v == 1 for v in self.result.values())


def evaluate(the_plan: Plan, measures: Mapping[str, Measure]) -> Verdicts:
    """Compare each active rule's measure with its thresholds."""
    result: dict[str, int] = {}
    values: dict[str, Any] = {}
    failures: list[dict[str, Any]] = []
    not_checked: list[dict[str, Any]] = []
    not_applicable: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    for check in sorted(the_plan.active):
        rule, th = the_plan.active[check]
        m = measures.get(rule.measure) or Measure(error=f"{rule.measure} was not measured")
        if not m.applicable and not rule.planned:
            not_applicable.append({"check": check, "reason": m.error, "title": rule.title.get("en", check),
                                   "title_zh": rule.title.get("zh", check)})
            rows.append(_row(rule, th, "not_applicable", None, m.error or "", "不适用:" + (m.error or "")))
            continue
        raw = m.score if rule.use == "score" else m.value
        if not m.ok or raw is None or rule.planned:
            reason = m.error or f"{rule.measure} could not be measured"
            if rule.planned:
                reason = f"no detector for {check} in this version"
            result[check] = 0
            not_checked.append({
                "check_param": check,
                "check_value": None,
                "param_message": f"{rule.title.get('en', check)}: not assessed ({reason})",
                "param_message_zh": f"{rule.title.get('zh', check)}:无法检测",
            })
            rows.append(_row(rule, th, "not_assessed", None, f"not assessed: {reason}", "无法检测:" + reason))
            continue
        ok, shown = compare(rule, raw, th)
        result[check] = 1 if ok else 0
        values[check] = shown
        message, message_zh = "", ""
        if not ok:
            message = _render(rule.message["en"], rule, shown, th, "en")
            message_zh = _render(rule.message["zh"], rule, shown, th, "zh")
            failures.append({"check": check, "value": shown, "expected": expected_json(rule, th),
                             "message": message, "message_zh": message_zh})
        rows.append(_row(rule, th, "pass" if ok else "fail", shown, message, message_zh))
    return Verdicts(result, values, failures, not_checked, not_applicable, rows)


def _row(rule: Rule, th: Mapping[str, Any], status: str, value: Any, message: str, message_zh: str) -> dict[str, Any]:
    """One check as a person reads it: what, the verdict, the measured value, what was expected, why."""
    return {
        "check": rule.check, "status": status,
        "title": rule.title.get("en", rule.check), "title_zh": rule.title.get("zh", rule.check),
        "value": value, "unit": rule.unit,
        "expected": expected_json(rule, th),
        "expected_text": describe(rule, th, "en"), "expected_text_zh": describe(rule, th, "zh"),
        "message": message, "message_zh": message_zh,
    }
