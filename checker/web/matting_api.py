"""Person matting, picup-compatible (parameters: :mod:`checker.params.services`).

POST /api/v1/matting             the cut-out as PNG bytes
POST /api/v1/matting2            ``{code: 0, data: {imageBase64}, msg: null, time}``
POST /api/v1/mattingAndAnalysis  the same plus ``data.bodyAnalysis`` (see :mod:`checker.bodyparts`)

The image is the multipart field ``file`` (or a raw image body); the key is the ``APIKEY`` header.
Failures are ``{code: <non-zero>, data: null, msg, time}`` with a 4xx/5xx HTTP code, so ``curl -f``
in the seed's examples stops instead of saving an error as out.png.
"""

from __future__ import annotations

import base64
import time

import numpy as np
from flask import Blueprint, Response, jsonify

from ..errors import CheckerError
from ..generate import filesize
from ..imaging import Limits, Photo, load_photo
from ..params import Values
from ..params.services import MATTING
from .auth import billed, require_key
from .envelopes import picup_error, use
from .inputs import request_image, request_params

bp = Blueprint("matting_api", __name__, url_prefix="/api/v1")
use(bp, picup_error)
bp.before_request(require_key("matting"))

# Seed 003's FAQ: PNG, JPG, JPEG, BMP, GIF, files under 15 MB.
LIMITS = Limits(formats=("JPEG", "PNG", "BMP", "GIF"))
NO_PERSON_ALPHA = 0.5  # a matte whose strongest pixel is below this found nobody


def _photo() -> tuple[Photo, Values]:
    params = request_params()
    data = request_image(params, ("file",), (), raw_body=True)
    v = MATTING.parse(params)
    return load_photo(data, limits=LIMITS), v


def _cutout(photo: Photo, v: Values):
    from ..context import Analysis
    from ..generate import matting

    a = Analysis(photo)
    with billed(MATTING.price(v)):
        rgba = matting.cutout(a, v.get("human_matting_model"))
        if rgba[..., 3].max() < NO_PERSON_ALPHA * 255:
            raise CheckerError("NO_PERSON_DETECTED", "no person was found in the image")
    return a, rgba


def _png(rgba: np.ndarray) -> bytes:
    return filesize.encode(rgba)  # RGBA -> PNG


def _ok(data: dict):
    return jsonify({"code": 0, "data": data, "msg": None, "time": int(time.time() * 1000)})


@bp.post("/matting")
def matting_png():
    """The person cut out, as a transparent PNG at the photo's size."""
    photo, params = _photo()
    _, rgba = _cutout(photo, params)
    return Response(_png(rgba), mimetype="image/png")


@bp.post("/matting2")
def matting_base64():
    """The same cut-out, base64 in JSON."""
    photo, params = _photo()
    _, rgba = _cutout(photo, params)
    return _ok({"imageBase64": base64.b64encode(_png(rgba)).decode("ascii")})


@bp.post("/mattingAndAnalysis")
def matting_and_analysis():
    """The cut-out and, for each person, 21 body parts and a bounding box."""
    from ..bodyparts import analyse

    photo, params = _photo()
    a, rgba = _cutout(photo, params)
    return _ok({"bodyAnalysis": analyse(a), "imageBase64": base64.b64encode(_png(rgba)).decode("ascii")})
