"""Request parameters, declared once.

Each API family has a :class:`Table` of :class:`Param` declarations (name, type, range, default,
unit, meaning, credits). Parsing and validation, the OpenAPI schema, the command line's ``--param``
help and the price of a request are all read from it, so they cannot disagree. Nothing here imports
Flask: the library, the CLI and the web layer share it.

A bad value is ``INVALID_ARGUMENT`` naming the parameter: a number that is not finite or does not
fit, a boolean where a number belongs, a word outside the choices. Unknown names are refused with
their names (``strict``), or, for families whose clients are known to send extras, returned as
``ignored`` so that the response can list them.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from ..errors import CheckerError

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})
MAX_NUMBER_CHARS = 40  # longer numeric text is refused before float() turns it into infinity

# Parameter kinds and the JSON schema each one is documented with.
KINDS = ("int", "number", "flag", "string", "choice", "flag_or_choice", "image", "id")


@dataclass(frozen=True)
class Cost:
    """What a parameter does to the price of a request when it is in effect.

    ``base``: the request costs this instead of the table's base price (the highest base wins);
    ``extra``: added once per ``group`` however many of the group's parameters are on;
    ``free``: the request costs nothing."""

    credits: int
    kind: str = "extra"
    group: str = ""


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    doc: str
    default: Any = None
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    unit: str = ""
    cost: Cost | None = None
    aliases: tuple[str, ...] = ()
    max_len: int = 1000
    required: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: unknown parameter kind {self.kind!r}")
        if self.kind in ("choice", "flag_or_choice") and not self.choices:
            raise ValueError(f"{self.name}: a {self.kind} needs choices")

    def required_copy(self) -> Param:
        """The same parameter where an endpoint needs it given (no default)."""
        return replace(self, required=True, default=None)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    # --- parsing --------------------------------------------------------------------------------
    def parse(self, value: Any, given_as: str | None = None) -> Any:
        """The typed value of one raw value (already known not to be blank)."""
        label = given_as or self.name
        return _READERS[self.kind](self, value, label)

    def in_effect(self, value: Any) -> bool:
        """Whether a parsed value turns the parameter's effect on (for the price)."""
        if self.kind == "flag":
            return bool(value)
        return value not in (None, "", False)

    # --- documentation ----------------------------------------------------------------------------
    def schema(self) -> dict[str, Any]:
        """The JSON schema of the parameter, as the OpenAPI document shows it."""
        out: dict[str, Any]
        if self.kind == "int":
            out = {"type": "integer"}
        elif self.kind == "number":
            out = {"type": "number"}
        elif self.kind == "flag":
            out = {"oneOf": [{"type": "integer", "enum": [0, 1]}, {"type": "boolean"},
                             {"type": "string", "enum": sorted(TRUE_WORDS | FALSE_WORDS)}]}
        elif self.kind == "choice":
            out = {"type": "string", "enum": list(self.choices)}
        elif self.kind == "flag_or_choice":
            out = {"oneOf": [{"type": "integer", "enum": [0, 1]}, {"type": "boolean"},
                             {"type": "string", "enum": [*sorted(TRUE_WORDS | FALSE_WORDS), *self.choices]}]}
        elif self.kind == "image":
            out = {"type": "string", "format": "binary"}
        elif self.kind == "id":
            out = {"oneOf": [{"type": "integer"}, {"type": "string", "maxLength": self.max_len}]}
        else:
            out = {"type": "string", "maxLength": self.max_len}
        if self.lo is not None:
            out["minimum"] = self.lo
        if self.hi is not None:
            out["maximum"] = self.hi
        if self.default is not None:
            out["default"] = self.default
        out["description"] = self.describe()
        return out

    def describe(self) -> str:
        """One line for people: meaning, unit, range, default, credits."""
        parts = [self.doc]
        if self.unit:
            parts.append(f"unit: {self.unit}")
        if self.lo is not None or self.hi is not None:
            parts.append(f"range: {_num(self.lo)} to {_num(self.hi)}")
        if self.choices:
            parts.append("one of " + ", ".join(self.choices))
        if self.default is not None:
            parts.append(f"default: {self.default}")
        if self.cost is not None:
            parts.append(_cost_text(self.cost))
        if self.aliases:
            parts.append("also accepted as " + ", ".join(self.aliases))
        return "; ".join(parts)


def _num(x: float | None) -> str:
    if x is None:
        return "any"
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _cost_text(cost: Cost) -> str:
    if cost.kind == "free":
        return "when on, the request costs no credits"
    if cost.kind == "base":
        return f"when set, the request costs {cost.credits} credits"
    return f"when on, +{cost.credits} credits" + (f" (once for all {cost.group} options)" if cost.group else "")


