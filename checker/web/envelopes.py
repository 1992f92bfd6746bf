"""Each API family's error envelope, from one internal error type.

A blueprint names its envelope with :func:`use`; errors raised inside its views, and requests under
its URL prefix that match no route (404) or crash (500), then answer in that family's shape.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from ..errors import CheckerError

Envelope = Callable[[CheckerError], tuple[Response, int]]


def check_api_error(exc: CheckerError) -> tuple[Response, int]:
    """Seed 004 family: ``{code, status, message, request_id}`` with a matching HTTP code."""
    body = {"code": exc.http, "status": exc.status, "message": exc.message, "request_id": g.get("request_id", "")}
    return jsonify(body), exc.http


def hivision_error(exc: CheckerError) -> tuple[Response, int]:
    """Seed 000: ``{status: false, error, message}``."""
    return jsonify({"status": False, "error": exc.status, "message": exc.message}), exc.http


def tasks_error(exc: CheckerError) -> tuple[Response, int]:
    """Seed 002: ``{status: <http code>, message}``."""
    return jsonify({"status": exc.http, "message": f"{exc.status}: {exc.message}"}), exc.http


# Seed 001 adds ``"image": "selfie"`` to the statuses that are about the uploaded picture.
_IMAGE_STATUSES = frozenset({"DOWNLOAD_TIMEOUT", "DOWNLOAD_ERROR", "IMAGE_FILE_SIZE_TOO_BIG", "IMAGE_ID_NOT_EXIST",
                             "NO_FACE_DETECTED", "TOO_MANY_FACES", "CORRUPT_IMAGE", "INVALID_IMAGE_FORMAT_OR_SIZE"})


def linkface_error(exc: CheckerError) -> tuple[Response, int]:
    """Seed 001: ``{status, reason, request_id}`` (+ ``image``), HTTP 400/401/403/404/500 per its table."""
    status = "INVALID_ARGUMENT" if exc.status == "EMPTY_IMAGE" else exc.status
    body: dict[str, object] = {"status": status}
    if status in _IMAGE_STATUSES:
        body["image"] = "selfie"
    body["reason"] = exc.message
    body["request_id"] = g.get("request_id", "")
    return jsonify(body), exc.http


# Seed 003 shows one failure code (1001, balance too low); the rest are ours, one per status.
PICUP_CODES = {"OUT_OF_QUOTA": 1001, "UNAUTHORIZED": 1002, "KEY_EXPIRED": 1003, "NO_PERMISSION": 1004,
               "RATE_LIMIT_EXCEEDED": 1005, "EMPTY_IMAGE": 1010, "CORRUPT_IMAGE": 1011,
               "INVALID_IMAGE_FORMAT_OR_SIZE": 1012, "IMAGE_FILE_SIZE_TOO_BIG": 1013, "NO_FACE_DETECTED": 1014,
               "NO_PERSON_DETECTED": 1015,
               "INVALID_ARGUMENT": 1020, "NOT_FOUND": 1404, "METHOD_NOT_ALLOWED": 1405, "INTERNAL_ERROR": 1500}


def picup_error(exc: CheckerError) -> tuple[Response, int]:
    """Seed 003: ``{code: <non-zero>, data: null, msg, time}``."""
    code = PICUP_CODES.get(exc.status, 1000)
    body = {"code": code, "data": None, "msg": f"{exc.status}: {exc.message}", "time": int(time.time() * 1000)}
    return jsonify(body), exc.http


_BY_PREFIX: dict[str, Envelope] = {}


def use(bp: Blueprint, envelope: Envelope) -> None:
    """Answer ``bp``'s errors with ``envelope`` (and, under its URL prefix, unmatched paths too)."""
    bp.register_error_handler(CheckerError, envelope)

    def on_http(exc: HTTPException) -> tuple[Response, int]:
        from . import http_to_checker

        return envelope(http_to_checker(exc))

    bp.register_error_handler(HTTPException, on_http)
    if bp.url_prefix:
        _BY_PREFIX[bp.url_prefix.rstrip("/") + "/"] = envelope


def for_request() -> Envelope:
    """The envelope of the family whose URL prefix the request falls under (seed 004's otherwise)."""
    path = request.path
    matches = [p for p in _BY_PREFIX if path.startswith(p) or path + "/" == p]
    return _BY_PREFIX[max(matches, key=len)] if matches else check_api_error
