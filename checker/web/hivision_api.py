"""The HivisionIDPhotos-compatible endpoints (parameters: :mod:`checker.params.hivision`).

Each takes multipart ``input_image`` or ``input_image_base64`` plus form (or query) parameters
with the seed's names and defaults, and answers ``{"status": true, ...}`` with images as base64
data URLs, or ``{"status": false, "error": STATUS, "message": ...}`` with a 4xx code.
"""

from __future__ import annotations

import base64
from typing import Any

from flask import Blueprint, jsonify

from ..errors import CheckerError
from ..imaging import Photo, load_photo
from ..params import Values
from ..params.hivision import ENDPOINTS
from .auth import billed, require_key
from .envelopes import hivision_error, use
from .inputs import request_image, request_params

bp = Blueprint("hivision", __name__)
use(bp, hivision_error)
bp.before_request(require_key("generate"))

_MIME = {"PNG": "image/png", "JPEG": "image/jpeg"}


def data_url(data: bytes, fmt: str) -> str:
    return f"data:{_MIME[fmt]};base64," + base64.b64encode(data).decode("ascii")


def _read(endpoint: str) -> tuple[Photo, Values]:
    """The photo and the endpoint's parameters (``checker.params.hivision``)."""
    params = request_params()
    photo = load_photo(request_image(params, ("input_image",), ("input_image_base64",)))
    return photo, ENDPOINTS[endpoint].parse(params)


def _answer(v: Values, body: dict[str, Any]):
    body = {"status": True, **body}
    if v.ignored:  # fields of other HivisionIDPhotos releases: answered, not silently dropped
        body["ignored_params"] = v.ignored
    return jsonify(body)


def _jpeg_or_kb(rgb, v: Values, *, allow_resize: bool = False) -> str:
    """JPEG at quality 95, or at exactly ``kb`` KB when asked."""
    from ..generate import filesize

    kb, dpi = v.get("kb"), v["dpi"]
    if kb is None:
        return data_url(filesize.encode(rgb, dpi=dpi, quality=95), "JPEG")
    return data_url(filesize.set_kb(rgb, kb, dpi=dpi, allow_resize=allow_resize).data, "JPEG")


def _png(rgba, dpi: int) -> str:
    from ..generate import filesize

    return data_url(filesize.encode(rgba, dpi=dpi), "PNG")


def _idphoto_response(endpoint: str, *, use_own_alpha: bool) -> tuple[Values, dict[str, Any]]:
    from ..generate.idphoto import make_idphoto

    photo, v = _read(endpoint)
    table = ENDPOINTS[endpoint]
    matting_model = v.get("human_matting_model") if "human_matting_model" in table.params else None
    with billed(table.price(v)):
        result = make_idphoto(
            photo, width=v["width"], height=v["height"], matting_model=matting_model,
            face_detect_model=v.get("face_detect_model"), align=v["face_alignment"], use_own_alpha=use_own_alpha,
            head_measure_ratio=v["head_measure_ratio"], head_height_ratio=v["head_height_ratio"],
            top_distance_max=v["top_distance_max"], top_distance_min=v["top_distance_min"],
        )
    body: dict[str, Any] = {"image_base64_standard": _png(result.standard, v["dpi"])}
    body["image_base64_hd"] = _png(result.hd, v["dpi"]) if v["hd"] else None
    if not use_own_alpha:
        body["human_matting_model"] = _matting_used(matting_model)
    return v, body


def _matting_used(name: str | None) -> str:
    """The matting that actually ran (seed 000's default name falls back to the embedded one)."""
    from ..generate import matting

    return matting.resolve(name)


@bp.post("/idphoto")
def idphoto():
    """Transparent standard and HD ID photos from a photo."""
    return _answer(*_idphoto_response("/idphoto", use_own_alpha=False))


@bp.post("/idphoto_crop")
def idphoto_crop():
    """Frame an already transparent cut-out (its alpha is the matte)."""
    v, body = _idphoto_response("/idphoto_crop", use_own_alpha=True)
    body["image_base64"] = body["image_base64_standard"]
    return _answer(v, body)


@bp.post("/human_matting")
def human_matting():
    """The person cut out of the photo, as a transparent PNG at the photo's resolution."""
    from ..context import Analysis
    from ..generate import matting

    photo, v = _read("/human_matting")
    with billed(ENDPOINTS["/human_matting"].price(v)):
        rgba = matting.cutout(Analysis(photo), v.get("human_matting_model"))
    return _answer(v, {"image_base64": _png(rgba, v["dpi"]),
                       "human_matting_model": _matting_used(v.get("human_matting_model"))})


@bp.post("/add_background")
def add_background():
    """A transparent cut-out on a colour: solid (render 0), top-to-bottom (1) or centre (2) gradient."""
    from ..generate import background

    photo, v = _read("/add_background")
    rgb = background.compose(photo.rgba(), v["color"], render=v["render"], color2=v.get("color2"))
    return _answer(v, {"image_base64": _jpeg_or_kb(rgb, v)})


@bp.post("/generate_layout_photos")
def generate_layout_photos():
    """A six-inch print sheet of the photo (seed 000), or another paper with ``layout_size``."""
    from ..generate import layout

    photo, v = _read("/generate_layout_photos")
    width, height, dpi = v["width"], v["height"], v["dpi"]
    rgb = photo.rgb if (photo.width, photo.height) == (width, height) else _resized(photo, width, height)
    with billed(ENDPOINTS["/generate_layout_photos"].price(v)):
        sheet, _ = layout.layout_sheet(
            rgb, photo_mm=(width / dpi * 25.4, height / dpi * 25.4), dpi=dpi, paper=v["layout_size"],
            vertical=v["layout_vertical"], canvas_color=v.get("layout_bg_color"), crop_marks=v["crop_marks"],
        )
    return _answer(v, {"image_base64": _jpeg_or_kb(sheet, v)})


def _resized(photo: Photo, width: int, height: int):
    """The photo at the asked photo size: uniform scale, never stretched (a different aspect is an
    error, not a distortion)."""
    import cv2

    if abs(photo.width / photo.height - width / height) > 0.01:
        raise CheckerError("INVALID_ARGUMENT",
                           f"the photo is {photo.width}x{photo.height}; it cannot be laid out as {width}x{height} "
                           "without stretching")
    interp = cv2.INTER_AREA if width < photo.width else cv2.INTER_CUBIC
    return cv2.resize(photo.rgb, (width, height), interpolation=interp)


@bp.post("/watermark")
def watermark():
    """Tiled text watermark (size, opacity, angle, color, space as HivisionIDPhotos names them)."""
    from ..generate import watermark as wm

    photo, v = _read("/watermark")
    rgb = wm.add_watermark(photo.rgb, v["text"], size=v["size"], opacity=v["opacity"], angle=v["angle"],
                           color=v["color"], space=v["space"])
    return _answer(v, {"image_base64": _jpeg_or_kb(rgb, v)})


@bp.post("/set_kb")
def set_kb():
    """The photo re-encoded to exactly ``kb`` KB (quality search, padding when it is smaller)."""
    photo, v = _read("/set_kb")
    # The one endpoint whose only job is the size: it may resample when quality alone cannot reach it.
    return _answer(v, {"image_base64": _jpeg_or_kb(photo.rgb, v, allow_resize=True)})
