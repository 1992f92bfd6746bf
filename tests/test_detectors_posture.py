"""body_posture against real hands: photos with a hand at the face, and real hands pasted at the chin,
the nose, the cheek and raised beside the face of clean ID photos (tests/edits.py)."""

from __future__ import annotations

import pytest

from . import edits
from .conftest import analysis_of, default_max, measured

CLEAN = ["hivision_idphoto_0.jpg", "hivision_idphoto_1.jpg", "hivision_idphoto_2.jpg", "hivision_idphoto_3.jpg",
         "hivision_test0.jpg", "hivision_test1_webp.jpg", "hivision_test3.jpg", "obama.jpg"]


@pytest.fixture(scope="module")
def hand_cuts(face_rgb):
    return {name: edits.cut_hand(face_rgb(name)) for name in edits.HAND_SOURCES}


@pytest.mark.parametrize("name", CLEAN)
def test_clean_photos_pass(face_rgb, name):
    """Square bodies without a hand near the face; obama's crossed arms show a hand 1.7 face widths
    below the face, which is not a posture fault."""
    m = measured(analysis_of(face_rgb(name)), "body_posture")
    assert m.score <= default_max("body_posture"), m.value


@pytest.mark.parametrize("name", ["mask_pair106_without.jpg", "mask_pair106_with.jpg"])
def test_a_real_hand_at_the_face_fails(face_rgb, name):
    m = measured(analysis_of(face_rgb(name)), "body_posture")
    assert m.score > default_max("body_posture")
    assert m.value["hands"] == 1 and m.value["hand_gap"] < 0.2


@pytest.mark.parametrize(("name", "source", "pose"), [
    ("hivision_idphoto_0.jpg", "mask_pair106_without.jpg", "chin"),
    ("hivision_idphoto_2.jpg", "mask_pair106_without.jpg", "nose"),
    ("hivision_test3.jpg", "mask_pair106_without.jpg", "cheek"),
    ("hivision_test1_webp.jpg", "obama.jpg", "cheek"),
    ("hivision_idphoto_0.jpg", "obama.jpg", "nose"),
    ("hivision_test3.jpg", "obama.jpg", "raised"),
])
def test_a_pasted_real_hand_fails(face_rgb, hand_cuts, name, source, pose):
    clean = analysis_of(face_rgb(name))
    m = measured(analysis_of(edits.hand_pose(clean, hand_cuts[source], pose)), "body_posture")
    assert m.score > default_max("body_posture"), m.value
    assert m.value["worst"] in ("hand_near_face", "hand_raised") and m.value["hands"] >= 1
