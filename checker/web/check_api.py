"""POST /api/check_pic: seed 004's check API (JSON base64, multipart upload or raw body)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request

from ..errors import CheckerError
from ..imaging import load_photo
from ..pipeline import run_check
from ..specs import load_spec
from .auth import require_key
from .envelopes import check_api_error, use
from .inputs import request_image, request_params

bp = Blueprint("check_api", __name__, url_prefix="/api")
use(bp, check_api_error)
bp.before_request(require_key("check"))

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


_BODY_TYPES = ("application/json", "multipart/form-data", "application/x-www-form-urlencoded",
               "application/octet-stream")


def read_check_request() -> tuple[dict[str, Any], bytes]:
    """(parameters, image bytes) from JSON, multipart/form or a raw image body."""
    params = request_params()
    ctype = request.mimetype or ""
    if request.content_length and not (ctype in _BODY_TYPES or ctype.startswith("image/") or ctype.endswith("+json")):
        raise CheckerError("INVALID_ARGUMENT", f"unsupported content type {ctype!r}; send JSON, multipart or an image")
    return params, request_image(params, _FILE_FIELDS, ("file",), raw_body=True)
