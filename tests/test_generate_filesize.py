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
