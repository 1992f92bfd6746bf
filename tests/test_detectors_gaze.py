"""face_gaze (seed 004's face_gazeNG) against irises moved by known amounts inside the eyes of real
photos (tests/edits.py), a turned head whose eyes come back to the camera, and eyes it cannot see."""

from __future__ import annotations

import pytest

from . import edits
from . import transforms as tf
from .conftest import analysis_of, default_max, measure_of, measured

CLEAN = ["hivision_idphoto_0.jpg", "hivision_idphoto_1.jpg", "hivision_idphoto_2.jpg", "hivision_idphoto_3.jpg",
         "hivision_test0.jpg", "hivision_test1_webp.jpg", "hivision_test3.jpg", "obama.jpg", "astronaut.png"]


@pytest.fixture(scope="module")
def clean(face_rgb):
    return {name: analysis_of(face_rgb(name)) for name in CLEAN}


@pytest.mark.parametrize("name", CLEAN)
def test_eyes_at_the_camera_pass(clean, name):
    m = measured(clean[name], "gaze_direction")
    assert m.score <= default_max("face_gaze"), m.value
    assert abs(m.value["gaze_LR"]) < 8


@pytest.mark.parametrize("name", ["hivision_idphoto_0.jpg", "hivision_idphoto_2.jpg", "hivision_test3.jpg",
                                  "obama.jpg"])
@pytest.mark.parametrize("dx", [0.2, -0.2])
def test_irises_turned_30_degrees_sideways_fail_in_their_direction(clean, name, dx):
    """0.2 eye widths is asin(0.2 / 0.4) = 30 degrees of eye rotation."""
    base = measured(clean[name], "gaze_direction")
    m = measured(analysis_of(edits.move_irises(clean[name], dx)), "gaze_direction")
    assert m.score > default_max("face_gaze"), m.value
    assert (m.value["gaze_LR"] - base.value["gaze_LR"]) * dx > 0


@pytest.mark.parametrize("name", ["hivision_idphoto_1.jpg", "obama.jpg"])
def test_a_larger_turn_scores_higher(clean, name):
    scores = [measured(analysis_of(edits.move_irises(clean[name], dx)), "gaze_direction").score for dx in (0.1, 0.2)]
    assert measured(clean[name], "gaze_direction").score < scores[0] < scores[1] or scores[1] == 100


def test_eyes_looking_down_read_down(clean):
    base = measured(clean["obama.jpg"], "gaze_direction").value["gaze_UD"]
    down = measured(analysis_of(edits.move_irises(clean["obama.jpg"], 0.0, 0.1)), "gaze_direction").value["gaze_UD"]
    assert down < base - 3


def test_eyes_behind_dark_lenses_are_not_assessed(face_rgb, clean):
    a = clean["hivision_idphoto_2.jpg"]
    m = measure_of(tf.dark_lenses(face_rgb("hivision_idphoto_2.jpg"), a.mesh[[468, 473], :2],
                                  edits.eye_width(a, 0)), "gaze_direction")["gaze_direction"]
    assert not m.ok and "lenses" in m.error