# --- readers: raw value -> typed value, or INVALID_ARGUMENT naming the parameter -------------------
def _bad(label: str, what: str, value: Any) -> CheckerError:
    return CheckerError("INVALID_ARGUMENT", f"{label} must be {what}, got {_shown(value)}")


def _shown(value: Any) -> str:
    """The value as a message quotes it: at most about 60 characters of its repr."""
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    try:
        text = repr(value)
    except ValueError:  # an int beyond sys.get_int_max_str_digits() (4300 digits) has no repr
        return "a number too long to show"
    return text if len(text) <= 60 else text[:57] + "..."


def finite(x: Any) -> float:
    """float(x), refusing infinities, NaN and numbers too large for a float (ValueError)."""
    try:
        number = float(x)
    except OverflowError:
        raise ValueError("the number is too large") from None
    if not math.isfinite(number):
        raise ValueError(f"{x!r} is not a finite number")
    return number


def _finite(p: Param, value: Any, label: str, what: str) -> float:
    """A finite float from a JSON number or numeric text; never a boolean."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _bad(label, what, value)
    if isinstance(value, str) and len(value.strip()) > MAX_NUMBER_CHARS:
        raise CheckerError("INVALID_ARGUMENT", f"{label} must be {what}; {len(value.strip())} characters is too long")
    try:
        return finite(value)
    except ValueError:
        raise _bad(label, what, value) from None


def _in_range(p: Param, number: float, label: str, shown: Any) -> None:
    if (p.lo is not None and number < p.lo) or (p.hi is not None and number > p.hi):
        raise CheckerError("INVALID_ARGUMENT", f"{label} must be between {_num(p.lo)} and {_num(p.hi)}, got {shown}")


def _read_int(p: Param, value: Any, label: str) -> int:
    number = _finite(p, value, label, "a whole number")
    if not number.is_integer():
        raise _bad(label, "a whole number", value)
    _in_range(p, number, label, int(number) if abs(number) < 1e15 else f"{number:g}")  # 1e308: not 309 digits
    return int(number)


def _read_number(p: Param, value: Any, label: str) -> float:
    number = _finite(p, value, label, "a number")
    _in_range(p, number, label, f"{number:g}")
    return number


def _read_flag(p: Param, value: Any, label: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = value.strip().lower() if isinstance(value, str) else ""
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise _bad(label, "1 or 0 (true or false)", value)


def _read_string(p: Param, value: Any, label: str) -> str:
    if isinstance(value, dict | list):
        raise _bad(label, "text", value)
    try:
        text = value if isinstance(value, str) else str(value)
    except ValueError:  # an int of more than 4300 digits
        text = "9" * (p.max_len + 1)
    if len(text) > p.max_len:
        raise CheckerError("INVALID_ARGUMENT", f"{label} is longer than {p.max_len} characters")
    return text


def _read_choice(p: Param, value: Any, label: str) -> str:
    text = _read_string(p, value, label).strip().lower()
    if text not in p.choices:
        raise _bad(label, "one of " + ", ".join(p.choices), value)
    return text


def _read_flag_or_choice(p: Param, value: Any, label: str) -> str | None:
    """A switch that may also name its variant: 1/true -> the default choice, 0/false -> off."""
    if isinstance(value, str) and value.strip().lower() in p.choices:
        return value.strip().lower()
    try:
        on = _read_flag(p, value, label)
    except CheckerError:
        raise _bad(label, "1, 0 or one of " + ", ".join(p.choices), value) from None
    return str(p.default or p.choices[0]) if on else None


def _read_id(p: Param, value: Any, label: str) -> str:
    """A numeric id or a slug, as text."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _bad(label, "a number or a slug", value)
    return _read_string(p, value, label).strip()


def _read_image(p: Param, value: Any, label: str) -> Any:
    return value  # images are read by the web layer or the CLI, not here


_READERS = {"int": _read_int, "number": _read_number, "flag": _read_flag, "string": _read_string,
            "choice": _read_choice, "flag_or_choice": _read_flag_or_choice, "image": _read_image,
            "id": _read_id}


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


# --- tables ------------------------------------------------------------------------------------------
@dataclass
class Values:
    """Parsed parameters: ``values[name]`` is the typed value or the declared default."""

    table: Table
    parsed: dict[str, Any]
    given: frozenset[str]
    ignored: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # names another layer validates (thresholds)

    def __getitem__(self, name: str) -> Any:
        if name not in self.table.params:
            raise KeyError(f"{name!r} is not a parameter of {self.table.name}")
        return self.parsed.get(name, self.table.params[name].default)

    def get(self, name: str, default: Any = None) -> Any:
        """The value when it was given, else ``default`` (not the declared one)."""
        return self.parsed.get(name, default) if name in self.given else default

    def __contains__(self, name: str) -> bool:
        return name in self.given


