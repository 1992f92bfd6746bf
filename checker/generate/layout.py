"""Print sheets: as many copies of one photo as fit on 5-inch, 6-inch, A4 or custom paper.

Geometry is in pixels at the sheet's dpi. Copies sit GAP_MM apart inside a MARGIN_MM border (2 mm
each: room for a blade and for crop marks). The arrangement is the best of:

- one grid of upright copies, or of copies turned 90 degrees clockwise;
- two grids side by side or one above the other, one upright and one turned, so that the strip
  the first grid leaves over is filled by copies turned the other way (one straight cut still
  separates the two grids, so the sheet cuts like a plain grid).

Copies are turned (``np.rot90``), never mirrored. A QR code and a text label, when asked for, share
one block in a corner of the printable area: copies that would come within a gap of it are left
out, and the corner and grid anchoring that keep the most copies win. Without them the copies are
centred on the sheet. Zero copies is PHOTO_TOO_BIG_FOR_PAPER, never an empty sheet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw

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
DEFAULT_CANVAS = "#EEEEEE"  # seed 002: gray by default (a light one, cheap in ink, clear against photos)
MARK_MM = 1.5  # crop mark length, capped below half a gap so two neighbours' marks never meet
MARK_COLOR = (60, 60, 60)  # on light canvases; MARK_COLOR_ON_DARK on dark ones
MARK_COLOR_ON_DARK = (220, 220, 220)
LABEL_MM = 3.0  # label text size (about 8.5 pt)
LABEL_MAX_LINES = 6
QR_BORDER = 4  # modules of white quiet zone: the standard's minimum, which scanners rely on
MAX_SHEET_SIDE = 12000  # px; A4 at 1000 dpi is 8268 x 11693
MAX_SHEET_PIXELS = 100_000_000

Rect = tuple[int, int, int, int, bool]  # x, y, w, h, turned


def paper_px(paper: str | Sequence[float], dpi: int, vertical: bool) -> tuple[int, int]:
    """Sheet size in pixels (width, height); horizontal (landscape) unless ``vertical``. A custom
    paper (w_mm, h_mm) is turned the same way, whatever order its sides are given in."""
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
    if h > MAX_SHEET_SIDE or w * h > MAX_SHEET_PIXELS:
        raise CheckerError("INVALID_ARGUMENT", f"a {w}x{h} px sheet is too large: lower the dpi")
    return (w, h) if vertical else (h, w)


# ---------------------------------------------------------------- arrangement


def _fit(length: int, size: int, gap: int) -> int:
    """How many ``size`` px items with ``gap`` px between them fit in ``length`` px."""
    return (length + gap) // (size + gap) if length >= size else 0


def _grid(x0: int, y0: int, cols: int, rows: int, w: int, h: int, gap: int, turned: bool) -> list[Rect]:
    return [(x0 + c * (w + gap), y0 + r * (h + gap), w, h, turned) for r in range(rows) for c in range(cols)]


@dataclass(frozen=True)
class _Arrangement:
    rects: tuple[Rect, ...]  # relative to the printable area's top left
    rows: int  # of the first grid
    cols: int
    turned: bool  # the first grid's copies are turned
    extra: int  # copies in the second grid


def arrangements(area_w: int, area_h: int, photo_w: int, photo_h: int, gap: int,
                 mixed: bool = True) -> list[_Arrangement]:
    """Every candidate arrangement in an area_w x area_h px printable area, anchored top left."""
    out: list[_Arrangement] = []
    for turned in (False, True):
        w, h = (photo_h, photo_w) if turned else (photo_w, photo_h)
        cols, rows = _fit(area_w, w, gap), _fit(area_h, h, gap)
        if cols and rows:
            out.append(_Arrangement(tuple(_grid(0, 0, cols, rows, w, h, gap, turned)), rows, cols, turned, 0))
        if not mixed:
            continue
        # k columns this way round; the strip to their right holds copies the other way round.
        for k in range(1, cols + 1):
            sx = k * (w + gap)
            c2, r2 = _fit(area_w - sx, h, gap), _fit(area_h, w, gap)
            if c2 and r2 and rows:
                rects = _grid(0, 0, k, rows, w, h, gap, turned) + _grid(sx, 0, c2, r2, h, w, gap, not turned)
                out.append(_Arrangement(tuple(rects), rows, k, turned, c2 * r2))
        # k rows this way round; the strip below holds copies the other way round.
        for k in range(1, rows + 1):
            sy = k * (h + gap)
            c2, r2 = _fit(area_w, h, gap), _fit(area_h - sy, w, gap)
            if c2 and r2 and cols:
                rects = _grid(0, 0, cols, k, w, h, gap, turned) + _grid(0, sy, c2, r2, h, w, gap, not turned)
                out.append(_Arrangement(tuple(rects), k, cols, turned, c2 * r2))
    return out


def _rank(rects: Sequence[Rect], arr: _Arrangement) -> tuple[int, bool, int]:
    # Most copies; then one grid rather than two; then fewer turned copies (a tie stays upright).
    return len(rects), arr.extra == 0, -sum(1 for r in rects if r[4])


def _choose(area_w: int, area_h: int, photo_w: int, photo_h: int, gap: int, mixed: bool,
            block: tuple[int, int] | None) -> tuple[_Arrangement | None, list[Rect], tuple[int, int] | None]:
    """The best arrangement, its copies in printable-area coordinates and the corner (x, y) of the
    reserved block (QR code / label) when there is one."""
    cands = arrangements(area_w, area_h, photo_w, photo_h, gap, mixed)
    best: tuple[tuple[int, bool, int], _Arrangement, list[Rect], tuple[int, int] | None] | None = None
    if block is None:
        for arr in cands:
            rank = _rank(arr.rects, arr)
            if best is None or rank > best[0]:
                best = (rank, arr, list(arr.rects), None)
        if best is None:
            return None, [], None
        rects = best[2]
        # Centred on the sheet: even borders are easier to cut.
        dx = (area_w - max(r[0] + r[2] for r in rects)) // 2
        dy = (area_h - max(r[1] + r[3] for r in rects)) // 2
        return best[1], [(x + dx, y + dy, w, h, t) for x, y, w, h, t in rects], None
    bw, bh = block
    # Bottom right first, so that a tie keeps the block there and the copies from the top left.
    corners = [(area_w - bw, area_h - bh), (0, area_h - bh), (area_w - bw, 0), (0, 0)]
    for arr in cands:
        r = np.array([a[:4] for a in arr.rects], np.int64)
        for flip_x in (False, True):
            for flip_y in (False, True):
                # Anchoring the grid at another corner moves the copies, not the pixels inside them.
                x = area_w - r[:, 0] - r[:, 2] if flip_x else r[:, 0]
                y = area_h - r[:, 1] - r[:, 3] if flip_y else r[:, 1]
                for bx, by in corners:
                    clear = ((x + r[:, 2] + gap <= bx) | (x >= bx + bw + gap)
                             | (y + r[:, 3] + gap <= by) | (y >= by + bh + gap))
                    n = int(clear.sum())
                    if n == 0 or (best is not None and n < best[0][0]):
                        continue
                    rects = [(int(x[i]), int(y[i]), *arr.rects[i][2:]) for i in np.flatnonzero(clear)]
                    rank = _rank(rects, arr)
                    if best is None or rank > best[0]:
                        best = (rank, arr, rects, (bx, by))
    if best is None:
        return None, [], None
    return best[1], best[2], best[3]


# ---------------------------------------------------------------- pieces


def qr_image(data: str, size: int) -> np.ndarray:
    """A size x size RGB QR code, black on white, every module the same whole number of pixels
    (nearest-neighbour scaling to an arbitrary size makes uneven modules), quiet zone included."""
    import qrcode
    import qrcode.exceptions

    code = qrcode.QRCode(border=QR_BORDER, error_correction=qrcode.constants.ERROR_CORRECT_M)
    try:
        code.add_data(data)
        code.make(fit=True)
    except (ValueError, qrcode.exceptions.DataOverflowError) as exc:
        raise CheckerError("INVALID_ARGUMENT", f"the QR code data cannot be encoded: {exc}") from None
    modules = np.array(code.get_matrix(), bool)
    n = modules.shape[0]
    px = size // n
    if px < 1:
        raise CheckerError("INVALID_ARGUMENT", f"a {size} px QR code is too small for this data: it needs {n} px")
    out = np.full((size, size), 255, np.uint8)
    o = (size - n * px) // 2
    out[o:o + n * px, o:o + n * px] = np.where(np.kron(modules, np.ones((px, px), bool)), 0, 255)
    return np.repeat(out[:, :, None], 3, axis=2)


def _label_lines(text: str) -> list[str]:
    # Seed 002 writes line breaks as "\n"; a form field carries them as the two characters.
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").replace("\\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines[:LABEL_MAX_LINES]


def _label_image(lines: list[str], size: int, max_w: int, ink: tuple[int, int, int]) -> np.ndarray:
    """The label lines as an RGBA block (text opaque, the rest clear), the font shrunk until the
    widest line fits ``max_w``."""
    from .watermark import get_font

    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    while True:
        font = get_font(size)
        width = max(int(np.ceil(probe.textlength(ln, font=font))) for ln in lines)
        if width <= max_w or size <= 6:
            break
        size = max(6, min(size - 1, int(size * max_w / width)))
    asc, desc = font.getmetrics()
    line_h = int(round((asc + desc) * 1.15))
    img = Image.new("L", (max(1, min(width, max_w)), line_h * len(lines)), 0)
    draw = ImageDraw.Draw(img)
    for i, ln in enumerate(lines):
        draw.text((0, i * line_h), ln, fill=255, font=font)
    alpha = np.asarray(img)
    return np.dstack([np.broadcast_to(np.asarray(ink, np.uint8), (*alpha.shape, 3)), alpha])


def _draw_marks(sheet: np.ndarray, rects: Sequence[Rect], length: int, thick: int,
                color: tuple[int, int, int]) -> None:
    """Short lines continuing each copy's edges outward from its corners, in the gaps only."""
    for x, y, w, h, _ in rects:
        for cx, sx in ((x, -1), (x + w, 1)):
            for cy, sy in ((y, -1), (y + h, 1)):
                # Horizontal piece on the top/bottom edge line, beside the copy.
                ey = cy if sy < 0 else cy - thick
                xa, xb = (cx - length, cx) if sx < 0 else (cx, cx + length)
                sheet[ey:ey + thick, xa:xb] = color
                # Vertical piece on the left/right edge line, above/below the copy.
                ex = cx if sx < 0 else cx - thick
                ya, yb = (cy - length, cy) if sy < 0 else (cy, cy + length)
                sheet[ya:yb, ex:ex + thick] = color


