"""Reading requests: parameters from the query, form or JSON body, and the image from an upload,
a base64 field or the raw body. Typed parameter readers raise INVALID_ARGUMENT naming the field."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import request

from ..errors import CheckerError
from ..imaging import decode_base64

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def request_params() -> dict[str, Any]:
    """Query string, then form fields or a JSON object body (later wins)."""
    params: dict[str, Any] = dict(request.args.items())
    ctype = request.mimetype or ""
    if ctype == "application/json" or ctype.endswith("+json"):
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise CheckerError("INVALID_ARGUMENT", "the body must be a JSON object")
        params.update(body)
    elif ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        params.update(request.form.items())
    if None in params:  # werkzeug names a field None when its name is not valid UTF-8
        raise CheckerError("INVALID_ARGUMENT", "a form field's name is not valid UTF-8")
    return params


def request_image(params: dict[str, Any], file_fields: Iterable[str], base64_fields: Iterable[str],
                  *, raw_body: bool = False) -> bytes:
    """The image bytes from the first upload field present, else the first base64 field, else (when
    allowed) an image/* body. EMPTY_IMAGE when there is none."""
    for name in file_fields:
        upload = request.files.get(name)
        if upload is not None:
            params.pop(name, None)
            return upload.read()
    for name in base64_fields:
        value = params.pop(name, None)
        if value not in (None, ""):
            if not isinstance(value, str):
                raise CheckerError("INVALID_ARGUMENT", f"{name} must be a base64 string")
            return decode_base64(value)
    ctype = request.mimetype or ""
    if raw_body and (ctype.startswith("image/") or ctype == "application/octet-stream"):
        return request.get_data(cache=False)
    fields = " or ".join([*file_fields, *base64_fields])
    raise CheckerError("EMPTY_IMAGE", f"no image was sent: use {fields}")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def get_int(params: dict[str, Any], name: str, default: int | None = None, *, lo: int | None = None,
            hi: int | None = None, required: bool = False) -> int | None:
    value = params.get(name)
    if _blank(value):
        if required:
            raise CheckerError("INVALID_ARGUMENT", f"{name} is required")
        return default
    try:
        number = float(value)
        if not number.is_integer() or isinstance(value, bool):
            raise ValueError
        out = int(number)
    except (TypeError, ValueError):
        raise CheckerError("INVALID_ARGUMENT", f"{name} must be a whole number, got {value!r}") from None
    if (lo is not None and out < lo) or (hi is not None and out > hi):
        raise CheckerError("INVALID_ARGUMENT", f"{name} must be between {lo} and {hi}, got {out}")
    return out


def get_float(params: dict[str, Any], name: str, default: float | None = None, *, lo: float | None = None,
              hi: float | None = None) -> float | None:
    value = params.get(name)
    if _blank(value):
        return default
    try:
        if isinstance(value, bool):
            raise ValueError
        out = float(value)
    except (TypeError, ValueError):
        raise CheckerError("INVALID_ARGUMENT", f"{name} must be a number, got {value!r}") from None
    if out != out or (lo is not None and out < lo) or (hi is not None and out > hi):
        raise CheckerError("INVALID_ARGUMENT", f"{name} must be between {lo} and {hi}, got {value!r}")
    return out


def get_bool(params: dict[str, Any], name: str, default: bool) -> bool:
    value = params.get(name)
    if _blank(value):
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CheckerError("INVALID_ARGUMENT", f"{name} must be true or false, got {value!r}")


def get_str(params: dict[str, Any], name: str, default: str | None = None, *, required: bool = False,
            max_len: int = 1000) -> str | None:
    value = params.get(name)
    if _blank(value):
        if required:
            raise CheckerError("INVALID_ARGUMENT", f"{name} is required")
        return default
    if not isinstance(value, str):
        value = str(value)
    if len(value) > max_len:
        raise CheckerError("INVALID_ARGUMENT", f"{name} is longer than {max_len} characters")
    return value
