"""GET /: the check-and-fix page (plain HTML, CSS and JS in ``static/``; no CDN, no build step)."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, request, send_from_directory

from .envelopes import check_api_error, use

STATIC = Path(__file__).resolve().parent / "static"

bp = Blueprint("page", __name__, static_folder=str(STATIC), static_url_path="/static")
use(bp, check_api_error)

# Own files only; photos are shown from blob: and data: URLs; the camera preview is a MediaStream.
CSP = ("default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; "
       "connect-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


@bp.get("/")
def index() -> Response:
    resp = send_from_directory(STATIC, "index.html", max_age=0)
    resp.headers["Content-Security-Policy"] = CSP
    return resp


@bp.after_app_request
def static_headers(resp: Response) -> Response:
    """The page's assets are revalidated on every load, so a new version is never mixed with an old one."""
    if request.path.startswith("/static/"):
        resp.headers["Cache-Control"] = "no-cache"
        resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp
