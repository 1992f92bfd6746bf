"""The whole check through the public API, as the issue's acceptance describes it."""

from __future__ import annotations

import pytest

import checker

from . import transforms as tf
from .conftest import encode

GEOMETRY = ["face_center", "head_length", "hairline_top", "chin_bottom", "eyes_space_bottom", "incomplete_head"]
POSE = ["headpose_yaw", "headpose_pitch", "headpose_roll", "facial_pose", "sight_line"]
EYES = ["eyes_close", "eyes_nature"]
BACKGROUND = ["uniformity", "bg_shadow", "clothes_similar"]


@pytest.fixture(scope="module")
def idphoto_2_report(face_bytes):
    return checker.check(face_bytes("hivision_idphoto_2.jpg"), 1102)


def test_finished_id_photo_passes_geometry_pose_eyes_and_background(idphoto_2_report):
    r = idphoto_2_report
    failed = {c: r["result"].get(c) for c in GEOMETRY + POSE + EYES + BACKGROUND if r["result"].get(c) != 1}
    assert failed == {}
    # 1102 has no colour requirement, so background_color is not checked; asked for, white passes
    assert "background_color" not in r["result"]
    assert r["value_dict"]["uniformity"] < 50


def test_it_fails_only_on_its_pixel_size_with_the_expected_size_in_the_message(idphoto_2_report):
    r = idphoto_2_report
    assert r["check_result"] == 0 and r["result"]["px_and_mm"] == 0
    (px,) = [f for f in r["failures"] if f["check"] == "px_and_mm"]
    assert "295x413" in px["message"]
    others = [f["check"] for f in r["failures"] if f["check"] != "px_and_mm"] + [
        n["check_param"] for n in r["not_check_result"]]
    assert others == []


def test_rotated_12_degrees_fails_the_pose_and_level_checks(face_rgb):
    r = checker.check(encode(tf.rotate(face_rgb("hivision_idphoto_2.jpg"), 12), "JPEG", quality=95), 1102)
    assert r["result"]["headpose_roll"] == 0 and r["result"]["sight_line"] == 0 and r["check_result"] == 0
    assert abs(r["value_dict"]["headpose_roll"]) >= 10


def test_white_background_passes_a_white_only_spec_and_red_fails_it(face_bytes):
    white_only = checker.load_spec(3110)  # Universal Visa: white
    assert list(white_only.background_colors) == ["white"]
    assert checker.check(face_bytes("hivision_idphoto_2.jpg"), white_only)["result"]["background_color"] == 1
    red = checker.check(face_bytes("hivision_idphoto_0.jpg"), white_only)
    assert red["result"]["background_color"] == 0
    (fail,) = [f for f in red["failures"] if f["check"] == "background_color"]
    assert fail["expected"]["one_of"] == ["FFFFFF"] and "white" in fail["message"]


@pytest.mark.parametrize(("name", "status"), [("two_people.jpg", "TOO_MANY_FACES"),
                                               ("group_2008_001322.jpg", "TOO_MANY_FACES"),
                                               ("dogs_no_face.jpg", "NO_FACE_DETECTED")])
def test_face_count_statuses(face_bytes, name, status):
    with pytest.raises(checker.CheckerError) as info:
        checker.check(face_bytes(name), 1102)
    assert info.value.status == status
