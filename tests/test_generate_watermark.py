"""Watermarks, the preview mark and the bottom label."""

from __future__ import annotations

import os

import cv2
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


def ink_of(rgb: np.ndarray) -> np.ndarray:
    return 255 - rgb[:, :, 0].astype(np.float32)


@pytest.mark.parametrize("angle", [0, 30, -45, 60])
def test_the_text_runs_at_the_given_angle(angle):
    """Undoing the right rotation lines the words up in rows: the row profile varies most there."""
    white = np.full((600, 600, 3), 255, np.uint8)
    ink = ink_of(wm.add_watermark(white, "SAMPLE TEXT", size=20, opacity=1, angle=angle, space=25))

    def rows_contrast(a: float) -> float:
        m = cv2.getRotationMatrix2D((300, 300), -a, 1)
        return float(cv2.warpAffine(ink, m, (600, 600))[150:450, 150:450].mean(axis=1).var())

    found = max(range(-88, 90, 2), key=rows_contrast)
    assert abs(found - angle) <= 2


def test_space_is_the_blank_between_rows():
    white = np.full((500, 400, 3), 255, np.uint8)

    def blank_runs(space: int) -> list[int]:
        rows = ink_of(wm.add_watermark(white, "SAMPLE", size=20, opacity=1, angle=0, space=space)).max(axis=1) > 0
        runs, n = [], 0
        for r in rows:
            if r:
                if n:
                    runs.append(n)
                n = 0
            else:
                n += 1
        return runs[1:]  # the first may be cut by the top edge

    narrow, wide = blank_runs(25), blank_runs(60)
    assert narrow and wide and len(set(narrow)) == 1 and len(set(wide)) == 1
    assert wide[0] - narrow[0] == 35


@pytest.mark.parametrize("name", ["hivision_idphoto_0.jpg", "hivision_test0.jpg", "obama.jpg", "astronaut.png"])
def test_the_checker_sees_our_watermark_and_preview_mark(face_rgb, name):
    from checker import rules
    from checker.detectors.watermark import PEAK_FULL_SCORE, lattice_strength

    def score(rgb: np.ndarray) -> float:
        return min(100.0, 100 * lattice_strength(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)) / PEAK_FULL_SCORE)

    limit = float(rules.load_rules()["watermark_exist"].default["max"])
    rgb = face_rgb(name)
    assert score(rgb) <= limit
    assert score(wm.add_watermark(rgb, "SAMPLE", color="#FFFFFF")) > limit
    assert score(wm.preview_watermark(rgb)) > limit


def test_long_labels_shrink_then_get_cut(photo):
    w = photo.shape[1]
    short = wm.fit_text("ZHANG SAN", w - 10, 28)
    long = wm.fit_text("ZHANG SAN " * 6, w - 10, 28)
    huge = wm.fit_text("ZHANG SAN " * 60, w - 10, 28)
    assert short.font_size > long.font_size >= wm.LABEL_MIN_FONT and not long.truncated
    assert huge.truncated and huge.text.endswith("…") and huge.font_size <= wm.LABEL_MIN_FONT
    out = wm.add_label(photo, "ZHANG SAN " * 6, height=30)
    strip = out[-30:]
    dark = (strip < 128).all(axis=-1)
    assert dark.any() and not dark[:, :2].any() and not dark[:, -2:].any()  # inside the strip's padding


def test_without_a_cjk_font_chinese_falls_back_to_boxes_not_errors(photo, monkeypatch):
    """The fallback a fresh machine without fonts-wqy-microhei gets: a Latin font, boxes for CJK."""
    monkeypatch.setattr(wm, "CJK_FONTS", ())
    monkeypatch.delenv(wm.FONT_ENV, raising=False)
    wm.font_choice.cache_clear()
    wm.get_font.cache_clear()
    try:
        assert not wm.font_choice().cjk
        assert wm.missing_glyphs(CJK) == "张三" and wm.missing_glyphs("ZHANG SAN 2026") == ""
        out = wm.add_label(photo, CJK, height=40)
        assert out.shape == photo.shape and (out[-40:] < 100).any()
        assert wm.add_watermark(photo, "样例").shape == photo.shape
    finally:
        wm.font_choice.cache_clear()
        wm.get_font.cache_clear()


def test_checker_font_overrides_the_lookup(monkeypatch, tmp_path):
    choice = wm.font_choice()
    if choice.path is None:
        pytest.skip("no font file on this machine at all (Pillow's built-in font is in use)")
    monkeypatch.setenv(wm.FONT_ENV, choice.path)
    wm.font_choice.cache_clear()
    wm.get_font.cache_clear()
    try:
        assert wm.font_choice().path == choice.path
        monkeypatch.setenv(wm.FONT_ENV, str(tmp_path / "missing.ttf"))
        wm.font_choice.cache_clear()
        assert wm.font_choice().path is not None  # a bad setting falls back to the normal lookup
    finally:
        monkeypatch.delenv(wm.FONT_ENV)
        wm.font_choice.cache_clear()
        wm.get_font.cache_clear()
