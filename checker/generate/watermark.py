"""Text on photos: seed 000's tiled watermark, seed 002's bottom label and preview mark, and the font
lookup they (and the print sheet's label) share.

Fonts. Labels and watermarks may be Chinese, which needs a CJK font; the project installs none yet
(see docs/generation/watermark.md). The lookup order is: the file named by ``CHECKER_FONT``; known
CJK fonts from Debian packages (fonts-noto-cjk, fonts-wqy-microhei, fonts-wqy-zenhei,
fonts-droid-fallback) and other systems; DejaVu Sans (Debian fonts-dejavu-core, or the copy inside
matplotlib, which mediapipe installs); Pillow's built-in font. Without a CJK font, CJK characters
come out as boxes: :func:`missing_glyphs` tells the caller which, and a warning is logged once.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..colors import parse_color
from ..errors import CheckerError

log = logging.getLogger(__name__)

FONT_ENV = "CHECKER_FONT"
# Debian/Ubuntu package paths first (what a Makefile or CI step can install), then Fedora, macOS, Windows.
CJK_FONTS: tuple[str, ...] = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # fonts-noto-cjk
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",  # fonts-droid-fallback
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "/System/Library/Fonts/STHeiti Medium.ttc",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
)
LATIN_FONTS: tuple[str, ...] = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",)
CJK_PROBE = "中文预览"  # must all render for a font to count as CJK
_MISSING = "\U0010ffff"  # a noncharacter: no font maps it, so it draws the font's "missing" box

DEFAULT_PREVIEW_TEXT = "PREVIEW"
LABEL_MIN_FONT = 6  # px: smaller is unreadable even on screen


@dataclass(frozen=True)
class FontChoice:
    """The font text is drawn with: a file (or None for Pillow's built-in one) and whether it has CJK."""

    path: str | None
    index: int  # face index inside a .ttc collection
    cjk: bool
    name: str


def _matplotlib_dejavu() -> str | None:
    # Located without importing matplotlib (slow to import and not needed otherwise).
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
    return str(p) if p.is_file() else None


def _missing_mask(font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> bytes:
    m = font.getmask(_MISSING)
    return bytes(m) + repr(m.size).encode()


def _covers(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, text: str) -> str:
    """The characters of ``text`` this font draws as its missing-glyph box."""
    box = _missing_mask(font)
    out = []
    for ch in dict.fromkeys(text):
        if ch.isspace():
            continue
        m = font.getmask(ch)
        if bytes(m) + repr(m.size).encode() == box:
            out.append(ch)
    return "".join(out)


def _open(path: str, index: int = 0, size: int = 24) -> ImageFont.FreeTypeFont | None:
    try:
        return ImageFont.truetype(path, size, index=index)
    except OSError:
        return None


def _font_name(f: ImageFont.FreeTypeFont) -> str:
    """Family and style, e.g. "Noto Sans CJK SC Regular" (FreeType may know neither)."""
    return " ".join(part for part in f.getname() if part)


def _best_face(path: str) -> tuple[int, ImageFont.FreeTypeFont] | None:
    """For a .ttc collection prefer the Simplified Chinese face (Noto's order is JP, KR, SC, TC, ...)."""
    first = _open(path)
    if first is None:
        return None
    if not path.lower().endswith(".ttc"):
        return 0, first
    for i in range(1, 12):
        f = _open(path, i)
        if f is None:
            break
        family = f.getname()[0] or ""
        if " SC" in family or family.endswith("SC"):
            return i, f
    return 0, first


@functools.lru_cache(maxsize=1)
def font_choice() -> FontChoice:
    """Pick the font once per process (see the module docstring for the order)."""
    env = os.environ.get(FONT_ENV, "").strip()
    candidates = ([env] if env else []) + list(CJK_FONTS)
    for path in candidates:
        if not os.path.isfile(path):
            if path == env:
                log.warning("%s=%s is not a font file; looking elsewhere", FONT_ENV, env)
            continue
        found = _best_face(path)
        if found is None:
            continue
        index, f = found
        if not _covers(f, CJK_PROBE):
            return FontChoice(path, index, True, _font_name(f))
        if path == env:  # an explicitly chosen Latin font is honoured, just flagged as not CJK
            return FontChoice(path, index, False, _font_name(f))
    log.warning("no CJK font found (install fonts-noto-cjk or fonts-wqy-microhei, or set %s): "
                "Chinese label and watermark text will draw as boxes", FONT_ENV)
    for fallback in [*LATIN_FONTS, _matplotlib_dejavu()]:
        latin = _open(fallback) if fallback and os.path.isfile(fallback) else None
        if latin is not None:
            return FontChoice(fallback, 0, False, _font_name(latin))
    return FontChoice(None, 0, False, "Pillow default")


@functools.lru_cache(maxsize=64)
def get_font(size: int) -> ImageFont.FreeTypeFont:
    """The chosen font at ``size`` pixels (em size)."""
    c = font_choice()
    if c.path is not None:
        f = _open(c.path, c.index, size)
        if f is not None:
            return f
    # Pillow's own font: a FreeTypeFont whenever Pillow has FreeType (its wheels always do); the
    # stubs also allow the bitmap ImageFont of a build without it.
    return ImageFont.load_default(size)  # type: ignore[return-value]


def missing_glyphs(text: str) -> str:
    """Characters of ``text`` the chosen font cannot draw (they would come out as boxes)."""
    return _covers(get_font(24), text)


# ---------------------------------------------------------------- validation helpers


def _check_rgb(rgb: np.ndarray) -> None:
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise CheckerError("INVALID_ARGUMENT", "the image must be an H x W x 3 uint8 RGB array")


def _color(value: str, what: str) -> tuple[int, int, int]:
    try:
        return parse_color(value)
    except (ValueError, TypeError) as exc:
        raise CheckerError("INVALID_ARGUMENT", f"{what}: {exc}") from exc


def _number(value: float, what: str, lo: float, hi: float) -> float:
    ok = not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)
    if not ok or not lo <= value <= hi:
        raise CheckerError("INVALID_ARGUMENT", f"{what} must be a number from {lo:g} to {hi:g}, not {value!r}")
    return float(value)


# ---------------------------------------------------------------- tiled watermark


def _text_mask(text: str, size: int, stroke: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The text drawn white on black (uint8), cropped to its ink: (plain glyphs, glyphs grown by a
    ``stroke`` px outline), both in the same frame."""
    font = get_font(size)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    x0, y0, x1, y1 = probe.textbbox((0, 0), text, font=font, stroke_width=stroke)
    frame = (max(1, int(x1 - x0)), max(1, int(y1 - y0)))  # ints already: the stubs say float
    plain = Image.new("L", frame, 0)
    ImageDraw.Draw(plain).text((-x0, -y0), text, font=font, fill=255)
    if not stroke:
        return np.asarray(plain), np.asarray(plain)
    grown = Image.new("L", frame, 0)
    ImageDraw.Draw(grown).text((-x0, -y0), text, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
    return np.asarray(plain), np.asarray(grown)


def _tiled(mask: np.ndarray, space: int, shape: tuple[int, ...], angle: float) -> np.ndarray:
    """``mask`` repeated with ``space`` px between copies, every other row shifted by half a copy
    (a brick pattern, so the words do not line up in columns), rotated by ``angle`` degrees
    counter-clockwise about the photo's centre, cropped to ``shape``. Float32 in 0-1.

    The pattern is periodic, so only the square about its centre that any rotation of the photo can
    show (the photo's diagonal) is built, by indexing the mask modulo the cell: memory is bounded by
    the photo, whatever the text, size and space (tiling the whole pattern first once asked for
    60 GB with a 200-character text at 1000 px)."""
    h, w = shape
    th, tw = mask.shape
    ch, cw = th + space, tw + space  # one cell: the text, then the space below and after it
    shift = cw // 2  # the second row of a pair is the first rolled right by half a cell
    # The full tiling this is a window of: its centre is where the photo's centre goes.
    full = int(math.ceil(math.hypot(h, w))) + 2 * max(2 * ch, cw)
    cy, cx = (full // (2 * ch) + 1) * 2 * ch / 2, (full // cw + 1) * cw / 2
    side = int(math.ceil(math.hypot(h, w))) + 4
    y0, x0 = int(math.floor(cy - side / 2)), int(math.floor(cx - side / 2))
    ys, xs = np.arange(y0, y0 + side), np.arange(x0, x0 + side)
    ry = ys % (2 * ch)
    top, my = ry < ch, ry % ch
    window = np.zeros((side, side), np.uint8)
    for rows, cols in ((top & (my < th), xs % cw), (~top & (my < th), (xs - shift) % cw)):
        r, c = np.flatnonzero(rows), np.flatnonzero(cols < tw)
        if r.size and c.size:
            window[np.ix_(r, c)] = mask[np.ix_(my[r], cols[c])]
    m: np.ndarray = cv2.getRotationMatrix2D((cx - x0, cy - y0), angle, 1.0)
    m[:, 2] += (w / 2 - (cx - x0), h / 2 - (cy - y0))
    out = cv2.warpAffine(window, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=(0,))
    return out.astype(np.float32) * (1.0 / 255.0)


def _within(text: str, size: int, limit: float) -> str:
    """The longest start of ``text`` whose drawing at ``size`` px is at most ``limit`` px wide
    (at least one character): a watermark wider than the photo's diagonal cannot show whole."""
    font = get_font(size)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    if probe.textlength(text, font=font) <= limit:
        return text
    lo, hi = 1, len(text)  # the answer is in [lo, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if probe.textlength(text[:mid], font=font) <= limit else (lo, mid)
    return text[:lo]


def _blend(rgb: np.ndarray, alpha: np.ndarray, color: tuple[int, int, int]) -> np.ndarray:
    """rgb * (1 - alpha) + color * alpha, rounded. OpenCV's blendLinear does it in one pass, about
    six times faster than the same arithmetic in float numpy arrays."""
    solid = np.empty_like(rgb)
    solid[0] = color
    solid[1:] = solid[0]
    a = np.ascontiguousarray(alpha, np.float32)
    return cv2.blendLinear(np.ascontiguousarray(rgb), solid, 1.0 - a, a)


def add_watermark(rgb: np.ndarray, text: str, *, size: int = 20, opacity: float = 0.5, angle: float = 30,
                  color: str = "#000000", space: int = 25) -> np.ndarray:
    """The HivisionIDPhotos watermark: ``text`` at ``size`` px, repeated over the whole photo with ``space`` px
    between copies, rotated ``angle`` degrees (counter-clockwise), blended in ``color`` at ``opacity``.
    The photo keeps its size. A text wider than the photo's diagonal at ``size`` is cut to it."""
    _check_rgb(rgb)
    if not isinstance(text, str) or not text.strip():
        raise CheckerError("INVALID_ARGUMENT", "text must be a non-empty string")
    # A tiled watermark is one line: line breaks of any kind (\n, NEL, ...) become spaces (the text
    # layout measures and shapes one line; a break inside it is an error there).
    text = " ".join(text.splitlines())
    size = int(_number(size, "size", 1, 1000))
    opacity = _number(opacity, "opacity", 0, 1)
    angle = _number(angle, "angle", -3600, 3600)
    space = int(_number(space, "space", 0, 10000))
    col = _color(color, "color")
    if opacity == 0:
        return rgb.copy()
    text = _within(text, size, math.hypot(*rgb.shape[:2]))
    alpha = _tiled(_text_mask(text, size)[0], space, rgb.shape[:2], angle) * opacity
    return _blend(rgb, alpha, col)


def preview_watermark(rgb: np.ndarray, text: str = DEFAULT_PREVIEW_TEXT) -> np.ndarray:
    """Seed 002's preview=1: "PREVIEW" tiled across the photo in white with a dark outline, so it
    shows on light and dark backgrounds alike; the words are about a ninth of the short side high."""
    _check_rgb(rgb)
    h, w = rgb.shape[:2]
    size = max(10, round(min(h, w) / 9))
    stroke = max(1, round(size / 14))
    fill, outline = _text_mask(text, size, stroke)
    out = _blend(rgb, _tiled(outline, size, (h, w), 30) * 0.6, (40, 40, 40))
    return _blend(out, _tiled(fill, size, (h, w), 30) * 0.75, (255, 255, 255))


# ---------------------------------------------------------------- bottom label


@dataclass(frozen=True)
class TextFit:
    """How a line of text fits a box: the font size used and the text actually drawn."""

    font_size: int
    text: str
    truncated: bool


def fit_text(text: str, width: int, height: int) -> TextFit:
    """The largest font size (up to 70% of ``height``) at which one line of ``text`` fits
    ``width`` x ``height``; below LABEL_MIN_FONT px the text is cut and ends in an ellipsis."""
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))

    def extent(t: str, s: int) -> tuple[int, int]:
        x0, y0, x1, y1 = probe.textbbox((0, 0), t, font=get_font(s))
        asc, desc = get_font(s).getmetrics()
        return int(x1 - x0), max(int(y1 - y0), asc + desc)  # ints already: the stubs say float

    size = max(1, int(height * 0.7))
    while size > LABEL_MIN_FONT:
        tw, th = extent(text, size)
        if tw <= width and th <= height:
            return TextFit(size, text, False)
        # Jump close to the fitting size, then step; the width scales about linearly with size.
        guess = int(size * min(width / max(tw, 1), height / max(th, 1)))
        size = max(LABEL_MIN_FONT, min(size - 1, guess))
    size = max(1, min(LABEL_MIN_FONT, int(height * 0.9)))
    if extent(text, size)[0] <= width:
        return TextFit(size, text, False)
    cut = text
    while cut and extent(cut + "…", size)[0] > width:
        cut = cut[:-1]
    return TextFit(size, (cut + "…") if cut else "", True)


def add_label(rgb: np.ndarray, text: str, *, height: int = 30, color: str = "#000000",
              bg_color: str = "#FFFFFF") -> np.ndarray:
    """Seed 002's bottom label: a ``height`` px strip in ``bg_color`` over the bottom of the photo
    with ``text`` centred in ``color``. The photo keeps its pixel size (portals check it) and
    nothing above the strip moves: the strip covers the bottom rows rather than shrinking the
    photo, so head size and eye line stay where the crop put them. The text is one line (line
    breaks become spaces), as large as the strip allows, smaller when it is long, and cut with
    an ellipsis only when even LABEL_MIN_FONT px does not fit."""
    _check_rgb(rgb)
    h, w = rgb.shape[:2]
    if isinstance(height, bool) or not isinstance(height, int | np.integer) or not 1 <= height <= h // 2:
        raise CheckerError("INVALID_ARGUMENT",
                           f"label height must be 1 to {h // 2} px (half the photo), not {height!r}")
    if not isinstance(text, str):
        raise CheckerError("INVALID_ARGUMENT", "label text must be a string")
    fg, bg = _color(color, "label color"), _color(bg_color, "label background")
    height = int(height)
    line = " ".join(text.replace("\\n", "\n").split())
    out = rgb.copy()
    out[h - height:] = bg
    if not line:
        return out
    pad = max(2, height // 8)
    fit = fit_text(line, max(1, w - 2 * pad), max(1, height - 2))
    if not fit.text:
        return out
    strip = Image.fromarray(out[h - height:])
    ImageDraw.Draw(strip).text((w / 2, height / 2), fit.text, font=get_font(fit.font_size), fill=fg, anchor="mm")
    out[h - height:] = np.asarray(strip)
    return out
