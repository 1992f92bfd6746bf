"""Face framing and head pose against known transformations of real photos."""

from __future__ import annotations

import numpy as np
import pytest

from checker import detectors, rules
from checker.context import Analysis
from checker.errors import CheckerError
from checker.pipeline import frame_for
from checker.specs import load_spec

from . import transforms as tf
from .conftest import analysis_of

ID_PHOTOS = ["hivision_idphoto_0.jpg", "hivision_idphoto_2.jpg", "hivision_idphoto_3.jpg"]
FRONTAL = ID_PHOTOS + ["hivision_test0.jpg", "hivision_test3.jpg", "obama.jpg"]
FRAMING = ["head_length", "hairline_top", "chin_bottom", "eyes_space_bottom", "face_center", "left_right_empty",
           "incomplete_head", "headpose_yaw", "headpose_pitch", "headpose_roll", "facial_pose", "sight_line"]


def verdicts(a: Analysis, spec=1102, **overrides) -> dict[str, int]:
    """The default-rule verdicts of the framing and pose checks for one Analysis."""
    s = load_spec(spec)
    frame = frame_for(s, a.photo, overrides)
    plan = rules.plan(s.checks, overrides, frame)
    plan.active = {k: v for k, v in plan.active.items() if k in FRAMING}
    return rules.evaluate(plan, detectors.measure(a, plan.measures)).result


def value(a: Analysis, name: str):
    m = detectors.measure(a, [name])[name]
    assert m.ok, m.error
    return m.score if m.score is not None else m.value


@pytest.fixture(scope="module")
def clean(face_rgb):
    return {name: analysis_of(face_rgb(name)) for name in FRONTAL}


@pytest.mark.parametrize("name", ID_PHOTOS)
def test_finished_id_photos_pass_every_framing_check_and_face_the_camera(clean, name):
    got = verdicts(clean[name])
    # Pitch is judged apart: ICAO's 5 degrees is tighter than some finished photos (below).
    assert {k: v for k, v in got.items() if k not in ("headpose_pitch", "facial_pose")} == dict.fromkeys(
        (k for k in got if k not in ("headpose_pitch", "facial_pose")), 1), got


def test_a_level_head_passes_pitch_and_lowered_chins_read_negative(clean, face_rgb):
    # hivision_idphoto_2 looks straight into the camera; hivision_idphoto_1 and _3 and
    # hivision_test2 lower the chin and look up (seen on the photos; docs/calibration/pose.md).
    assert verdicts(clean["hivision_idphoto_2.jpg"])["headpose_pitch"] == 1
    for name in ("hivision_idphoto_1.jpg", "hivision_idphoto_3.jpg", "hivision_test2_png.jpg"):
        pitch = value(analysis_of(face_rgb(name)), "headpose_pitch")
        assert pitch < -5, (name, pitch)


@pytest.mark.parametrize("name", FRONTAL)
@pytest.mark.parametrize("degrees", [12, -12])
def test_roll_follows_a_known_rotation_and_fails_the_level_checks(clean, face_rgb, name, degrees):
    base = clean[name]
    turned = analysis_of(tf.rotate(face_rgb(name), degrees))
    # the image turns counter-clockwise, the head's roll (clockwise positive) moves by -degrees
    assert value(turned, "headpose_roll") - value(base, "headpose_roll") == pytest.approx(-degrees, abs=2.0)
    assert value(turned, "sight_line") == pytest.approx(abs(degrees), abs=3.5)  # clean eye lines: 0.2-3 degrees
    got = verdicts(turned)
    assert got["headpose_roll"] == 0 and got["sight_line"] == 0


@pytest.mark.parametrize("name", FRONTAL)
def test_yaw_changes_sign_in_a_mirror(clean, face_rgb, name):
    base = value(clean[name], "headpose_yaw")
    mirrored = value(analysis_of(np.ascontiguousarray(face_rgb(name)[:, ::-1])), "headpose_yaw")
    assert mirrored == pytest.approx(-base, abs=2.5)


@pytest.mark.parametrize("name", ID_PHOTOS)
def test_a_known_horizontal_move_moves_the_eyes_and_breaks_centring(clean, face_rgb, name):
    base = clean[name]
    dx = round(0.1 * base.width)
    moved = analysis_of(tf.shift(face_rgb(name), dx, 0))
    assert value(moved, "eyes_center_left") - value(base, "eyes_center_left") == pytest.approx(dx, abs=2)
    assert value(moved, "face_center") == pytest.approx(10 + value(base, "face_center"), abs=1.5)
    assert verdicts(moved)["face_center"] == 0


