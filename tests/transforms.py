"""Known transformations of real photos: the ground truth detectors are tested against.

Every function returns a new H x W x 3 uint8 RGB array and changes the photo by a stated amount.
"""

from __future__ import annotations

import cv2
import numpy as np


def blur(rgb: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with standard deviation ``sigma`` pixels."""
    return cv2.GaussianBlur(rgb, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REPLICATE)


def noise(rgb: np.ndarray, sigma: float, seed: int = 0) -> np.ndarray:
    """Add white Gaussian noise of standard deviation ``sigma`` (0-255 units) to every channel."""
    rng = np.random.default_rng(seed)
    return np.clip(rgb.astype(np.float32) + rng.normal(0, sigma, rgb.shape), 0, 255).round().astype(np.uint8)


def gain(rgb: np.ndarray, factor: float) -> np.ndarray:
    """Exposure change: every value times ``factor`` (clipped)."""
    return np.clip(rgb.astype(np.float32) * factor, 0, 255).round().astype(np.uint8)


def contrast(rgb: np.ndarray, factor: float) -> np.ndarray:
    """Contrast about the mean grey: factor < 1 flattens, > 1 stretches."""
    mean = rgb.reshape(-1, 3).mean(axis=0)
    return np.clip((rgb.astype(np.float32) - mean) * factor + mean, 0, 255).round().astype(np.uint8)


def rotate(rgb: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate about the centre by ``degrees`` (counter-clockwise in the image), same size,
    border replicated."""
    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def shift(rgb: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Move the content right by ``dx`` and down by ``dy`` pixels, border replicated."""
    h, w = rgb.shape[:2]
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def zoom(rgb: np.ndarray, factor: float, center: tuple[float, float] | None = None) -> np.ndarray:
    """Scale the content by ``factor`` about ``center`` (default: image centre), same size."""
    h, w = rgb.shape[:2]
    cx, cy = center if center is not None else (w / 2, h / 2)
    m = np.float32([[factor, 0, cx * (1 - factor)], [0, factor, cy * (1 - factor)]])
    return cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def composite(rgb: np.ndarray, alpha: np.ndarray, background: tuple[int, int, int] | np.ndarray) -> np.ndarray:
    """Put the person (``alpha`` in 0-1) in front of a new background: a colour or an image."""
    a = alpha.astype(np.float32)[:, :, None]
    bg = np.broadcast_to(np.asarray(background, np.float32), rgb.shape)
    return np.clip(rgb.astype(np.float32) * a + bg * (1 - a), 0, 255).round().astype(np.uint8)


def watermark(rgb: np.ndarray, text: str = "SAMPLE", opacity: float = 0.35, step: int | None = None) -> np.ndarray:
    """Tile ``text`` across the whole photo in white at ``opacity``, the way stock previews do."""
    h, w = rgb.shape[:2]
    layer = np.zeros((h, w), np.uint8)
    scale = max(0.6, w / 600)
    step = step or int(110 * scale)
    for y in range(step // 2, h + step, step):
        for x in range(-step, w, int(step * 2.2)):
            offset = (y // step) % 2 * step
            cv2.putText(layer, text, (x + offset, y), cv2.FONT_HERSHEY_SIMPLEX, scale, 255,
                        max(1, round(2 * scale)), cv2.LINE_AA)
    a = (layer.astype(np.float32) / 255.0 * opacity)[:, :, None]
    return np.clip(rgb * (1 - a) + 255 * a, 0, 255).round().astype(np.uint8)


def tiled_text(rgb: np.ndarray, text: str = "SAMPLE", alpha: float = 0.25, angle: float = 30, tile: int = 160,
               colour: tuple[int, int, int] = (255, 255, 255), seed: int = 0) -> np.ndarray:
    """``text`` drawn with cv2.putText (Hershey simplex) into a ``tile`` x ``tile // 2`` px cell it
    fills to about 80 % of the width, the cells repeated over the whole photo (face included) in a
    brick pattern (every other row shifted half a cell), the pattern rotated ``angle`` degrees
    counter-clockwise and shifted by a phase drawn from ``seed``, and blended in ``colour`` at
    ``alpha`` (0-1): the stock-preview watermark."""
    h, w = rgb.shape[:2]
    cw, ch = int(tile), max(8, int(tile) // 2)
    (tw, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 1.0, 2)
    scale = 0.8 * cw / tw
    thick = max(1, round(1.6 * scale))
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    cell = np.zeros((ch, cw), np.uint8)
    cv2.putText(cell, text, ((cw - tw) // 2, (ch + th) // 2), cv2.FONT_HERSHEY_SIMPLEX, scale, 255, thick, cv2.LINE_AA)
    pair = np.vstack([cell, np.roll(cell, cw // 2, axis=1)])
    side = int(np.ceil(np.hypot(h, w))) + 4 * cw
    big = np.tile(pair, (side // pair.shape[0] + 1, side // pair.shape[1] + 1))
    rng = np.random.default_rng(seed)
    cy, cx = big.shape[0] / 2 + rng.uniform(0, ch), big.shape[1] / 2 + rng.uniform(0, cw)
    m = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    m[:, 2] += (w / 2 - cx, h / 2 - cy)
    layer = cv2.warpAffine(big, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    a = (layer.astype(np.float32) / 255.0 * alpha)[:, :, None]
    out = rgb.astype(np.float32) * (1 - a) + np.asarray(colour, np.float32) * a
    return np.clip(out, 0, 255).round().astype(np.uint8)


def side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Two photos next to each other (the right one resized to the left one's height)."""
    h = left.shape[0]
    scale = h / right.shape[0]
    right = cv2.resize(right, (max(1, round(right.shape[1] * scale)), h), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(np.hstack([left, right]))


def dark_lenses(rgb: np.ndarray, eye_centers: np.ndarray, eye_width: float, color=(20, 20, 24)) -> np.ndarray:
    """Paint opaque dark lens ellipses over both eyes (sunglasses). ``eye_centers`` 2 x 2 px,
    ``eye_width`` the corner-to-corner width of one eye in pixels."""
    out = rgb.copy()
    for cx, cy in eye_centers:
        axes = (round(eye_width * 0.85), round(eye_width * 0.6))
        cv2.ellipse(out, (round(cx), round(cy)), axes, 0, 0, 360, color, -1, cv2.LINE_AA)
    return out


def shade_half(rgb: np.ndarray, x_split: float, factor: float, region: tuple[int, int, int, int] | None = None):
    """Multiply the pixels left of ``x_split`` (inside ``region`` x0, y0, x1, y1 if given) by
    ``factor``: light falling on one side of the face only."""
    out = rgb.astype(np.float32)
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = region or (0, 0, w, h)
    xs = int(round(x_split))
    out[y0:y1, x0:xs] *= factor
    return np.clip(out, 0, 255).round().astype(np.uint8)


def soft_shadow(rgb: np.ndarray, person: np.ndarray, face_rect: tuple[int, int, int, int], depth: float = 0.15,
                side: int = 1, softness: float = 0.2) -> np.ndarray:
    """A soft cast shadow on the wall behind the person: the background (``person`` alpha 0-1 left
    untouched) darkened by ``depth`` (0.15: luminance x 0.85) in a region beside and below the head
    on ``side`` (1: image right), offset 0.25 face widths from the face, with an edge blurred by
    ``softness`` face widths. The shadow of a head and shoulders lit from the other side."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = face_rect
    fw = x1 - x0
    m = np.zeros((h, w), np.float32)
    cx = x1 + 0.25 * fw if side > 0 else x0 - 0.25 * fw
    cv2.ellipse(m, (round(cx), round((y0 + y1) / 2)), (round(0.6 * fw), round(0.8 * (y1 - y0))), 0, 0, 360, 1.0, -1)
    shoulder_x = x1 + 0.6 * fw if side > 0 else x0 - 2.6 * fw
    cv2.rectangle(m, (round(shoulder_x), round(y1 + 0.3 * fw)), (round(shoulder_x + 2 * fw), h), 1.0, -1)
    m = cv2.GaussianBlur(m, (0, 0), max(1.0, softness * fw)) * (1 - person.astype(np.float32))
    return np.clip(rgb * (1 - depth * m)[:, :, None], 0, 255).round().astype(np.uint8)
