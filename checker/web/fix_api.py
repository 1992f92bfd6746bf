"""POST /api/fix: check a photo, generate the spec's photo from it, check the result again."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, g, jsonify, request

from ..autofix import fix, options_from_values
from ..errors import CheckerError
from ..generate import filesize
from ..generate.clothes import Garment
from ..imaging import load_photo
from ..params.generation import FIX
from ..specs import load_spec
from .auth import billed, require_key
from .envelopes import check_api_error, use
from .hivision_api import data_url
from .inputs import decode_base64, request_image, request_params

bp = Blueprint("fix_api", __name__, url_prefix="/api")
use(bp, check_api_error)
bp.before_request(require_key("generate"))


@bp.post("/fix")
def fix_photo():
    """Multipart (file / input_image / image_file) or JSON (file / input_image_base64) with spec_id
    and the generation options of :mod:`checker.params.generation`; answers the photo, the
    optional print sheet and both reports."""
    params = request_params()
    data = request_image(params, ("file", "input_image", "image_file"), ("file", "input_image_base64"))
    v = FIX.parse(params)
    if v.get("spec_id") is None:
        raise CheckerError("INVALID_ARGUMENT", "spec_id is required (GET /api/specs lists them)")
    spec = load_spec(v["spec_id"])
    transparent, hd = v["transparent"], v["hd"]
    if v["preview"] and (transparent or hd):  # the cut-outs carry no PREVIEW mark: not for free
        raise CheckerError("INVALID_ARGUMENT", "transparent and hd are not offered with preview (a preview is "
                                               "watermarked and free)")
    opts = options_from_values(v)
    garment = _own_garment(params, v.get("clothes_anchors"))
    if garment is not None:
        if opts.clothes is not None:
            raise CheckerError("INVALID_ARGUMENT", "give clothes_id or clothes_file, not both")
        opts = replace(opts, clothes=garment)
    photo = load_photo(data)
    with billed(FIX.price(v)):  # nothing made (no face, a model missing, ...): nothing charged
        result = fix(photo, spec, opts)
    body = {
        "code": 200,
        "spec_id": spec.id,
        "name": spec.name,
        "passed": result.passed,
        "photo": data_url(result.photo, result.format),
        "format": result.format,
        "size_px": list(result.size_px),
        "dpi": result.dpi,
        "bytes": len(result.photo),
        "background": result.background,
        "fixed": result.fixed,
        "unfixable": result.unfixable,
        "before": result.before,
        "after": result.after,
        "timings_ms": result.timings_ms,
        "request_id": g.request_id,
    }
    if transparent:  # the cut-out at the output size, for a client to try other backgrounds
        body["transparent"] = data_url(filesize.encode(result.standard, dpi=result.dpi), "PNG")
    if hd:  # the same framing at the source's resolution, as the HivisionIDPhotos endpoints answer it
        body["hd"] = data_url(filesize.encode(result.hd, dpi=result.dpi), "PNG")
    if result.sheet is not None:
        body["sheet"] = data_url(result.sheet, "JPEG")
        body["sheet_info"] = result.sheet_info
    return jsonify(body)


def _own_garment(params: dict, anchors: str | None) -> Garment | None:
    """A user's garment (clothes_file: an upload, or base64 in JSON) with its clothes_anchors, or None."""
    upload = request.files.get("clothes_file")
    data: bytes | None = upload.read() if upload is not None else None
    if data is None and params.get("clothes_file") not in (None, ""):
        value = params["clothes_file"]
        if not isinstance(value, str):
            raise CheckerError("INVALID_ARGUMENT", "clothes_file must be a PNG upload or a base64 string")
        data = decode_base64(value)
    if data is None:
        if anchors:
            raise CheckerError("INVALID_ARGUMENT", "clothes_anchors needs clothes_file (the garment's PNG)")
        return None
    if not anchors:
        raise CheckerError("INVALID_ARGUMENT", "clothes_file needs clothes_anchors (where its collar and shoulders "
                                               "are)")
    return Garment.from_png(data, anchors)
