"""File size: exact KB targets within 1% (or refused clearly), seed 002's window and quality, DPI."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from checker.errors import CheckerError
from checker.generate import filesize
from checker.imaging import load_photo

PHOTOS = ["hivision_idphoto_2.jpg", "hivision_test0.jpg", "obama.jpg"]


@pytest.fixture(scope="module")
def images(face_rgb):
    import cv2

    return {n: cv2.resize(face_rgb(n), (413, 531), interpolation=cv2.INTER_AREA) for n in PHOTOS}


def test_encode_writes_dpi_and_format(images):
    rgb = images[PHOTOS[0]]
    jpg = load_photo(filesize.encode(rgb, dpi=350, quality=90))
    assert jpg.format == "JPEG" and jpg.dpi == (350, 350)
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 200, np.uint8)])
    png = load_photo(filesize.encode(rgba, dpi=300))
    assert png.format == "PNG" and png.dpi == pytest.approx((300, 300), abs=0.5)
    assert np.array_equal(png.straight, rgb) and (png.alpha == 200).all()


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize("kb", [15, 30, 60, 120, 400])
def test_exact_kb_targets(images, name, kb):
    rgb = images[name]
    out = filesize.set_kb(rgb, kb, dpi=300)
    assert abs(len(out.data) - kb * 1024) <= 0.01 * kb * 1024
    photo = load_photo(out.data)
    assert (photo.width, photo.height) == (413, 531) and photo.dpi == (300, 300) and not out.resized
    if out.padding:  # grown by padding: the pixels are those of the encoded quality
        plain = Image.open(io.BytesIO(filesize.encode(rgb, dpi=300, quality=out.quality)))
        assert np.array_equal(photo.rgb, np.asarray(plain.convert("RGB")))


def test_an_impossible_target_is_refused_with_the_smallest_size(images):
    with pytest.raises(CheckerError) as info:
        filesize.set_kb(images[PHOTOS[1]], 2, dpi=300)
    assert info.value.status == "FILE_SIZE_UNREACHABLE" and "smallest" in info.value.message
    with pytest.raises(CheckerError) as info:
        filesize.set_kb(images[PHOTOS[1]], 16 * 1024, dpi=300)
    assert info.value.status == "FILE_SIZE_UNREACHABLE"


def test_resampling_only_when_allowed_and_uniform(images):
    out = filesize.set_kb(images[PHOTOS[1]], 3, dpi=300, allow_resize=True)
    assert out.resized and abs(len(out.data) - 3072) <= 31
    assert out.width / out.height == pytest.approx(413 / 531, abs=0.01)


@pytest.mark.parametrize(("lo", "hi"), [(40960, 122880), (10240, 20480), (200 * 1024, 300 * 1024)])
def test_seed_002_window(images, lo, hi):
    out = filesize.fit_file_size(images[PHOTOS[0]], dpi=300, min_file_size=lo, max_file_size=hi)
    assert lo <= len(out.data) <= hi


def test_quality_wins_over_the_window(images):
    out = filesize.fit_file_size(images[PHOTOS[0]], dpi=300, quality=40, min_file_size=10 ** 6)
    assert out.quality == 40 and len(out.data) < 10 ** 6


@pytest.mark.parametrize("bad", [dict(kb=0), dict(kb=-5), dict(kb="ten")])
def test_bad_targets(images, bad):
    with pytest.raises(CheckerError) as info:
        filesize.set_kb(images[PHOTOS[0]], bad["kb"])
    assert info.value.status == "INVALID_ARGUMENT"


@pytest.mark.parametrize("name", PHOTOS)
@pytest.mark.parametrize("kb", [20, 45, 90])
def test_the_search_keeps_all_the_quality_the_target_allows(images, name, kb):
    """Below quality 100 the chosen quality is the highest that fits: one step up would not."""
    rgb = images[name]
    out = filesize.set_kb(rgb, kb, dpi=300)
    assert len(out.data) == kb * 1024  # padding lands on the byte
    assert len(filesize.encode(rgb, dpi=300, quality=out.quality)) <= kb * 1024
    if out.quality < 100:
        assert len(filesize.encode(rgb, dpi=300, quality=out.quality + 1)) > kb * 1024


def test_the_smallest_size_is_named_exactly(images):
    rgb = images[PHOTOS[1]]
    smallest = len(filesize.encode(rgb, dpi=300, quality=1))
    with pytest.raises(CheckerError) as info:
        filesize.set_file_size(rgb, smallest - 1, dpi=300)
    assert str(smallest) in info.value.message
    assert len(filesize.set_file_size(rgb, smallest, dpi=300).data) == smallest  # the boundary is reachable


def test_window_moves_quality_only_as_far_as_needed(images):
    rgb = images[PHOTOS[0]]
    at92 = len(filesize.encode(rgb, dpi=300, quality=92))
    inside = filesize.fit_file_size(rgb, dpi=300, min_file_size=at92 // 2, max_file_size=at92 * 2)
    assert inside.quality == 92 and inside.padding == 0
    below = filesize.fit_file_size(rgb, dpi=300, max_file_size=at92 // 2)
    assert len(below.data) <= at92 // 2 < len(filesize.encode(rgb, dpi=300, quality=below.quality + 1))
    above = filesize.fit_file_size(rgb, dpi=300, min_file_size=at92 + 1)
    assert len(above.data) > at92 and above.quality > 92
    assert len(filesize.encode(rgb, dpi=300, quality=above.quality - 1)) < at92 + 1  # the lowest that reaches it


def test_png_targets_pad_with_a_skipped_chunk(images):
    rgba = np.dstack([images[PHOTOS[0]], np.full((531, 413), 255, np.uint8)])
    rgba[:50, :50, 3] = 0
    plain = filesize.encode(rgba, dpi=300)
    out = filesize.set_file_size(rgba, len(plain) + 5000, dpi=300)
    assert out.format == "PNG" and len(out.data) == len(plain) + 5000 and out.padding > 0
    im = Image.open(io.BytesIO(out.data))
    assert np.array_equal(np.asarray(im), rgba) and im.info["dpi"] == pytest.approx((300, 300), abs=0.5)


def test_target_hits_across_sizes_and_photos(face_rgb):
    """Every photo in ../shared/faces at its own size, targets from tight to generous: within 1%."""
    import cv2

    for name in ["hivision_idphoto_0.jpg", "hivision_test1_webp.jpg", "obama.jpg", "two_people.jpg"]:
        rgb = face_rgb(name)
        rgb = cv2.resize(rgb, (600, round(600 * rgb.shape[0] / rgb.shape[1])), interpolation=cv2.INTER_AREA)
        smallest = len(filesize.encode(rgb, quality=1))
        for target in (smallest + 100, smallest * 2, smallest * 5, 1024 * 1024):
            out = filesize.set_file_size(rgb, target)
            assert abs(len(out.data) - target) <= 0.01 * target
            assert load_photo(out.data).dpi == (300, 300)


def test_an_opaque_photo_can_be_a_three_channel_png(images):
    rgb = images[PHOTOS[2]]
    png = load_photo(filesize.encode(rgb, dpi=300, fmt="PNG"))
    assert png.format == "PNG" and png.mode == "RGB" and np.array_equal(png.rgb, rgb)
    out = filesize.set_kb(rgb, 600, fmt="png")
    assert out.format == "PNG" and len(out.data) == 600 * 1024 and np.array_equal(load_photo(out.data).rgb, rgb)
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    for call in (lambda: filesize.encode(rgba, fmt="JPEG"), lambda: filesize.encode(rgb, fmt="GIF")):
        with pytest.raises(CheckerError) as info:
            call()
        assert info.value.status == "INVALID_ARGUMENT"
