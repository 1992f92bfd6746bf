"""Reading requests: parameters from the query, form or JSON body, and the image from an upload,
a base64 field or the raw body. Their meaning and types are declared in :mod:`checker.params`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import request

from ..errors import CheckerError
from ..imaging import decode_base64


def request_params() -> dict[str, Any]:
    """Query string, then form fields or a JSON object body (later wins)."""
    params: dict[str, Any] = dict(request.args.items())
    ctype = request.mimetype or ""
    if ctype == "application/json" or ctype.endswith("+json"):
        try:
            body = request.get_json(silent=True)
        except RecursionError:  # not a ValueError, so silent=True lets it through
            raise CheckerError("INVALID_ARGUMENT", "the JSON body is nested too deeply") from None
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