def _sized_photo(photo: np.ndarray, pw: int, ph: int, what: str) -> np.ndarray:
    """The photo at pw x ph, scaled uniformly; a different shape is refused, not stretched."""
    ph0, pw0 = photo.shape[:2]
    if (pw, ph) == (pw0, ph0):
        return photo
    if abs(pw / ph - pw0 / ph0) > 0.015 * (pw0 / ph0):
        raise CheckerError("INVALID_ARGUMENT", f"a {pw0}x{ph0} px photo cannot print at {what} without stretching")
    interp = cv2.INTER_AREA if pw < pw0 else cv2.INTER_CUBIC
    return cv2.resize(photo, (pw, ph), interpolation=interp)


# ---------------------------------------------------------------- public API


def layout_sheet(photo: np.ndarray, *, photo_mm: Sequence[float] | None = None,
                 photo_px: Sequence[int] | None = None, dpi: int = 300, paper: str | Sequence[float] = "6inch",
                 vertical: bool = False, canvas_color: str | None = None, crop_marks: bool = False,
                 qr_data: str | None = None, qr_size: int = 290, label_text: str | None = None,
                 mixed: bool = True) -> tuple[np.ndarray, dict[str, Any]]:
    """A sheet (RGB uint8) holding as many copies of ``photo`` as fit, and what was placed.

    The printed size is ``photo_mm`` (width, height) or ``photo_px`` at ``dpi``, else the photo's own
    pixels; the photo is scaled uniformly to it (a different shape is refused, not stretched).
    ``paper``: "5inch", "6inch", "a4" or (w_mm, h_mm), landscape unless ``vertical``.
    ``canvas_color`` defaults to light gray. ``qr_data``/``qr_size`` (px) and ``label_text`` ("\\n"
    between lines) are seed 002's extras. ``mixed=False`` keeps every copy the same way round.

    The info dict (JSON-ready): copies; rows, cols and rotated of the first grid; extra (copies
    in the second grid, turned the other way); paper_px and photo_px as [w, h]; positions [[x, y]]
    and placements [[x, y, w, h, rotated]] of every copy; qr and label as [x, y, w, h] or None.
    """
    if not isinstance(photo, np.ndarray) or photo.dtype != np.uint8 or photo.ndim != 3 or photo.shape[2] != 3:
        raise CheckerError("INVALID_ARGUMENT", "the photo must be an RGB image (H x W x 3 uint8)")
    if isinstance(dpi, bool) or not isinstance(dpi, int | float) or not 10 <= dpi <= 1200:
        raise CheckerError("INVALID_ARGUMENT", f"dpi must be 10-1200, got {dpi!r}")
    dpi = int(round(dpi))
    if photo_mm is not None and photo_px is not None:
        raise CheckerError("INVALID_ARGUMENT", "give the photo size in mm or in px, not both")
    if photo_mm is not None:
        pw, ph = (round(float(v) / INCH * dpi) for v in photo_mm)
        what = f"{float(photo_mm[0]):g}x{float(photo_mm[1]):g} mm"
    elif photo_px is not None:
        pw, ph = (int(v) for v in photo_px)
        what = f"{pw}x{ph} px"
    else:
        ph, pw = photo.shape[:2]
        what = ""
    if pw < 1 or ph < 1:
        raise CheckerError("INVALID_ARGUMENT", f"a {pw}x{ph} px photo size is empty")
    tile = _sized_photo(photo, pw, ph, what)
    sheet_w, sheet_h = paper_px(paper, dpi, vertical)
    try:
        canvas = parse_color(canvas_color or DEFAULT_CANVAS)
    except (ValueError, TypeError) as exc:
        raise CheckerError("INVALID_ARGUMENT", f"canvas colour: {exc}") from None
    px_mm = dpi / INCH
    margin, gap = round(MARGIN_MM * px_mm), round(GAP_MM * px_mm)
    area_w, area_h = sheet_w - 2 * margin, sheet_h - 2 * margin
    light = sum(canvas) >= 3 * 110
    ink = (30, 30, 30) if light else (235, 235, 235)

    # The corner block: the QR code above the label lines, both centred in it.
    qr = label = None
    if qr_data:
        if isinstance(qr_size, bool) or not isinstance(qr_size, int) or not 21 <= qr_size <= min(area_w, area_h):
            raise CheckerError("INVALID_ARGUMENT", f"the QR code must be 21-{min(area_w, area_h)} px on this sheet")
        qr = qr_image(str(qr_data), qr_size)
    lines = _label_lines(label_text) if label_text else []
    if any(ln.strip() for ln in lines):
        label = _label_image(lines, max(6, round(LABEL_MM * px_mm)), area_w, ink)
    block = None
    if qr is not None or label is not None:
        bw = max(qr.shape[1] if qr is not None else 0, label.shape[1] if label is not None else 0)
        bh = sum(p.shape[0] for p in (qr, label) if p is not None)
        bh += gap if qr is not None and label is not None else 0
        if bw > area_w or bh > area_h:
            raise CheckerError("INVALID_ARGUMENT", "the QR code and label do not fit on this sheet")
        block = (bw, bh)

    arr, rects, corner = _choose(area_w, area_h, pw, ph, gap, mixed, block)
    if not rects:
        beside = block is not None and _choose(area_w, area_h, pw, ph, gap, mixed, None)[1]
        raise CheckerError("PHOTO_TOO_BIG_FOR_PAPER",
                           f"a {pw}x{ph} px photo does not fit on {paper} paper at {dpi} dpi "
                           f"({area_w}x{area_h} px inside the margins)"
                           + (" beside the QR code and label" if beside else ""))
    assert arr is not None
    rects = [(x + margin, y + margin, w, h, t) for x, y, w, h, t in rects]

    # Fill one row, then copy rows: broadcasting a 3-vector over every pixel is 50 times slower.
    sheet = np.empty((sheet_h, sheet_w, 3), np.uint8)
    sheet[0] = canvas
    sheet[1:] = sheet[0]
    turned = np.ascontiguousarray(np.rot90(tile, k=-1))  # a quarter turn clockwise: never a mirror
    for x, y, w, h, t in rects:
        sheet[y:y + h, x:x + w] = turned if t else tile
    if crop_marks:
        length = min(round(MARK_MM * px_mm), gap // 2 - 1, margin - 1)
        if length >= 2:
            _draw_marks(sheet, rects, length, max(1, round(dpi / 300)),
                        MARK_COLOR if light else MARK_COLOR_ON_DARK)

    qr_box = label_box = None
    if block is not None and corner is not None:
        bx, by = corner[0] + margin, corner[1] + margin
        if qr is not None:
            qx = bx + (block[0] - qr.shape[1]) // 2
            sheet[by:by + qr.shape[0], qx:qx + qr.shape[1]] = qr
            qr_box = [qx, by, qr.shape[1], qr.shape[0]]
            by += qr.shape[0] + gap
        if label is not None:
            lh, lw = label.shape[:2]
            lx = bx + (block[0] - lw) // 2
            a = label[:, :, 3:].astype(np.float32) / 255.0
            region = sheet[by:by + lh, lx:lx + lw].astype(np.float32)
            sheet[by:by + lh, lx:lx + lw] = (region * (1 - a) + label[:, :, :3] * a + 0.5).astype(np.uint8)
            label_box = [lx, by, lw, lh]

    info: dict[str, Any] = {
        "copies": len(rects), "rows": arr.rows, "cols": arr.cols, "rotated": arr.turned, "extra": arr.extra,
        "paper_px": [sheet_w, sheet_h], "photo_px": [pw, ph], "dpi": dpi,
        "positions": [[x, y] for x, y, *_ in rects],
        "placements": [[x, y, w, h, t] for x, y, w, h, t in rects],
        "qr": qr_box, "label": label_box,
    }
    return sheet, info
