"""Detectors turn an Analysis into named raw measurements.

Each detector module registers functions with :func:`detector`, naming the measures it produces.
The rule engine asks for measures by name; :func:`measure` runs each producing detector at most
once per Analysis, and a detector that fails yields error measures (the checks reading them go
to not_check_result) instead of crashing the run.
"""

from __future__ import annotations

import importlib
import logging
import math
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..context import Analysis, MeasureError, NotApplicable
from ..errors import CheckerError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Measure:
    """One measurement: a raw value in natural units, an optional 0-100 score that grows with
    the defect (the seed's scale), and an error when it could not be made."""

    value: Any = None
    score: float | None = None
    error: str | None = None
    applicable: bool = True  # False: the photo shows nothing for this measure to judge

    @property
    def ok(self) -> bool:
        return self.error is None


DetectorFn = Callable[[Analysis], dict[str, Any]]


@dataclass(frozen=True)
class Detector:
    name: str
    produces: tuple[str, ...]
    fn: DetectorFn


_BY_MEASURE: dict[str, Detector] = {}


def detector(*produces: str) -> Callable[[DetectorFn], DetectorFn]:
    """Register a function as the producer of the named measures.

    The function returns ``{name: Measure | value}``; a bare value becomes ``Measure(value)``.
    It may omit a name it could not measure (that name becomes an error measure).
    """

    def wrap(fn: DetectorFn) -> DetectorFn:
        det = Detector(f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}", tuple(produces), fn)
        for name in produces:
            if name in _BY_MEASURE:
                raise ValueError(f"measure {name!r} is produced by both {_BY_MEASURE[name].name} and {det.name}")
            _BY_MEASURE[name] = det
        return fn

    return wrap


_loaded = False


def _load_all() -> None:
    # A flag, not "any detector registered": importing one module directly must not hide the rest.
    global _loaded
    if _loaded:
        return
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")
    _loaded = True


def known_measures() -> list[str]:
    _load_all()
    return sorted(_BY_MEASURE)


def measure(analysis: Analysis, names: Iterable[str]) -> dict[str, Measure]:
    """Measures ``names`` (and whatever else their detectors produce), cached on the Analysis."""
    _load_all()
    cache: dict[str, Measure] = analysis.__dict__.setdefault("_measures", {})
    for name in names:
        if name in cache:
            continue
        det = _BY_MEASURE.get(name)
        if det is None:
            cache[name] = Measure(error=f"no detector measures {name!r} in this version")
            continue
        cache.update(_run(det, analysis))
    return cache


def _run(det: Detector, analysis: Analysis) -> dict[str, Measure]:
    try:
        out = det.fn(analysis)
    except CheckerError:
        raise  # NO_FACE_DETECTED and friends end the request; they are not measurement failures
    except NotApplicable as exc:
        return {n: Measure(error=str(exc), applicable=False) for n in det.produces}
    except MeasureError as exc:
        return {n: Measure(error=str(exc)) for n in det.produces}
    except Exception as exc:  # one failing measure never crashes the run
        log.exception("detector %s failed", det.name)
        return {n: Measure(error=f"{det.name} failed: {exc}") for n in det.produces}
    result: dict[str, Measure] = {}
    for name, value in out.items():
        m = value if isinstance(value, Measure) else Measure(value=value)
        score = plain(None if m.score is None else float(m.score))
        result[name] = Measure(value=plain(m.value), score=score, error=m.error, applicable=m.applicable)
    for name in det.produces:
        result.setdefault(name, Measure(error=f"{det.name} could not measure {name}"))
    return result


def plain(value: Any) -> Any:
    """numpy scalars and arrays -> JSON-ready Python values."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None  # NaN is not JSON; a missing number reads as "not measured"
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def clamp_score(x: float) -> float:
    """A 0-100 score, rounded to one decimal."""
    return round(float(min(100.0, max(0.0, x))), 1)
