"""Print sheets: copies per paper worked out by hand, no mirroring, crop marks, QR code, label."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from checker.errors import CheckerError
from checker.generate.layout import MARK_COLOR, layout_sheet

# At 300 dpi: margins and gaps are 2 mm = 24 px. Landscape sheets: 5-inch 1500 x 1050, 6-inch
# 1800 x 1200, A4 3508 x 2480 (so the photo area is 48 px smaller each way). Photos: 1-inch 25 x 35
# mm = 295 x 413 px, 2-inch 35 x 49 mm = 413 x 579 px, 5-inch 89 x 127 mm = 1051 x 1500 px.
# Copies per row = (area width + gap) // (photo width + gap), likewise rows; a turned grid wins only
# when it holds more. E.g. 1-inch on 6-inch: upright 5 x 2 = 10, turned 4 x 3 = 12 -> 12 turned.
CASES = [
    ("1inch", (25, 35), "6inch", 12, True),
    ("2inch", (35, 49), "6inch", 4, False),  # upright 4 x 1 = 4 = turned 2 x 2: a tie stays upright
    ("5inch", (89, 127), "6inch", 1, True),
    ("1inch", (25, 35), "5inch", 9, True),  # upright 4 x 2 = 8, turned 3 x 3 = 9
    ("2inch", (35, 49), "5inch", 4, True),  # upright 3 x 1, turned 2 x 2
    ("1inch", (25, 35), "a4", 50, False),  # upright 10 x 5 = 50, turned 7 x 7 = 49
    ("2inch", (35, 49), "a4", 28, False),  # upright 7 x 4 = 28, turned 5 x 5 = 25
    ("5inch", (89, 127), "a4", 4, True),  # upright 3 x 1 = 3, turned 2 x 2 = 4
]


def marked_photo(w: int, h: int) -> np.ndarray:
    """Asymmetric: a gradient and a red block in the top-left corner (a mirror or a wrong turn shows)."""
    x = np.linspace(0, 200, w, dtype=np.float32)[None, :]
    y = np.linspace(0, 120, h, dtype=np.float32)[:, None]
    img = np.stack([np.broadcast_to(x, (h, w)), np.broadcast_to(y, (h, w)), np.full((h, w), 60.0)], -1)
    img = img.astype(np.uint8)
    img[: h // 5, : w // 4] = (255, 0, 0)
    return img


def photo_at(size_mm: tuple[float, float]) -> np.ndarray:
    return marked_photo(round(size_mm[0] / 25.4 * 300), round(size_mm[1] / 25.4 * 300))


@pytest.mark.parametrize(("label", "mm", "paper", "copies", "rotated"), CASES)
def test_copies_per_paper(label, mm, paper, copies, rotated):
    photo = photo_at(mm)
    sheet, info = layout_sheet(photo, photo_mm=mm, dpi=300, paper=paper)
    assert info["copies"] == copies and info["rotated"] is rotated
    tile = np.rot90(photo, k=-1) if rotated else photo
    th, tw = tile.shape[:2]
    for x, y in info["positions"]:
        placed = sheet[y:y + th, x:x + tw]
        assert np.array_equal(placed, tile)  # the photo itself, or turned clockwise
        assert not np.array_equal(placed, tile[:, ::-1])  # never a mirror


def test_a_photo_too_big_for_the_paper_is_an_error():
    with pytest.raises(CheckerError) as info:
        layout_sheet(photo_at((89, 127)), photo_mm=(89, 127), dpi=300, paper="5inch")
    assert info.value.status == "PHOTO_TOO_BIG_FOR_PAPER"


def test_vertical_sheet_and_custom_paper():
    sheet, info = layout_sheet(photo_at((25, 35)), photo_mm=(25, 35), paper="6inch", vertical=True)
    assert sheet.shape[:2] == (1800, 1200)
    sheet, info = layout_sheet(photo_at((25, 35)), photo_mm=(25, 35), paper=(100, 150))
    assert info["paper_px"] == [round(150 / 25.4 * 300), round(100 / 25.4 * 300)]


def test_photo_is_scaled_uniformly_or_refused():
    photo = marked_photo(590, 826)  # 2x a 1-inch photo
    sheet, info = layout_sheet(photo, photo_mm=(25, 35), paper="6inch")
    assert info["photo_px"] == [295, 413]
    with pytest.raises(CheckerError) as e:
        layout_sheet(marked_photo(400, 400), photo_mm=(25, 35), paper="6inch")
    assert e.value.status == "INVALID_ARGUMENT" and "stretch" in e.value.message


def test_crop_marks_only_when_asked():
    photo = photo_at((25, 35))
    plain, info = layout_sheet(photo, photo_mm=(25, 35), paper="6inch", canvas_color="#FFFFFF")
    marked, _ = layout_sheet(photo, photo_mm=(25, 35), paper="6inch", canvas_color="#FFFFFF", crop_marks=True)
    x, y = info["positions"][0]
    corner = (slice(y - 20, y), slice(x - 20, x + 1))
    assert not (plain[corner] == MARK_COLOR).all(axis=-1).any()
    assert (marked[corner] == MARK_COLOR).all(axis=-1).any()


def test_qr_code_is_readable_and_covers_no_photo():
    photo = photo_at((25, 35))
    sheet, info = layout_sheet(photo, photo_mm=(25, 35), paper="6inch", qr_data="https://example.org/order/42",
                               qr_size=290, canvas_color="#FFFFFF")
    qx, qy, qw, qh = info["qr"]
    data, _, _ = cv2.QRCodeDetector().detectAndDecode(np.ascontiguousarray(sheet[qy - 10:qy + qh + 10,
                                                                                 qx - 10:qx + qw + 10]))
    assert data == "https://example.org/order/42"
    tw, th = (info["photo_px"][::-1] if info["rotated"] else info["photo_px"])
    for x, y in info["positions"]:
        assert x + tw <= qx or y + th <= qy  # no photo reaches into the QR square
    assert info["copies"] >= 8


def test_label_text_is_drawn_below_the_photos():
    photo = photo_at((25, 35))
    plain, info = layout_sheet(photo, photo_mm=(25, 35), paper="6inch", canvas_color="#FFFFFF")
    labelled, info2 = layout_sheet(photo, photo_mm=(25, 35), paper="6inch", canvas_color="#FFFFFF",
                                   label_text="Order 42\\nPlease cut along the marks")
    strip = labelled[-80:-24]
    assert (strip < 128).any() and not (plain[-80:-24] < 128).any()
    lowest = max(y for _, y in info2["positions"]) + (info2["photo_px"][0] if info2["rotated"] else
                                                       info2["photo_px"][1])
    assert lowest <= labelled.shape[0] - 80
