"""The single-purpose APIs: eye masking (linkface-compatible) and matting (picup-compatible).
Their clients send only the documented fields, so an unknown name is refused, naming it."""

from __future__ import annotations

from . import Param, Table

CALL = 1  # credits one call costs

MASK = Table("/identity/mask_selfie_image", (
    Param("selfie_file", "image", "the selfie (multipart upload); one of selfie_file, selfie_url, selfie_image_id"),
    Param("selfie_url", "string", "where to download the selfie (http or https)", max_len=512),
    Param("selfie_image_id", "string", "an image kept here: an earlier upload's X-Image-Id or a task's image_id",
          max_len=100),
    Param("mask_eye", "flag", "put a bar over both eyes", default=False),
    Param("auto_rotate", "flag", "turn the photo upright first", default=False),
), base_price=CALL, envelope=frozenset({"api_id", "api_secret"}))

MATTING = Table("/api/v1/matting", (
    Param("file", "image", "the photo (multipart upload, or the raw image as the body)"),
    Param("human_matting_model", "string", "matting model name (GET /api/models lists them)", max_len=100),
), base_price=CALL, envelope=frozenset({"api_key", "app_key"}))
