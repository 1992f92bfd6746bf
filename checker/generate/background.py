"""Backgrounds behind a transparent cut-out: a solid colour, a top-to-bottom gradient or a centre
gradient (seed 000's render 0, 1, 2), and seed 002's bg_color -> bg_color2 gradient."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..colors import parse_color
from ..errors import CheckerError

WHITE = (255, 255, 255)


def _rgb(value: str | Sequence[int], what: str) -> np.ndarray:
    try:
        return np.asarray(parse_color(value), np.float32)
    except (ValueError, TypeError) as exc:
        raise CheckerError("INVALID_ARGUMENT", f"{what}: {exc}") from exc


def backdrop(width: int, height: int, color: str | Sequence[int], *, render: int = 0,
             color2: str | Sequence[int] | None = None) -> np.ndarray:
    """The background alone, H x W x 3 float32.

    render 0: ``color`` everywhere. render 1: ``color`` at the top row to ``color2`` (white when not
    given) at the bottom row. render 2: white at the centre to ``color`` at a distance of
    max(width, height) from it (HivisionIDPhotos' centre gradient), ``color2`` replacing white."""
    c1 = _rgb(color, "color")
    if render == 0:
        return np.broadcast_to(c1, (height, width, 3)).astype(np.float32)
    c2 = _rgb(color2, "color2") if color2 not in (None, "") else np.asarray(WHITE, np.float32)
    if render == 1:
        t = (np.arange(height, dtype=np.float32) / max(1, height - 1))[:, None, None]
        return np.broadcast_to(c1 * (1 - t) + c2 * t, (height, width, 3)).astype(np.float32)
    if render == 2:
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        dist = np.hypot(xx - width // 2, yy - height // 2) / max(width, height)
        t = np.clip(dist, 0, 1)[:, :, None]
        return (c2 * (1 - t) + c1 * t).astype(np.float32)
    raise CheckerError("INVALID_ARGUMENT", f"render must be 0 (solid), 1 (top-to-bottom) or 2 (centre), not {render}")


def compose(rgba: np.ndarray, color: str | Sequence[int], *, render: int = 0,
            color2: str | Sequence[int] | None = None) -> np.ndarray:
    """Put a straight-alpha RGBA cut-out (H x W x 4 uint8) in front of a background; RGB uint8."""
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise CheckerError("INVALID_ARGUMENT", "the image must have an alpha channel (a transparent cut-out)")
    h, w = rgba.shape[:2]
    back = backdrop(w, h, color, render=render, color2=color2)
    a = rgba[:, :, 3:4].astype(np.float32) / 255.0
    out = rgba[:, :, :3].astype(np.float32) * a + back * (1.0 - a)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)
