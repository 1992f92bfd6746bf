"""POST /api/check_pic (id-photo-verify-compatible): the request's own fields. The thresholds a
request may override are declared by the rules (rules/*.json) and validated by the rule engine;
names that are neither are answered in ``ignored_params``, as id-photo-verify clients send fields
this service has no use for."""

from __future__ import annotations

from . import Param, Table


def _thresholds() -> list[str]:
    from .. import rules

    return rules.param_names()


# Sent by id-photo-verify clients and accepted with no effect: the key (read by the web layer),
# lang and request_id (both languages are always answered; the id comes from X-Request-Id), and
# face_center, which the seed documents as always checked whatever the request says.
ENVELOPE = frozenset({"app_key", "api_key", "lang", "request_id", "face_center"})

CHECK = Table("/api/check_pic", (
    Param("file", "image", "the photo (JPEG, PNG, BMP, GIF, TIFF, WEBP, HEIC/HEIF or AVIF): base64 in JSON, a "
                           "multipart upload, or the raw body",
          aliases=("image", "input_image")),
    Param("spec_id", "id", "the document: numeric id or slug (GET /api/specs lists them); required",
          max_len=100),
    Param("width_px", "int", "the pixel frame thresholds are written in (default: the spec's)", lo=1, hi=20000,
          unit="px"),
    Param("height_px", "int", "the pixel frame's height (default: the spec's)", lo=1, hi=20000, unit="px"),
), strict=False, envelope=ENVELOPE, passthrough=_thresholds)
