"""Shoulders and body against known transformations of real photos."""

from __future__ import annotations

import numpy as np
import pytest

from checker import detectors
from checker.context import Analysis

from . import transforms as tf
from .conftest import analysis_of, default_max, measured

# Frontal subjects with both shoulders in the frame.
FRONTAL = ["hivision_idphoto_0.jpg", "hivision_idphoto_1.jpg", "hivision_idphoto_2.jpg", "hivision_idphoto_3.jpg",
           "hivision_test0.jpg", "hivision_test1_webp.jpg", "hivision_test3.jpg", "obama.jpg"]
# Looser crops whose shoulders stay in the frame when the photo turns 12 degrees either way.
ROOMY = ["hivision_test1_webp.jpg", "hivision_test2_png.jpg", "obama.jpg", "hivision_idphoto_0.jpg"]


# --- transforms this module needs --------------------------------------------------------------------
def crop_below_chin(a: Analysis, face_widths: float) -> np.ndarray:
    """Cut the photo ``face_widths`` face widths under the chin."""
    return np.ascontiguousarray(a.rgb[: int(a.chin_y + face_widths * a.face_width)])


def background_rgb(a: Analysis) -> np.ndarray:
    from checker.views import background_median
    from checker.views import small_view as view

    return background_median(view(a)).round().astype(np.uint8)


def pad_bottom(a: Analysis, fraction: float) -> np.ndarray:
    """Extend the photo downward by ``fraction`` of its height in its own background colour."""
    pad = np.broadcast_to(background_rgb(a), (int(fraction * a.height), a.width, 3))
    return np.ascontiguousarray(np.concatenate([a.rgb, pad], axis=0))


def pad_sides(a: Analysis, each: int) -> np.ndarray:
    """Widen the photo by ``each`` pixels of background colour left and right."""
    pad = np.broadcast_to(background_rgb(a), (a.height, each, 3))
    return np.ascontiguousarray(np.concatenate([pad, a.rgb, pad], axis=1))


def recolour_clothes(a: Analysis) -> np.ndarray:
    """Paint everything of the person below the chin in the subject's own median skin colour,
    keeping some of the cloth's shading: a bare torso and shoulders."""
    x0, y0, x1, y1 = a.face_rect
    skin = np.median(a.rgb[y0:y1, x0:x1][a.face_skin[y0:y1, x0:x1]], axis=0).astype(np.float32)
    rows = np.arange(a.height)[:, None]
    region = (a.person_mask >= 0.5) & (rows > a.chin_y + 0.1 * a.face_width)
    gray = a.gray.astype(np.float32)
    shade = np.clip(0.75 + 0.5 * (gray - np.median(gray[region])) / 255.0, 0.6, 1.2)
    out = a.rgb.astype(np.float32)
    out[region] = np.clip(skin * shade[..., None], 0, 255)[region]
    return out.round().astype(np.uint8)



@pytest.fixture(scope="module")
def clean(face_rgb):
    return {name: analysis_of(face_rgb(name)) for name in dict.fromkeys(FRONTAL + ROOMY)}


# --- shoulder_equal --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FRONTAL)
def test_level_shoulders_pass(clean, name):
    m = measured(clean[name], "shoulder_equal")
    assert m.score <= default_max("shoulder_equal") and abs(m.value) < 5


@pytest.mark.parametrize("name", ROOMY)
@pytest.mark.parametrize("degrees", [12, -12])
def test_a_rotated_photo_has_tilted_shoulders(clean, face_rgb, name, degrees):
    base = measured(clean[name], "shoulder_equal").value
    m = measured(analysis_of(tf.rotate(face_rgb(name), degrees)), "shoulder_equal")
    assert m.score > default_max("shoulder_equal")
    # the image turns counter-clockwise: the tilt (clockwise positive) moves against it, by at least
    # two thirds of the turn (the estimate runs high on steep shoulders, never low)
    assert -np.sign(degrees) * (m.value - base) > 0.66 * abs(degrees)


