"""GET /openapi.json (the OpenAPI document) and GET /docs (a page that renders it; no CDN, no network)."""

from __future__ import annotations

from functools import cache
from importlib import resources

from flask import Blueprint, Response, jsonify

from .envelopes import check_api_error, use
from .openapi import document

bp = Blueprint("docs", __name__)
use(bp, check_api_error)


@cache
def _page() -> str:
    return resources.files(__package__).joinpath("docs_page.html").read_text(encoding="utf-8")


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(document())


@bp.get("/docs")
def docs_page():
    resp = Response(_page(), mimetype="text/html")
    # The page runs only its own inline script and talks only to this server.
    resp.headers["Content-Security-Policy"] = ("default-src 'self'; script-src 'unsafe-inline'; "
                                               "style-src 'unsafe-inline'; img-src 'self' blob: data:")
    return resp
