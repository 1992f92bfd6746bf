"""Seed 000's HivisionIDPhotos-compatible endpoints.

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
from ..keys import CALL, LAYOUT, STANDARD
from .auth import billed, require_key
from .envelopes import hivision_error, use
from .inputs import get_bool, get_float, get_int, get_str, request_image, request_params

bp = Blueprint("hivision", __name__)
use(bp, hivision_error)
bp.before_request(require_key("generate"))

_MIME = {"PNG": "image/png", "JPEG": "image/jpeg"}


def data_url(data: bytes, fmt: str) -> str:
    return f"data:{_MIME[fmt]};base64," + base64.b64encode(data).decode("ascii")


def _photo(params: dict[str, Any]) -> Photo:
    return load_photo(request_image(params, ("input_image",), ("input_image_base64",)))


def _size(params: dict[str, Any], *, required: bool = False) -> tuple[int, int]:
    width = get_int(params, "width", None if required else 295, lo=9, hi=4096, required=required)
    height = get_int(params, "height", None if required else 413, lo=9, hi=4096, required=required)
    return width, height


def _dpi(params: dict[str, Any]) -> int:
    return get_int(params, "dpi", 300, lo=10, hi=1200)


def _align(params: dict[str, Any]) -> bool:
    # Seed 000 calls it face_alignment; some clients send face_align.
    name = "face_alignment" if params.get("face_alignment") not in (None, "") else "face_align"
    return get_bool(params, name, True)


def _ratios(params: dict[str, Any]) -> dict[str, float]:
    return {
        "head_measure_ratio": get_float(params, "head_measure_ratio", 0.2, lo=0.01, hi=1.0),
        "head_height_ratio": get_float(params, "head_height_ratio", 0.45, lo=0.0, hi=1.0),
        "top_distance_max": get_float(params, "top_distance_max", 0.12, lo=0.0, hi=1.0),
        "top_distance_min": get_float(params, "top_distance_min", 0.10, lo=0.0, hi=1.0),
    }


def _jpeg_or_kb(rgb, params: dict[str, Any], dpi: int, *, allow_resize: bool = False) -> str:
    """JPEG at quality 95, or at exactly ``kb`` KB when asked."""
    from ..generate import filesize

    kb = get_int(params, "kb", None, lo=1, hi=15 * 1024)
    if kb is None:
        return data_url(filesize.encode(rgb, dpi=dpi, quality=95), "JPEG")
    return data_url(filesize.set_kb(rgb, kb, dpi=dpi, allow_resize=allow_resize).data, "JPEG")


def _png(rgba, dpi: int) -> str:
    from ..generate import filesize

    return data_url(filesize.encode(rgba, dpi=dpi), "PNG")


def _idphoto_response(params: dict[str, Any], *, use_own_alpha: bool, size_required: bool):
    from ..generate.idphoto import make_idphoto

    photo = _photo(params)
    width, height = _size(params, required=size_required)
    dpi = _dpi(params)
    with billed(STANDARD):
        result = make_idphoto(
            photo, width=width, height=height, matting_model=get_str(params, "human_matting_model"),
            face_detect_model=get_str(params, "face_detect_model"), align=_align(params), use_own_alpha=use_own_alpha,
            **_ratios(params),
        )
    body: dict[str, Any] = {"status": True, "image_base64_standard": _png(result.standard, dpi)}
    body["image_base64_hd"] = _png(result.hd, dpi) if get_bool(params, "hd", True) else None
    if not use_own_alpha:
        body["human_matting_model"] = _matting_used(params)
    return body


def _matting_used(params: dict[str, Any]) -> str:
    """The matting that actually ran (seed 000's default name falls back to the embedded one)."""
    from ..generate import matting

    return matting.resolve(get_str(params, "human_matting_model"))


@bp.post("/idphoto")
def idphoto():
    """Transparent standard and HD ID photos from a photo."""
    return jsonify(_idphoto_response(request_params(), use_own_alpha=False, size_required=False))


@bp.post("/idphoto_crop")
def idphoto_crop():
    """Frame an already transparent cut-out (its alpha is the matte)."""
    body = _idphoto_response(request_params(), use_own_alpha=True, size_required=True)
    body["image_base64"] = body["image_base64_standard"]
    return jsonify(body)


@bp.post("/human_matting")
def human_matting():
    """The person cut out of the photo, as a transparent PNG at the photo's resolution."""
    from ..context import Analysis
    from ..generate import matting

    params = request_params()
    photo = _photo(params)
    with billed(CALL):
        rgba = matting.cutout(Analysis(photo), get_str(params, "human_matting_model"))
    return jsonify({"status": True, "image_base64": _png(rgba, _dpi(params)),
                    "human_matting_model": _matting_used(params)})


@bp.post("/add_background")
def add_background():
    """A transparent cut-out on a colour: solid (render 0), top-to-bottom (1) or centre (2) gradient."""
    from ..generate import background

    params = request_params()
    photo = _photo(params)
    color = get_str(params, "color", required=True)
    render = get_int(params, "render", 0, lo=0, hi=2)
    rgb = background.compose(photo.rgba(), color, render=render, color2=get_str(params, "color2"))
    return jsonify({"status": True, "image_base64": _jpeg_or_kb(rgb, params, _dpi(params))})


@bp.post("/generate_layout_photos")
def generate_layout_photos():
    """A six-inch print sheet of the photo (seed 000), or another paper with ``layout_size``."""
    from ..generate import layout

    params = request_params()
    photo = _photo(params)
    width, height = _size(params)
    dpi = _dpi(params)
    rgb = photo.rgb if (photo.width, photo.height) == (width, height) else _resized(photo, width, height)
    with billed(LAYOUT):
        sheet, _ = layout.layout_sheet(
            rgb, photo_mm=(width / dpi * 25.4, height / dpi * 25.4), dpi=dpi,
            paper=get_str(params, "layout_size", "6inch"), vertical=get_bool(params, "layout_vertical", False),
            canvas_color=get_str(params, "layout_bg_color"), crop_marks=get_bool(params, "crop_marks", False),
        )
    return jsonify({"status": True, "image_base64": _jpeg_or_kb(sheet, params, dpi)})


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
    """Tiled text watermark (seed 000's size, opacity, angle, color, space)."""
    from ..generate import watermark as wm

    params = request_params()
    photo = _photo(params)
    rgb = wm.add_watermark(
        photo.rgb, get_str(params, "text", required=True, max_len=200), size=get_int(params, "size", 20, lo=1, hi=1000),
        opacity=get_float(params, "opacity", 0.5, lo=0.0, hi=1.0), angle=get_int(params, "angle", 30, lo=-360, hi=360),
        color=get_str(params, "color", "#000000"), space=get_int(params, "space", 25, lo=0, hi=2000),
    )
    return jsonify({"status": True, "image_base64": _jpeg_or_kb(rgb, params, _dpi(params))})


@bp.post("/set_kb")
def set_kb():
    """The photo re-encoded to exactly ``kb`` KB (quality search, padding when it is smaller)."""
    params = request_params()
    photo = _photo(params)
    get_int(params, "kb", None, lo=1, hi=15 * 1024, required=True)
    # The one endpoint whose only job is the size: it may resample when quality alone cannot reach it.
    return jsonify({"status": True, "image_base64": _jpeg_or_kb(photo.rgb, params, _dpi(params), allow_resize=True)})