@pytest.mark.parametrize("name", ["hivision_idphoto_1.jpg", "hivision_idphoto_2.jpg"])
def test_a_shoulder_turned_out_of_a_tight_frame_is_not_judged(face_rgb, name):
    m = detectors.measure(analysis_of(tf.rotate(face_rgb(name), 20)), ["shoulder_equal"])["shoulder_equal"]
    assert not m.ok and "shoulder" in m.error


@pytest.mark.parametrize("name", FRONTAL[:6])
@pytest.mark.parametrize("dx, dy", [(12, 8), (-10, -6)])
def test_moving_the_photo_does_not_change_the_tilt(clean, face_rgb, name, dx, dy):
    base = measured(clean[name], "shoulder_equal").value
    moved = analysis_of(tf.shift(face_rgb(name), dx, dy))
    assert measured(moved, "shoulder_equal").value == pytest.approx(base, abs=1.5)


# --- shoulders in the frame, body to the bottom edge ------------------------------------------------------
@pytest.mark.parametrize("name", FRONTAL)
def test_clean_photos_show_shoulders_and_reach_the_bottom(clean, name):
    got_ = detectors.measure(clean[name], ["missing_shoulder", "lower_body_hanging", "body_incomplete"])
    for measure, check in (("missing_shoulder", "missing_shoulder"), ("lower_body_hanging", "lower_body_hanging"),
                           ("body_incomplete", "shoulder_missed")):
        assert got_[measure].ok and got_[measure].score <= default_max(check)
    assert got_["lower_body_hanging"].value == 0


@pytest.mark.parametrize("name", FRONTAL)
def test_a_crop_just_below_the_chin_misses_the_shoulders(clean, name):
    cut = analysis_of(crop_below_chin(clean[name], 0.1))
    m = measured(cut, "missing_shoulder")
    assert m.score > default_max("missing_shoulder") and m.value["below_chin"] < 0.2
    assert measured(cut, "body_incomplete").score >= m.score


@pytest.mark.parametrize("name", FRONTAL)
def test_padding_under_the_body_leaves_it_hanging(clean, name):
    a = clean[name]
    padded = analysis_of(pad_bottom(a, 0.1))
    m = measured(padded, "lower_body_hanging")
    assert m.score > default_max("lower_body_hanging")
    assert m.value == pytest.approx(0.1 * a.height, abs=10)  # the padding, in pixels (view rows are 2-4 px)
    incomplete = measured(padded, "body_incomplete")
    assert incomplete.value == "lower_body_hanging" and incomplete.score == m.score


@pytest.mark.parametrize("name", FRONTAL)
def test_shoulder_width_ratio_follows_known_side_padding(clean, name):
    a = clean[name]
    base = measured(a, "shoulder_width_ratio").value
    assert 40 <= base <= 100
    each = a.width // 4  # the photo grows by half its width, the shoulders stay
    wide = measured(analysis_of(pad_sides(a, each)), "shoulder_width_ratio").value
    assert wide == pytest.approx(base * a.width / (a.width + 2 * each), abs=2.5)


# --- bare shoulders ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FRONTAL + ["hivision_test2_png.jpg"])
def test_clothed_shoulders_pass(clean, name):
    assert measured(clean[name], "bare_shouldered").score <= default_max("bare_shouldered")


@pytest.mark.parametrize("name", FRONTAL)
def test_clothes_in_the_subjects_skin_colour_fail(clean, name):
    m = measured(analysis_of(recolour_clothes(clean[name])), "bare_shouldered")
    assert m.score > default_max("bare_shouldered") and m.value > 0.5


# --- posture (pose model) --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["hivision_idphoto_0.jpg", "hivision_test0.jpg", "hivision_test1_webp.jpg",
                                  "obama.jpg"])
def test_a_rotated_body_scores_higher_posture(clean, face_rgb, name):
    base = measured(clean[name], "body_posture")
    assert base.score <= default_max("body_posture")
    for degrees in (20, -20):
        turned = measured(analysis_of(tf.rotate(face_rgb(name), degrees)), "body_posture")
        assert turned.score > base.score + 20