@dataclass(frozen=True)
class Table:
    """The parameters of one API family (or one endpoint of it).

    ``strict``: an unknown name is refused; otherwise it is listed in ``Values.ignored``.
    ``passthrough``: names accepted but validated elsewhere (the rule engine's thresholds), or a
    callable giving them. ``envelope``: names the transport uses (keys, image fields) that are
    neither parameters nor unknown. ``base_price``: credits before any parameter's cost."""

    name: str
    params_list: tuple[Param, ...]
    strict: bool = True
    base_price: int = 0
    envelope: frozenset[str] = frozenset()
    passthrough: Any = None  # Callable[[], Iterable[str]] | Iterable[str] | None

    @cached_property
    def params(self) -> dict[str, Param]:
        return {p.name: p for p in self.params_list}

    @cached_property
    def _index(self) -> dict[str, Param]:
        index: dict[str, Param] = {}
        for p in self.params_list:
            for n in p.names:
                if n in index:
                    raise ValueError(f"{self.name}: parameter name {n!r} declared twice")
                index[n] = p
        return index

    def passthrough_names(self) -> frozenset[str]:
        pt = self.passthrough() if callable(self.passthrough) else self.passthrough
        return frozenset(pt or ())

    def known_names(self) -> frozenset[str]:
        return frozenset(self._index) | self.passthrough_names() | self.envelope

    def parse(self, raw: Mapping[str, Any]) -> Values:
        """Typed values of ``raw`` (a request's fields); INVALID_ARGUMENT naming the first bad one."""
        index = self._index
        passthrough = self.passthrough_names()
        parsed: dict[str, Any] = {}
        given: set[str] = set()
        unknown: list[str] = []
        extra: dict[str, Any] = {}
        for key, value in raw.items():
            if not isinstance(key, str):
                raise CheckerError("INVALID_ARGUMENT", "a parameter name is not text")
            p = index.get(key)
            if p is None:
                if key in passthrough:
                    extra[key] = value
                elif key not in self.envelope:
                    unknown.append(key)
                continue
            if blank(value) or p.kind == "image":
                continue
            if p.name in given and key != p.name:
                continue  # the canonical name wins over an alias
            parsed[p.name] = p.parse(value, given_as=key)
            given.add(p.name)
            if p.name in passthrough:  # also a threshold (width_px: the frame and the size check)
                extra[p.name] = parsed[p.name]
        for p in self.params_list:
            if p.required and p.name not in given:
                raise CheckerError("INVALID_ARGUMENT", f"{p.name} is required")
        if unknown and self.strict:
            raise CheckerError("INVALID_ARGUMENT", unknown_message(sorted(unknown), self.known_names()))
        return Values(self, parsed, frozenset(given), sorted(unknown), extra)

    def price(self, values: Values) -> int:
        """Credits a request with these values costs."""
        base, extras = self.base_price, {}
        bases = []
        for p in self.params_list:
            if p.cost is None or p.name not in values.given or not p.in_effect(values[p.name]):
                continue
            if p.cost.kind == "free":
                return 0
            if p.cost.kind == "base":
                bases.append(p.cost.credits)
            else:
                extras[p.cost.group or p.name] = p.cost.credits
        return (max(bases) if bases else base) + sum(extras.values())

    def properties(self, *, include_images: bool = True) -> dict[str, dict[str, Any]]:
        """name -> JSON schema, aliases included, for the OpenAPI document."""
        out: dict[str, dict[str, Any]] = {}
        for p in self.params_list:
            if p.kind == "image" and not include_images:
                continue
            out[p.name] = p.schema()
            for alias in p.aliases:
                out[alias] = {**p.schema(), "description": f"the same as {p.name}"}
        for name in sorted(self.envelope):
            out[name] = {"type": "string", "description": "accepted for compatibility with this API's clients; "
                                                          "an API key is read by the authentication, anything "
                                                          "else has no effect"}
        return out


def unknown_message(unknown: Iterable[str], known: Iterable[str]) -> str:
    """``unsupported parameter(s): a, b`` with the closest known names as suggestions."""
    unknown = list(unknown)
    known = sorted(known)
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=2, cutoff=0.75)
        if close:
            hints.append(f"{name} (did you mean {' or '.join(close)}?)")
        else:
            hints.append(name)
    return "unsupported parameter(s): " + ", ".join(hints)
