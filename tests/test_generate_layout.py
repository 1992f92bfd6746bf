"""Print sheets: copies per paper worked out by hand, no mirroring, crop marks, QR code, label."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from checker.errors import CheckerError
from checker.generate.layout import MARK_COLOR, layout_sheet

# Geometry at 300 dpi. Margins and gaps are 2 mm = 24 px. Landscape sheets: 5-inch 1500 x 1050,
# 6-inch 1800 x 1200, A4 3508 x 2480, so the printable areas are 1452 x 1002, 1752 x 1152 and
# 3460 x 2432. Photos: 1-inch 25 x 35 mm = 295 x 413 px, 2-inch 35 x 49 mm = 413 x 579 px, 5-inch
# 89 x 127 mm = 1051 x 1500 px; turned, width and height swap.
# Copies across a length L: n(L, s) = (L + 24) // (s + 24).
#
# One grid ("uniform"):
#   1-inch 5-inch : upright n(1452,295)=4 x n(1002,413)=2 = 8;   turned n(1452,413)=3 x n(1002,295)=3 = 9
#   1-inch 6-inch : upright 5 x 2 = 10;                           turned n(1752,413)=4 x n(1152,295)=3 = 12
#   1-inch A4     : upright n(3460,295)=10 x n(2432,413)=5 = 50;  turned 7 x 7 = 49
#   2-inch 5-inch : upright n(1452,413)=3 x n(1002,579)=1 = 3;    turned 2 x 2 = 4
#   2-inch 6-inch : upright 4 x 1 = 4;                            turned 2 x 2 = 4 (a tie stays upright)
#   2-inch A4     : upright 7 x 4 = 28;                           turned 5 x 5 = 25
#   5-inch 6-inch : upright needs 1500 <= 1152: no;               turned 1 x 1 = 1
#   5-inch A4     : upright 3 x 1 = 3;                            turned 2 x 2 = 4
#   5-inch 5-inch : 1500 px does not fit 1452 x 1002 either way round: refused
# Two grids (the strip a grid leaves is filled with copies turned the other way):
#   1-inch 6-inch : one upright row of 5 (413 px + gap = 437 high); below it 1152 - 437 = 715 px:
#                   turned rows n(715,295)=2 of n(1752,413)=4 -> 5 + 8 = 13 (beats 12)
#   1-inch A4     : 4 upright columns (4 x 319 = 1276 px wide) of 5 = 20; right of them 3460 - 1276 =
#                   2184 px: turned n(2184,413)=5 columns x n(2432,295)=7 rows = 35 -> 55 (beats 50)
#   2-inch 6-inch : one upright row of 4 (579 + 24 = 603 high); below 1152 - 603 = 549 px: turned
#                   n(549,413)=1 row of n(1752,579)=2 -> 4 + 2 = 6 (beats 4)
#   2-inch A4     : 5 upright columns (5 x 437 = 2185 px) of 4 = 20; right of them 3460 - 2185 = 1275
#                   px: turned n(1275,579)=2 x n(2432,413)=5 = 10 -> 30 (beats 28)
#   The others gain nothing: e.g. 1-inch 5-inch turned 3 x 3 leaves 1452 - 1287 = 165 px across and
#   1002 - 933 = 69 px down, too little for a copy either way round.
CASES = [  # photo mm, paper, copies, copies with mixed=False, first grid turned
    ((25, 35), "5inch", 9, 9, True),
    ((25, 35), "6inch", 13, 12, False),
    ((25, 35), "a4", 55, 50, False),
    ((35, 49), "5inch", 4, 4, True),
    ((35, 49), "6inch", 6, 4, False),
    ((35, 49), "a4", 30, 28, False),
    ((89, 127), "6inch", 1, 1, True),
    ((89, 127), "a4", 4, 4, True),
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


def copies_are_the_photo(sheet: np.ndarray, info: dict, tile: np.ndarray) -> None:
    """Every placed copy is the photo or the photo turned a quarter clockwise, never a mirror."""
    turned = np.rot90(tile, k=-1)
    for x, y, w, h, rot in info["placements"]:
        placed = sheet[y:y + h, x:x + w]
        want = turned if rot else tile
        assert placed.shape == want.shape and np.array_equal(placed, want)
        for wrong in (want[:, ::-1], want[::-1], np.rot90(want, 2)):
            assert not np.array_equal(placed, wrong)


def boxes_overlap(a, b, pad: int = 0) -> bool:
    ax, ay, aw, ah = a[:4]
    bx, by, bw, bh = b[:4]
    return ax < bx + bw + pad and bx < ax + aw + pad and ay < by + bh + pad and by < ay + ah + pad


@pytest.mark.parametrize(("mm", "paper", "copies", "uniform", "turned"), CASES)
def test_copies_per_paper(mm, paper, copies, uniform, turned):
    photo = photo_at(mm)
    sheet, info = layout_sheet(photo, photo_mm=mm, dpi=300, paper=paper)
    assert info["copies"] == copies == len(info["placements"]) and info["rotated"] is turned
    copies_are_the_photo(sheet, info, photo)
    # Inside the margins, no two copies closer than a gap.
    w, h = info["paper_px"]
    boxes = info["placements"]
    for i, a in enumerate(boxes):
        assert a[0] >= 24 and a[1] >= 24 and a[0] + a[2] <= w - 24 and a[1] + a[3] <= h - 24
        assert not any(boxes_overlap(a, b, 24 - 1) for b in boxes[i + 1:])
    _, one_grid = layout_sheet(photo, photo_mm=mm, dpi=300, paper=paper, mixed=False)
    assert one_grid["copies"] == uniform and one_grid["extra"] == 0
    assert len({p[4] for p in one_grid["placements"]}) == 1  # all the same way round


def test_real_photos_are_turned_never_mirrored(face_rgb):
    photo = cv2.resize(face_rgb("hivision_idphoto_0.jpg"), (413, 579), interpolation=cv2.INTER_AREA)
    sheet, info = layout_sheet(photo, photo_px=(413, 579), paper="6inch")
    assert info["copies"] == 6 and {p[4] for p in info["placements"]} == {False, True}
    copies_are_the_photo(sheet, info, photo)


def test_a_photo_too_big_for_the_paper_is_an_error():
    for vertical in (False, True):
        with pytest.raises(CheckerError) as info:
            layout_sheet(photo_at((89, 127)), photo_mm=(89, 127), dpi=300, paper="5inch", vertical=vertical)
        assert info.value.status == "PHOTO_TOO_BIG_FOR_PAPER"


def test_vertical_sheet_and_custom_paper():
    sheet, info = layout_sheet(photo_at((25, 35)), photo_mm=(25, 35), paper="6inch", vertical=True)
    assert sheet.shape[:2] == (1800, 1200) and info["copies"] == 13  # the same area turned: same count
    sheet, info = layout_sheet(photo_at((25, 35)), photo_mm=(25, 35), paper=(100, 150))
    assert info["paper_px"] == [round(150 / 25.4 * 300), round(100 / 25.4 * 300)]
    with pytest.raises(CheckerError) as e:
        layout_sheet(photo_at((25, 35)), paper="letter")
    assert e.value.status == "INVALID_ARGUMENT"


def test_photo_size_in_px_and_the_same_count_at_another_dpi():
    photo = marked_photo(590, 826)  # 2x a 1-inch photo
    _, at_px = layout_sheet(photo, photo_px=(295, 413), paper="6inch")
    _, at_mm = layout_sheet(photo, photo_mm=(25, 35), paper="6inch")
    assert at_px["photo_px"] == at_mm["photo_px"] == [295, 413] and at_px["copies"] == at_mm["copies"] == 13
    sheet, at_600 = layout_sheet(photo, photo_mm=(25, 35), dpi=600, paper="6inch")
    assert sheet.shape[:2] == (2400, 3600) and at_600["copies"] == 13


def test_photo_is_scaled_uniformly_or_refused():
    photo = marked_photo(590, 826)
    sheet, info = layout_sheet(photo, photo_mm=(25, 35), paper="6inch")
    assert info["photo_px"] == [295, 413]
    with pytest.raises(CheckerError) as e:
        layout_sheet(marked_photo(400, 400), photo_mm=(25, 35), paper="6inch")
    assert e.value.status == "INVALID_ARGUMENT" and "stretch" in e.value.message


def test_crop_marks_only_when_asked():
    photo = photo_at((25, 35))
    plain, info = layout_sheet(photo, photo_mm=(25, 35), paper="6inch", canvas_color="#FFFFFF")
    marked, info2 = layout_sheet(photo, photo_mm=(25, 35), paper="6inch", canvas_color="#FFFFFF", crop_marks=True)
    assert info2["placements"] == info["placements"]
    length = 11  # 1.5 mm = 18 px, capped at half a gap less one (11 px) so neighbours' marks never meet
    for x, y, w, h, _ in info["placements"]:
        # The top-left corner's marks continue the top edge leftwards and the left edge upwards;
        # the bottom-right corner's continue the bottom edge rightwards and the right edge downwards.
        for region in (marked[y, x - length:x], marked[y - length:y, x],
                       marked[y + h - 1, x + w:x + w + length], marked[y + h:y + h + length, x + w - 1]):
            assert (region == MARK_COLOR).all()
        for region in (plain[y, x - length:x], plain[y - length:y, x]):
            assert (region == 255).all()
    copies_are_the_photo(marked, info2, photo)  # no mark reaches into a copy
    outside = np.ones(plain.shape[:2], bool)
    for x, y, w, h, _ in info["placements"]:
        outside[y:y + h, x:x + w] = False
    assert (plain[outside] == 255).all()  # without marks the canvas is untouched


def test_qr_code_is_readable_where_reported_and_costs_one_copy():
    photo = photo_at((25, 35))
    data = "https://example.org/order/42"
    sheet, info = layout_sheet(photo, photo_mm=(25, 35), paper="6inch", qr_data=data, qr_size=290)
    qx, qy, qw, qh = info["qr"]
    assert (qw, qh) == (290, 290)
    # The reported box holds the whole code, quiet zone included: decoding that crop alone works.
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(np.ascontiguousarray(sheet[qy:qy + qh, qx:qx + qw]))
    assert text == data
    assert (sheet[qy, qx:qx + qw] == 255).all() and (sheet[qy + qh - 1, qx:qx + qw] == 255).all()
    for p in info["placements"]:
        assert not boxes_overlap(p, info["qr"], 24 - 1)
    copies_are_the_photo(sheet, info, photo)
    # Without the QR the best is 13 (one upright row of 5, two turned rows of 4; see CASES). That
    # arrangement leaves 1752 - 1571 = 181 px right of the upright row and 1152 - 1051 = 101 px under
    # the turned rows: no room for 290 px, so the QR square in a corner displaces one copy: 12.
    assert info["copies"] == 12


def test_label_text_lines_are_drawn_beside_the_photos():
    photo = photo_at((25, 35))
    one, info1 = layout_sheet(photo, photo_mm=(25, 35), paper="6inch", canvas_color="#FFFFFF",
                              label_text="Order 42")
    two, info2 = layout_sheet(photo, photo_mm=(25, 35), paper="6inch", canvas_color="#FFFFFF",
                              label_text="Order 42\\nPlease cut along the marks")
    for sheet, info in ((one, info1), (two, info2)):
        lx, ly, lw, lh = info["label"]
        assert (sheet[ly:ly + lh, lx:lx + lw] < 128).any()  # text drawn where reported
        for p in info["placements"]:
            assert not boxes_overlap(p, info["label"], 24 - 1)
    assert info2["label"][3] == 2 * info1["label"][3]  # two lines, twice the height
    assert info2["label"][2] > info1["label"][2]  # the longer second line is wider


def test_dark_canvas_gets_light_marks_and_text():
    photo = photo_at((25, 35))
    sheet, info = layout_sheet(photo, photo_mm=(25, 35), paper="5inch", canvas_color="#202020",
                               crop_marks=True, label_text="Order 42")
    x, y = info["positions"][0]
    assert (sheet[y, x - 5:x] > 200).all()
    lx, ly, lw, lh = info["label"]
    assert (sheet[ly:ly + lh, lx:lx + lw] > 200).any()


@pytest.mark.parametrize("kwargs", [dict(qr_data="x", qr_size=5000), dict(canvas_color="nope"), dict(dpi=5),
                                    dict(photo_mm=(25, 35), photo_px=(295, 413))])
def test_bad_arguments(kwargs):
    with pytest.raises(CheckerError) as e:
        layout_sheet(photo_at((25, 35)), paper="6inch", **kwargs)
    assert e.value.status == "INVALID_ARGUMENT"
