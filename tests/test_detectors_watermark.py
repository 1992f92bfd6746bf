"""Watermark detection against tiled overlays on real photos, and against busy clean photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from checker import detectors, rules
from checker.detectors.watermark import PEAK_FULL_SCORE, repeated_stroke_peak  # noqa: E402

from . import transforms as tf

PORTRAITS = ["hivision_idphoto_0.jpg", "hivision_idphoto_1.jpg", "hivision_idphoto_2.jpg", "hivision_idphoto_3.jpg",
             "hivision_test0.jpg", "hivision_test1_webp.jpg", "hivision_test2_png.jpg", "hivision_test3.jpg",
             "obama.jpg", "astronaut.png"]
# Everything else in ../shared/faces: flags, fur, hair, crowds, a screenshot; no watermark on any.
OTHERS = ["biden.jpg", "dogs_no_face.jpg", "group_2008_001322.jpg", "mask_116_with.jpg", "mask_pair106_with.jpg",
          "mask_pair106_without.jpg", "mask_pair83_with.jpg", "mask_pair83_without.jpg", "masked_group_aizoo.jpg",
          "obama_partial_face.jpg", "two_people.jpg"]


def peak(rgb: np.ndarray) -> float:
    """The detector's raw value (it reads only the grey image, so no Analysis is needed)."""
    return repeated_stroke_peak(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))


def score(rgb: np.ndarray) -> float:
    return min(100.0, 100 * peak(rgb) / PEAK_FULL_SCORE)


def limit() -> float:
    return float(rules.load_rules()["watermark_exist"].default["max"])


@pytest.mark.parametrize("name", PORTRAITS + OTHERS)
def test_clean_photos_pass_including_busy_ones(face_rgb, name):
    assert score(face_rgb(name)) <= limit()


@pytest.mark.parametrize("name", PORTRAITS)
def test_the_tiled_watermark_fails(face_rgb, name):
    assert score(tf.watermark(face_rgb(name))) > limit()


@pytest.mark.parametrize("name", PORTRAITS[:4] + ["hivision_test3.jpg", "hivision_test1_webp.jpg"])
@pytest.mark.parametrize("text, step", [("COPY", 80), ("PREVIEW", 150)])
def test_other_words_and_spacings_fail(face_rgb, name, text, step):
    assert score(tf.watermark(face_rgb(name), text=text, step=step)) > limit()


@pytest.mark.parametrize("name", ["hivision_idphoto_0.jpg", "hivision_idphoto_3.jpg", "hivision_test3.jpg"])
def test_a_fainter_mark_scores_lower_but_above_clean(face_rgb, name):
    clean = peak(face_rgb(name))
    faint = peak(tf.watermark(face_rgb(name), opacity=0.2))
    strong = peak(tf.watermark(face_rgb(name), opacity=0.35))
    assert clean < faint < strong


def test_the_detector_runs_through_the_registry(face_rgb):
    from .conftest import analysis_of

    m = detectors.measure(analysis_of(tf.watermark(face_rgb("hivision_idphoto_2.jpg"))), ["watermark"])["watermark"]
    assert m.ok and m.score > limit() and 0 < m.value <= 1
