"""One check, end to end: photo -> Analysis -> detectors -> rules -> the seed 004 response."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from . import detectors, overlay, rules
from .context import Analysis
from .imaging import Photo
from .params.check import CHECK
from .specs import Spec

OVERLAY_MEASURES = ("face_box", "eyes_coordinates", "chin_y", "head_top")


def frame_for(spec: Spec, photo: Photo, overrides: Mapping[str, Any]) -> rules.Frame:
    """The pixel frame thresholds are written in: the spec's size unless the request names one
    (``width_px``/``height_px``, see :mod:`checker.params.check`)."""
    v = CHECK.parse({k: overrides[k] for k in ("width_px", "height_px") if k in overrides})
    fw, fh = v.get("width_px", spec.size_px[0]), v.get("height_px", spec.size_px[1])
    # Where the source's millimetres contradict its pixels, millimetres go through the dpi instead.
    mm = spec.size_mm if spec.size_mm and "discrepancy" not in spec.raw else (None, None)
    return rules.Frame(photo.width, photo.height, float(fw), float(fh), dpi=float(spec.dpi), mm_w=mm[0], mm_h=mm[1])


def run_check(
    photo: Photo, spec: Spec, overrides: Mapping[str, Any] | None = None, *, analysis: Analysis | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """Check ``photo`` against ``spec``; returns the seed 004 response body (pass or fail).

    Raises CheckerError for NO_FACE_DETECTED, TOO_MANY_FACES and invalid overrides.
    """
    v = CHECK.parse(dict(overrides or {}))
    analysis = analysis or Analysis(photo)
    frame = frame_for(spec, photo, v.parsed)
    plan = rules.plan(spec.checks, v.extra, frame)
    analysis.face  # noqa: B018 - raises NO_FACE_DETECTED / TOO_MANY_FACES before any measuring
    # The overlay's geometry is measured even where no rule reads it (framing is always computed).
    measures = detectors.measure(analysis, [*plan.measures, *OVERLAY_MEASURES])
    verdicts = rules.evaluate(plan, measures)
    expected = {check: rules.expected_json(rule, th) for check, (rule, th) in sorted(plan.active.items())}
    body: dict[str, Any] = {
        "code": 200,
        "check_result": 1 if verdicts.passed else 0,
        "spec_id": spec.id,
        "name": spec.name,
        "name_zh": spec.name_zh,
        "result": {**verdicts.result, "name": spec.name, "spec_id": str(spec.id)},
        "value_dict": verdicts.value_dict,
        "all_check_result": raw_measurements(measures),
        "not_check_result": verdicts.not_checked,
        "not_applicable": verdicts.not_applicable,
        "failures": verdicts.failures,
        "expected": expected,
        "checks": verdicts.rows,
        "overlay": overlay.geometry(measures, expected, (photo.width, photo.height)),
        "request_id": request_id or new_request_id(),
    }
    if v.ignored:
        body["ignored_params"] = v.ignored
    return body


def raw_measurements(measures: Mapping[str, detectors.Measure]) -> dict[str, Any]:
    """Every measurement made, raw value plus ``<name>_score`` where it has a score."""
    out: dict[str, Any] = {}
    for name in sorted(measures):
        m = measures[name]
        if not m.ok:
            continue
        out[name] = m.value
        if m.score is not None:
            out[f"{name}_score"] = m.score
    return out


def new_request_id() -> str:
    return uuid.uuid4().hex
