"""Seed 001: ``POST /identity/mask_selfie_image`` masks the eyes of a selfie.

The image comes as ``selfie_file`` (multipart), ``selfie_url`` or ``selfie_image_id`` (an image this
server keeps: an earlier upload here, whose id the ``X-Image-Id`` header returned, or a seed 002
task's ``image_id``). The answer is a PNG, lossless so that only the pixels under the bar change;
errors are ``{status, reason, request_id}`` (+ ``image``) with the seed's HTTP codes.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from flask import Blueprint, Response, current_app, g, request

from ..errors import CheckerError
from ..generate import filesize
from ..generate.eyemask import mask_eyes
from ..imaging import Limits, load_photo
from ..params.services import MASK
from ..tasks.settings import config_from
from ..tasks.urls import FetchFailed, FetchTimedOut, TooLarge, URLInvalid, URLRefused, download
from .auth import billed, require_key
from .envelopes import linkface_error, use

bp = Blueprint("mask_api", __name__, url_prefix="/identity")
use(bp, linkface_error)
bp.before_request(require_key("mask", rate_http=403))  # seed 001 answers a rate limit with 403

# Seed 001's image rules: JPG, BMP, PNG, GIF, TIFF; 8 px < side <= 4000 px; at most 5 MB.
LIMITS = Limits(max_bytes=5 * 1024 * 1024, max_side=4000, min_side=9, formats=("JPEG", "BMP", "PNG", "GIF", "TIFF"))
SOURCES = ("selfie_file", "selfie_url", "selfie_image_id")


def _not_utf8(encoded: bytes) -> str | None:
    """The first name in a url-encoded string whose name or value is not UTF-8 once unquoted."""
    for pair in encoded.split(b"&"):
        name, _, value = pair.partition(b"=")
        for part in (name, value):
            try:
                urllib.parse.unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")
            except UnicodeDecodeError:
                return name.decode("latin-1")
    return None


def _utf8_params() -> dict[str, Any]:
    """Query and form fields; ENCODING_ERROR when any of them is not UTF-8. Werkzeug decodes
    leniently (bad escapes kept as text, bad multipart bytes replaced), so the raw bytes are checked."""
    bad = _not_utf8(request.query_string)
    if bad is None and request.mimetype == "application/x-www-form-urlencoded":
        bad = _not_utf8(request.get_data(cache=True))
    params: dict[str, Any] = dict(request.args.items())
    params.update(request.form.items())
    if bad is None:
        bad = next((k or "(a field name)" for k, v in params.items()
                    if k is None or "\ufffd" in k or "\ufffd" in (v or "")), None)
    if bad is not None:
        raise CheckerError("ENCODING_ERROR", f"the parameter {bad!r} is not UTF-8")
    return params


def _image(params: dict[str, Any]) -> bytes:
    given = [s for s in SOURCES if params.get(s) or (s == "selfie_file" and s in request.files)]
    if len(given) != 1:
        raise CheckerError("INVALID_ARGUMENT", "send exactly one of selfie_file, selfie_url or selfie_image_id"
                           + (f" (got {', '.join(given)})" if given else ""))
    source = given[0]
    if source == "selfie_file":
        upload = request.files["selfie_file"]
        data = upload.read(LIMITS.max_bytes + 1)
        if not data:
            raise CheckerError("INVALID_ARGUMENT", "selfie_file is empty")
        _check_size(data)
        g.image_id = _store().save_input(data, owner=_key_id())
        return data
    if source == "selfie_url":
        policy = config_from(current_app.config).policy
        policy = type(policy)(allow_private=policy.allow_private, timeout=policy.timeout,
                              max_bytes=LIMITS.max_bytes)
        try:
            data = download(params["selfie_url"], policy)
        except URLInvalid as exc:  # not a URL one could fetch (a bad port...): a parameter error
            raise CheckerError("INVALID_ARGUMENT", f"selfie_url: {exc}") from exc
        except FetchTimedOut as exc:
            raise CheckerError("DOWNLOAD_TIMEOUT", str(exc)) from exc
        except (FetchFailed, URLRefused) as exc:
            raise CheckerError("DOWNLOAD_ERROR", str(exc)) from exc
        except TooLarge as exc:
            raise CheckerError("IMAGE_FILE_SIZE_TOO_BIG", str(exc)) from exc
        g.image_id = _store().save_input(data, owner=_key_id())
        return data
    image_id = str(params["selfie_image_id"])
    store = _store()
    if not store.input_visible(image_id, _key_id()):  # another key's image is not there for this one
        raise CheckerError("IMAGE_ID_NOT_EXIST", f"no image {image_id!r} is kept here (images are kept for an hour)")
    g.image_id = image_id
    return store.read_input(image_id)


def _key_id() -> str | None:
    """The calling key (None when the server is open): kept images are that key's alone."""
    key = g.get("api_key")
    return key.id if key is not None else None


def _check_size(data: bytes) -> None:
    if len(data) > LIMITS.max_bytes:
        raise CheckerError("IMAGE_FILE_SIZE_TOO_BIG", f"the image is larger than {LIMITS.max_bytes // 2**20} MB")


def _store():
    from .tasks_api import service

    return service().store


@bp.post("/mask_selfie_image")
def mask_selfie_image():
    """The selfie with both eyes under a black bar (``mask_eye=true``), as PNG."""
    params = _utf8_params()
    v = MASK.parse(params)
    # Charged before the selfie is downloaded or kept, so a refused request stores nothing; given
    # back if nothing comes of it.
    with billed(MASK.price(v)):
        photo = load_photo(_image(params), limits=LIMITS)
        masked = mask_eyes(photo, mask_eye=v["mask_eye"], auto_rotate=v["auto_rotate"])
    opaque = photo.alpha is None
    # Lossless, so that only the bar's pixels differ from the input.
    png = filesize.encode(masked.rgba[..., :3] if opaque else masked.rgba, fmt="PNG")
    resp = Response(png, mimetype="image/png")
    resp.headers["X-Image-Id"] = g.image_id
    resp.headers["X-Rotation"] = str(masked.rotation)
    resp.headers["X-Eyes-Masked"] = "true" if masked.bar is not None else "false"
    return resp
