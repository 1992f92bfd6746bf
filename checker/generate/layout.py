"""Print sheets: as many copies of one photo as fit on 5-inch, 6-inch, A4 or custom paper.

Copies sit on a regular grid with cutting gaps; the grid may turn every photo by 90 degrees when
that fits more (a photo is never mirrored). A QR code and a text label take their own strip of
the sheet, so they never cover a photo. Zero copies is an error, never an empty sheet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from ..colors import parse_color
from ..errors import CheckerError

INCH = 25.4
# Papers in millimetres, portrait (width, height): photo paper 3.5 x 5 in and 4 x 6 in, and A4.
PAPERS: dict[str, tuple[float, float]] = {
    "5inch": (3.5 * INCH, 5 * INCH),
    "6inch": (4 * INCH, 6 * INCH),
    "a4": (210.0, 297.0),
}
MARGIN_MM = 2.0  # free border of the sheet
GAP_MM = 2.0  # between copies: room to cut, and for crop marks
DEFAULT_CANVAS = "#EEEEEE"  # seed 002: gray by default
MARK_MM = 1.5  # crop mark length
MARK_COLOR = (60, 60, 60)


@dataclass(frozen=True)
class Grid:
    cols: int
    rows: int
    rotated: bool

    @property
    def copies(self) -> int:
        return self.cols * self.rows


def paper_px(paper: str | tuple[float, float], dpi: int, vertical: bool) -> tuple[int, int]:
    """Sheet size in pixels (width, height); horizontal (landscape) unless ``vertical``."""
    if isinstance(paper, str):
        key = paper.strip().lower().replace(" ", "").replace("-", "")
        if key not in PAPERS:
            raise CheckerError("INVALID_ARGUMENT", f"paper {paper!r} is not one of {', '.join(PAPERS)} or (w_mm, h_mm)")
        w_mm, h_mm = PAPERS[key]
    else:
        try:
            w_mm, h_mm = (float(v) for v in paper)
        except (TypeError, ValueError):
            raise CheckerError("INVALID_ARGUMENT", f"paper {paper!r} is not (width_mm, height_mm)") from None
        if not (10 <= w_mm <= 1000 and 10 <= h_mm <= 1000):
            raise CheckerError("INVALID_ARGUMENT", "a custom paper must be 10-1000 mm on each side")
        w_mm, h_mm = min(w_mm, h_mm), max(w_mm, h_mm)
    w, h = round(w_mm / INCH * dpi), round(h_mm / INCH * dpi)
    return (w, h) if vertical else (h, w)


def best_grid(area_w: int, area_h: int, photo_w: int, photo_h: int, gap: int) -> Grid:
    """The regular grid with the most copies; turned photos only when that fits more."""
    def grid(pw: int, ph: int, rotated: bool) -> Grid:
        cols = max(0, (area_w + gap) // (pw + gap))
        rows = max(0, (area_h + gap) // (ph + gap))
        return Grid(cols, rows, rotated)

    upright = grid(photo_w, photo_h, False)
    turned = grid(photo_h, photo_w, True)
    return turned if turned.copies > upright.copies else upright


def _qr(data: str, size: int) -> np.ndarray:
    import qrcode

    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(data)
    code.make(fit=True)
    img = np.asarray(code.make_image(fill_color="black", back_color="white").convert("RGB"))
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_NEAREST)


def layout_sheet(photo: np.ndarray, *, photo_mm: tuple[float, float] | None = None, dpi: int = 300,
                 paper: str | tuple[float, float] = "6inch", vertical: bool = False, canvas_color: str | None = None,
                 crop_marks: bool = False, qr_data: str | None = None, qr_size: int = 290,
                 label_text: str | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    """A sheet (RGB uint8) holding as many copies of ``photo`` as fit, and what was placed.

    ``photo_mm``: the printed size (default: the photo's pixels at ``dpi``). The photo is scaled
    uniformly to it; a photo whose shape does not match it is refused rather than stretched.
    """
    if photo.ndim != 3 or photo.shape[2] != 3:
        raise CheckerError("INVALID_ARGUMENT", "the photo must be an RGB image")
    if not 10 <= dpi <= 1200:
        raise CheckerError("INVALID_ARGUMENT", f"dpi must be 10-1200, got {dpi}")
    ph0, pw0 = photo.shape[:2]
    if photo_mm:
        pw, ph = (round(v / INCH * dpi) for v in photo_mm)
        if pw < 1 or ph < 1 or abs(pw / ph - pw0 / ph0) > 0.015 * (pw0 / ph0):
            raise CheckerError("INVALID_ARGUMENT",
                               f"a {pw0}x{ph0} px photo cannot print at {photo_mm[0]:g}x{photo_mm[1]:g} mm "
                               "without stretching")
        if (pw, ph) != (pw0, ph0):
            interp = cv2.INTER_AREA if pw < pw0 else cv2.INTER_CUBIC
            photo = cv2.resize(photo, (pw, ph), interpolation=interp)
    else:
        pw, ph = pw0, ph0
    sheet_w, sheet_h = paper_px(paper, dpi, vertical)
    px_mm = dpi / INCH
    margin, gap = round(MARGIN_MM * px_mm), round(GAP_MM * px_mm)
    canvas = np.asarray(parse_color(canvas_color or DEFAULT_CANVAS), np.uint8)
    area = [margin, margin, sheet_w - margin, sheet_h - margin]  # x0, y0, x1, y1 left for photos
    label = _label_block(label_text, sheet_w - 2 * margin, dpi) if label_text else None
    if label is not None:
        area[3] -= label.shape[0] + gap
    qr = None
    if qr_data:
        if not 20 <= qr_size <= min(sheet_w, sheet_h) - 2 * margin:
            raise CheckerError("INVALID_ARGUMENT", f"the QR code must be 20-{min(sheet_w, sheet_h) - 2 * margin} px")
        qr = _qr(qr_data, qr_size)
        area, qr_at = _reserve_qr(area, qr_size, gap, pw, ph)
    grid = best_grid(area[2] - area[0], area[3] - area[1], pw, ph, gap)
    if grid.copies == 0:
        raise CheckerError("PHOTO_TOO_BIG_FOR_PAPER",
                           f"a {pw}x{ph} px photo does not fit on {paper} paper at {dpi} dpi"
                           + (" with the QR code and label" if qr is not None or label is not None else ""))
    tile = np.ascontiguousarray(np.rot90(photo, k=-1)) if grid.rotated else photo  # a turn, never a mirror
    th, tw = tile.shape[:2]
    used_w = grid.cols * tw + (grid.cols - 1) * gap
    used_h = grid.rows * th + (grid.rows - 1) * gap
    x0 = area[0] + (area[2] - area[0] - used_w) // 2
    y0 = area[1] + (area[3] - area[1] - used_h) // 2
    sheet = np.empty((sheet_h, sheet_w, 3), np.uint8)
    sheet[:] = canvas
    positions = []
    for r in range(grid.rows):
        for c in range(grid.cols):
            x, y = x0 + c * (tw + gap), y0 + r * (th + gap)
            sheet[y:y + th, x:x + tw] = tile
            positions.append((x, y))
    if crop_marks:
        _draw_marks(sheet, positions, tw, th, max(2, round(MARK_MM * px_mm)), max(1, round(dpi / 300)))
    if qr is not None:
        qx, qy = qr_at
        sheet[qy:qy + qr_size, qx:qx + qr_size] = qr
    if label is not None:
        ly = sheet_h - margin - label.shape[0]
        block = sheet[ly:ly + label.shape[0], margin:margin + label.shape[1]]
        sheet[ly:ly + label.shape[0], margin:margin + label.shape[1]] = np.minimum(block, label)
    info = {"copies": grid.copies, "rows": grid.rows, "cols": grid.cols, "rotated": grid.rotated,
            "paper_px": [sheet_w, sheet_h], "photo_px": [pw, ph], "positions": positions,
            "qr": list(qr_at) + [qr_size, qr_size] if qr is not None else None}
    return sheet, info


def _reserve_qr(area: list[int], size: int, gap: int, pw: int, ph: int) -> tuple[list[int], tuple[int, int]]:
    """Give the QR code a strip along the right or the bottom edge, whichever leaves more copies."""
    x0, y0, x1, y1 = area
    right = [x0, y0, x1 - size - gap, y1]
    bottom = [x0, y0, x1, y1 - size - gap]
    n_right = best_grid(right[2] - right[0], right[3] - right[1], pw, ph, gap).copies
    n_bottom = best_grid(bottom[2] - bottom[0], bottom[3] - bottom[1], pw, ph, gap).copies
    if n_right >= n_bottom:
        return right, (x1 - size, y1 - size)
    return bottom, (x1 - size, y1 - size)


def _label_block(text: str, width: int, dpi: int) -> np.ndarray:
    """Dark text on white (multiplied onto the sheet), one line per \\n, about 3 mm high."""
    from PIL import Image, ImageDraw

    from .watermark import get_font

    lines = text.replace("\\n", "\n").split("\n")[:6]
    size = max(10, round(3.0 / INCH * dpi))
    font = get_font(size)
    line_h = math.ceil(size * 1.3)
    img = Image.new("RGB", (width, line_h * len(lines)), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    for i, line in enumerate(lines):
        draw.text((0, i * line_h), line, fill=(30, 30, 30), font=font)
    return np.asarray(img)


def _draw_marks(sheet: np.ndarray, positions: list[tuple[int, int]], tw: int, th: int, length: int,
                thick: int) -> None:
    """Short lines continuing each photo's edges outward from its corners, in the gaps."""
    h, w = sheet.shape[:2]
    for x, y in positions:
        for cx, dx in ((x, -1), (x + tw - 1, 1)):
            for cy, dy in ((y, -1), (y + th - 1, 1)):
                # horizontal mark beside the corner, vertical mark above/below it
                xs = sorted((cx + dx, cx + dx * length))
                ys = sorted((cy + dy, cy + dy * length))
                sheet[max(0, cy - thick // 2):min(h, cy + thick - thick // 2), max(0, xs[0]):min(w, xs[1] + 1)] = \
                    MARK_COLOR
                sheet[max(0, ys[0]):min(h, ys[1] + 1), max(0, cx - thick // 2):min(w, cx + thick - thick // 2)] = \
                    MARK_COLOR
