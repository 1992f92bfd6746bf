"""Watermarks, the preview mark and the bottom label."""

from __future__ import annotations

import os

import numpy as np
import pytest

from checker.errors import CheckerError
from checker.generate import watermark as wm

CJK = "张三 2026"


@pytest.fixture(scope="module")
def photo(face_rgb):
    return face_rgb("hivision_idphoto_2.jpg")


def test_tiled_watermark_covers_the_photo_in_its_colour(photo):
    out = wm.add_watermark(photo, "Hello", size=40, opacity=0.5, angle=30, color="#FF0000", space=25)
    assert out.shape == photo.shape
    changed = np.any(out != photo, axis=-1)
    h, w = changed.shape
    for y0, x0 in ((0, 0), (0, w // 2), (h // 2, 0), (h // 2, w // 2)):  # every quarter has text
        assert changed[y0:y0 + h // 2, x0:x0 + w // 2].mean() > 0.02
    diff = out.astype(int) - photo.astype(int)
    assert diff[changed][:, 0].mean() > 0 and diff[changed][:, 1].mean() < 0  # toward red


def test_opacity_and_size(photo):
    assert np.array_equal(wm.add_watermark(photo, "Hello", opacity=0), photo)
    small = np.any(wm.add_watermark(photo, "Hello", size=12) != photo, axis=-1).mean()
    big = np.any(wm.add_watermark(photo, "Hello", size=60) != photo, axis=-1).mean()
    assert big > small > 0


@pytest.mark.parametrize("kwargs", [dict(text=""), dict(text="x", opacity=2), dict(text="x", color="nope"),
                                    dict(text="x", size=0)])
def test_bad_watermark_arguments(photo, kwargs):
    with pytest.raises(CheckerError) as info:
        wm.add_watermark(photo, **kwargs)
    assert info.value.status == "INVALID_ARGUMENT"


def test_preview_marks_light_and_dark_areas(photo):
    out = wm.preview_watermark(photo)
    changed = np.any(out != photo, axis=-1)
    assert 0.05 < changed.mean() < 0.8


def test_label_keeps_the_size_and_only_the_bottom_strip(photo):
    out = wm.add_label(photo, "ZHANG SAN 2026-11-21", height=40)
    assert out.shape == photo.shape
    assert np.array_equal(out[:-40], photo[:-40])
    strip = out[-40:]
    assert (strip < 100).any() and (strip == 255).all(axis=-1).mean() > 0.5


def test_label_height_is_checked(photo):
    with pytest.raises(CheckerError):
        wm.add_label(photo, "x", height=photo.shape[0])


def test_chinese_label_renders_when_a_cjk_font_is_installed(photo):
    if wm.missing_glyphs(CJK):
        reason = "no CJK font on this machine (.ci/run installs fonts-wqy-microhei); CJK text would be boxes"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    out = wm.add_label(photo, CJK, height=40)
    assert (out[-40:] < 100).any()
