"""GET /api/clothes (the built-in garments of the outfit change, seed 002's clothes_id) and
GET /api/clothes/<id>.png (a garment's thumbnail)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from ..errors import CheckerError
from ..generate import clothes, filesize
from .envelopes import check_api_error, use

bp = Blueprint("clothes", __name__, url_prefix="/api/clothes")
use(bp, check_api_error)


@bp.get("")
def index():
    return jsonify({"code": 200, "clothes": clothes.catalogue()})


@bp.get("/<gid>.png")
def thumbnail(gid: str):
    try:
        image = clothes.thumbnail(gid)
    except CheckerError as exc:
        raise CheckerError(exc.status, exc.message, http=404) from exc
    resp = Response(filesize.encode(image, fmt="PNG"), mimetype="image/png")
    resp.headers["Cache-Control"] = "public, max-age=86400"
    return resp
