"""Each API family's error envelope, from one internal error type.

A blueprint names its envelope with :func:`use`; errors raised inside its views, any exception they
did not expect (500, or 503/507 for a storage fault), requests under its URL prefix that match no
route (404), and methods its routes do not take (405, with ``Allow``) then answer in that family's
shape.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from flask import Blueprint, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from ..errors import CheckerError, storage_error

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
               "INVALID_ARGUMENT": 1020, "NOT_FOUND": 1404, "METHOD_NOT_ALLOWED": 1405, "INTERNAL_ERROR": 1500,
               "STORAGE_UNAVAILABLE": 1503, "STORAGE_FULL": 1507}


def picup_error(exc: CheckerError) -> tuple[Response, int]:
    """Seed 003: ``{code: <non-zero>, data: null, msg, time}``."""
    code = PICUP_CODES.get(exc.status, 1000)
    body = {"code": code, "data": None, "msg": f"{exc.status}: {exc.message}", "time": int(time.time() * 1000)}
    return jsonify(body), exc.http


_BY_PREFIX: dict[str, Envelope] = {}
_BY_BLUEPRINT: dict[str, Envelope] = {}


def use(bp: Blueprint, envelope: Envelope) -> None:
    """Answer ``bp``'s errors with ``envelope`` (and, under its URL prefix, unmatched paths too)."""
    bp.register_error_handler(CheckerError, envelope)
    bp.register_error_handler(HTTPException, lambda exc: answer_http(exc, envelope))
    bp.register_error_handler(Exception, lambda exc: answer_crash(exc, envelope))
    _BY_BLUEPRINT[bp.name] = envelope
    if bp.url_prefix:
        _BY_PREFIX[bp.url_prefix.rstrip("/") + "/"] = envelope


def for_request() -> Envelope:
    """The envelope of the family the request is for: its blueprint's; for a method no route of the
    path takes, the blueprint of a route that does; else the family whose URL prefix the path falls
    under (seed 004's otherwise)."""
    if request.blueprint in _BY_BLUEPRINT:
        return _BY_BLUEPRINT[request.blueprint]
    routing = request.routing_exception
    if isinstance(routing, MethodNotAllowed) and routing.valid_methods:
        try:
            endpoint, _ = current_app.url_map.bind_to_environ(request.environ).match(
                method=next(iter(routing.valid_methods)))
        except HTTPException:
            endpoint = ""
        blueprint = str(endpoint).rpartition(".")[0]
        if blueprint in _BY_BLUEPRINT:
            return _BY_BLUEPRINT[blueprint]
    path = request.path
    matches = [p for p in _BY_PREFIX if path.startswith(p) or path + "/" == p]
    return _BY_PREFIX[max(matches, key=len)] if matches else check_api_error


def answer_http(exc: HTTPException, envelope: Envelope) -> tuple[Response, int]:
    """Werkzeug's HTTP error in ``envelope``, with the headers it carries (``Allow`` on a 405)."""
    from . import http_to_checker

    response, code = envelope(http_to_checker(exc))
    for name, value in exc.get_headers(request.environ):
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    return response, code


def storage_roots() -> list[str]:
    """The folders whose permission errors are storage faults: the instance, tasks and keys folders."""
    config = current_app.config
    roots = [current_app.instance_path]
    if config.get("TASKS_DIR"):
        roots.append(str(config["TASKS_DIR"]))
    if config.get("KEYS_DB"):
        roots.append(os.path.dirname(os.path.abspath(str(config["KEYS_DB"]))))
    return roots


def answer_crash(exc: Exception, envelope: Envelope) -> tuple[Response, int]:
    """An exception no view expected, in ``envelope``: a storage fault (disk full, read-only folder)
    is 507 STORAGE_FULL or 503 STORAGE_UNAVAILABLE with Retry-After; anything else is 500
    INTERNAL_ERROR. Either is logged with the request id the answer names; internals stay there."""
    if isinstance(exc, HTTPException):  # not expected here (handled above), but keep its code
        return answer_http(exc, envelope)
    request_id = g.get("request_id", "")
    fault = storage_error(exc, storage_roots())
    if fault is not None:
        current_app.logger.error("request %s: %s (%s: %s)", request_id, fault.status, type(exc).__name__, exc,
                                 exc_info=exc)
        g.retry_after = fault.retry_after
        return envelope(fault)
    current_app.logger.error("request %s: unhandled %s", request_id, type(exc).__name__, exc_info=exc)
    return envelope(CheckerError("INTERNAL_ERROR", f"internal error; request id {request_id} identifies it in the "
                                                   "server log"))
