"""POST /api/check_pic: seed 004's check API (JSON base64, multipart upload or raw body)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request

from ..errors import CheckerError
from ..imaging import decode_base64, load_photo
from ..pipeline import run_check
from ..specs import load_spec
from .envelopes import check_api_error

bp = Blueprint("check_api", __name__, url_prefix="/api")
bp.register_error_handler(CheckerError, check_api_error)

_FILE_FIELDS = ("file", "image", "input_image")


@bp.post("/check_pic")
def check_pic():
    """Check one photo against a spec; 200 with the report whether it passes or fails."""
    params, data = read_check_request()
    spec_ref = params.pop("spec_id", None)
    if spec_ref in (None, ""):
        raise CheckerError("INVALID_ARGUMENT", "spec_id is required (GET /api/specs lists them)")
    if not isinstance(spec_ref, int | str) or isinstance(spec_ref, bool):
        raise CheckerError("INVALID_ARGUMENT", "spec_id must be a number or a slug")
    spec = load_spec(spec_ref)
    photo = load_photo(data)
    return jsonify(run_check(photo, spec, params, request_id=g.request_id))


def read_check_request() -> tuple[dict[str, Any], bytes]:
    """(parameters, image bytes) from JSON, multipart/form or a raw image body."""
    params: dict[str, Any] = dict(request.args.items())
    ctype = request.mimetype or ""
    if ctype == "application/json" or (ctype.endswith("+json")):
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise CheckerError("INVALID_ARGUMENT", "the body must be a JSON object")
        params.update(body)
        return params, _image_from_text(params.pop("file", None))
    if ctype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        params.update(request.form.items())
        for name in _FILE_FIELDS:
            upload = request.files.get(name)
            if upload is not None:
                params.pop(name, None)
                return params, upload.read()
        return params, _image_from_text(params.pop("file", None))
    if ctype.startswith("image/") or ctype == "application/octet-stream":
        return params, request.get_data(cache=False)
    if not request.content_length:
        raise CheckerError("EMPTY_IMAGE", "no image was sent: post JSON {file, spec_id}, multipart 'file' or raw bytes")
    raise CheckerError("INVALID_ARGUMENT", f"unsupported content type {ctype!r}; use JSON, multipart or an image body")


def _image_from_text(value: Any) -> bytes:
    if value is None or value == "":
        raise CheckerError("EMPTY_IMAGE", "file is empty: send the image as base64")
    if not isinstance(value, str):
        raise CheckerError("INVALID_ARGUMENT", "file must be a base64 string")
    return decode_base64(value)