@pytest.mark.parametrize("name", ID_PHOTOS)
def test_a_known_vertical_move_moves_chin_and_crown_by_the_same_pixels(clean, face_rgb, name):
    base = clean[name]
    dy = 30
    moved = analysis_of(tf.shift(face_rgb(name), 0, dy))
    assert value(base, "chin_bottom") - value(moved, "chin_bottom") == pytest.approx(dy, abs=2)
    assert value(moved, "head_top") - value(base, "head_top") == pytest.approx(dy, abs=4)
    assert value(moved, "head_length") == pytest.approx(value(base, "head_length"), abs=5)


@pytest.mark.parametrize("name", ID_PHOTOS)
def test_a_known_zoom_scales_head_and_eye_distance(clean, face_rgb, name):
    base = clean[name]
    cx, cy = base.eye_mid
    bigger = analysis_of(tf.zoom(face_rgb(name), 1.2, (cx, cy)))
    assert value(bigger, "head_length") / value(base, "head_length") == pytest.approx(1.2, abs=0.04)
    assert value(bigger, "eye_space") / value(base, "eye_space") == pytest.approx(1.2, abs=0.03)
    assert value(bigger, "face_width") / value(base, "face_width") == pytest.approx(1.2, abs=0.03)
    smaller = analysis_of(tf.zoom(face_rgb(name), 0.7, (cx, cy)))
    assert verdicts(smaller)["head_length"] == 0  # about 42% of the height: below the 50% default


@pytest.mark.parametrize("name", ID_PHOTOS)
def test_a_head_pushed_through_the_top_edge_is_incomplete(clean, face_rgb, name):
    base = clean[name]
    crown = base.crown.y
    cut = analysis_of(tf.shift(face_rgb(name), 0, -(crown + 0.08 * base.height)))
    assert cut.crown.clipped
    got = verdicts(cut)
    assert got["incomplete_head"] == 0 and got["hairline_top"] == 0


@pytest.mark.parametrize("name", ID_PHOTOS)
def test_a_head_against_the_side_leaves_no_room(clean, face_rgb, name):
    base = clean[name]
    left_edge = value(base, "head_span")[0]
    moved = analysis_of(tf.shift(face_rgb(name), -left_edge, 0))
    assert value(moved, "left_right_empty") <= 3
    assert "left_right_empty" not in verdicts(moved)  # off unless asked
    assert verdicts(moved, left_right_empty=10)["left_right_empty"] == 0
    assert verdicts(base, left_right_empty=10)["left_right_empty"] == 1


def test_spec_geometry_in_mm_uses_the_spec_frame(clean):
    # Same photo, two specs: the China visa wants a 28-33 mm head in 48 mm (58-69% of the height),
    # the Schengen visa a 32-36 mm head in 45 mm (71-80%). idphoto_2's head is 62% of its height.
    a = clean["hivision_idphoto_2.jpg"]
    assert verdicts(a, "china-visa")["head_length"] == 1
    assert verdicts(a, "schengen-visa")["head_length"] == 0


def test_request_pixels_are_in_the_spec_frame(clean):
    a = clean["hivision_idphoto_2.jpg"]  # 607 x 851 checked against 1102's 295 x 413 frame
    head = value(a, "head_length") * 413 / a.height  # in frame pixels
    assert verdicts(a, head_length_min_p=round(head) - 5, head_length_max_p=round(head) + 5)["head_length"] == 1
    assert verdicts(a, head_length_min_p=round(head) + 5)["head_length"] == 0


def test_two_photos_side_by_side_are_too_many_faces(face_rgb):
    a = analysis_of(tf.side_by_side(face_rgb("hivision_idphoto_2.jpg"), face_rgb("hivision_idphoto_0.jpg")))
    with pytest.raises(CheckerError) as info:
        a.face  # noqa: B018
    assert info.value.status == "TOO_MANY_FACES"


def test_face_counts_match_the_labels(face_rgb, labels):
    for name, row in labels.items():
        if row["expected"] in ("mask",):
            continue  # masked faces: coarse labels and a detector not trained for them
        count = analysis_of(face_rgb(name)).face_count
        want = row["faces"]
        if want == "many":
            assert count > 1, name
        else:
            assert count == int(want), name


def test_no_face(face_rgb):
    with pytest.raises(CheckerError) as info:
        analysis_of(face_rgb("dogs_no_face.jpg")).face  # noqa: B018
    assert info.value.status == "NO_FACE_DETECTED"
