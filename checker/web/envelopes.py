"""Each API family's error envelope, from one internal error type."""

from __future__ import annotations

from flask import g, jsonify

from ..errors import CheckerError


def check_api_error(exc: CheckerError):
    """Seed 004 family: ``{code, status, message, request_id}`` with a matching HTTP code."""
    body = {"code": exc.http, "status": exc.status, "message": exc.message, "request_id": g.get("request_id", "")}
    return jsonify(body), exc.http
