"""File-level measures: format, byte size, pixel size, density."""

from __future__ import annotations

from typing import Any

from ..context import Analysis, MeasureError
from . import detector


@detector("format", "file_size", "size", "bits", "dpi")
def file_facts(a: Analysis) -> dict[str, Any]:
    photo = a.photo
    out: dict[str, Any] = {
        "format": photo.format,
        "file_size": photo.file_size,
        "size": [photo.width, photo.height],
        "bits": photo.bits,
    }
    if photo.dpi is not None:
        out["dpi"] = round(min(photo.dpi))
    return out


@detector("size_mm")
def physical_size(a: Analysis) -> dict[str, Any]:
    """Printed size in millimetres, from the density the file declares."""
    if a.photo.dpi is None:
        raise MeasureError("the file states no resolution (dpi), so its size in millimetres is unknown")
    dx, dy = a.photo.dpi
    return {"size_mm": [round(a.width / dx * 25.4, 1), round(a.height / dy * 25.4, 1)]}
