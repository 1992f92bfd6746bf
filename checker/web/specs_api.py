"""GET /api/specs (search, category, country: an ISO code such as DE, or a country's name in English
or Chinese) and GET /api/specs/<id or slug>."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from ..errors import CheckerError
from ..specs import list_specs, load_spec
from .envelopes import check_api_error, use

bp = Blueprint("specs", __name__, url_prefix="/api/specs")
use(bp, check_api_error)


@bp.get("")
def index():
    specs = list_specs(search=request.args.get("search") or request.args.get("q"),
                       category=request.args.get("category"), country=request.args.get("country"))
    return jsonify({"code": 200, "count": len(specs), "specs": [s.summary() for s in specs]})


@bp.get("/<ref>")
def show(ref: str):
    try:
        spec = load_spec(ref)
    except CheckerError as exc:
        raise CheckerError(exc.status, exc.message, http=404) from exc
    return jsonify({"code": 200, "spec": spec.to_json()})
