"""The Flask app factory: one blueprint per API family, request ids, JSON errors everywhere."""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from typing import Any

from flask import Flask, g, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from ..errors import CheckerError
from ..imaging import MAX_BYTES
from ..instance import instance_dir
from . import envelopes

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

DEFAULT_CONFIG: dict[str, Any] = {
    # base64 inflates 4/3, plus JSON and form overhead: a 15 MB image must still get through.
    "MAX_CONTENT_LENGTH": MAX_BYTES * 4 // 3 + 1024 * 1024,
    "JSON_AS_ASCII": False,
    "WARM_UP_MODELS": False,  # gunicorn workers warm up in their post_worker_init hook instead
}


class StrictJSONProvider(DefaultJSONProvider):
    """JSON that every parser reads: a value that is not a finite number (a measurement that could
    not be made) is answered as null, never as the bare NaN or Infinity Python would write."""

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs["allow_nan"] = False
        try:
            return super().dumps(obj, **kwargs)
        except ValueError as exc:
            if "out of range float" not in str(exc).lower():
                raise
            return super().dumps(_finite(obj), **kwargs)


def _finite(obj: Any) -> Any:
    """``obj`` with every NaN and infinity (in dicts, lists and tuples) replaced by None."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` overrides DEFAULT_CONFIG (and ``CHECKER_*`` environment values)."""
    app = Flask(__name__, instance_path=str(instance_dir()))
    app.config.update(DEFAULT_CONFIG)
    app.config.from_prefixed_env("CHECKER")
    if config:
        app.config.update(config)
    app.json = StrictJSONProvider(app)
    app.json.ensure_ascii = False  # Chinese messages stay readable
    app.json.sort_keys = False

    from . import (
        check_api,
        clothes_api,
        docs_api,
        fix_api,
        health,
        hivision_api,
        mask_api,
        matting_api,
        page,
        specs_api,
        tasks_api,
    )

    for bp in (check_api.bp, specs_api.bp, fix_api.bp, clothes_api.bp, hivision_api.bp, tasks_api.bp, mask_api.bp,
               matting_api.bp, health.bp, docs_api.bp, page.bp):
        app.register_blueprint(bp)

    @app.before_request
    def assign_request_id() -> None:
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex

    from . import admission

    admission.install(app)  # heavy requests: a slot each, or 503 + Retry-After when all are taken

    @app.after_request
    def echo_request_id(response):
        response.headers["X-Request-Id"] = g.get("request_id", "")
        if g.get("retry_after"):
            response.headers["Retry-After"] = str(g.retry_after)
        return response

    # App-wide fallbacks (routing errors, hooks outside a blueprint) answer in the envelope of the
    # family the path belongs to; each blueprint maps its own errors (envelopes.use).
    @app.errorhandler(CheckerError)
    def on_checker_error(exc: CheckerError):
        return envelopes.for_request()(exc)

    @app.errorhandler(HTTPException)
    def on_http_error(exc: HTTPException):
        return envelopes.answer_http(exc, envelopes.for_request())

    @app.errorhandler(Exception)
    def on_crash(exc: Exception):
        return envelopes.answer_crash(exc, envelopes.for_request())

    if app.config.get("WARM_UP_MODELS"):
        from .. import models

        models.warm_up()
    return app


def http_to_checker(exc: HTTPException) -> CheckerError:
    """Werkzeug's HTTP errors as our stable statuses."""
    code = exc.code or 500
    status = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "IMAGE_FILE_SIZE_TOO_BIG"}.get(
        code, "INVALID_ARGUMENT" if code < 500 else "INTERNAL_ERROR"
    )
    message = {
        404: "no such endpoint",
        405: f"{request.method} is not allowed here",
        413: "the request body is larger than the 15 MB image limit allows",
    }.get(code, exc.description or exc.name)
    # An oversized body is the seed's IMAGE_FILE_SIZE_TOO_BIG, a 400 like the other image errors.
    return CheckerError(status, message, http=400 if code == 413 else code)
