"""id_exist against an ID-1 card (with a real face on it) held up in real photos: at the chest, at the
chest with a real hand's thumb over its edge, beside the face; and card-shaped things that are not held."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from . import edits
from .conftest import analysis_of, default_max, measured

CLEAN = ["hivision_idphoto_0.jpg", "hivision_idphoto_1.jpg", "hivision_idphoto_2.jpg", "hivision_idphoto_3.jpg",
         "hivision_test0.jpg", "hivision_test1_webp.jpg", "hivision_test2_png.jpg", "hivision_test3.jpg", "obama.jpg",
         "astronaut.png", "biden.jpg"]


@pytest.fixture(scope="module")
def card(face_rgb):
    return edits.make_card(face_rgb(edits.CARD_PORTRAITS[0]))


@pytest.fixture(scope="module")
def hand(face_rgb):
    return edits.cut_hand(face_rgb(edits.HAND_SOURCES[0]))


@pytest.mark.parametrize("name", CLEAN)
def test_photos_without_a_card_pass(face_rgb, name):
    """Suits, ties, a name badge and a mission patch (astronaut), flags and windows behind (obama)."""
    m = measured(analysis_of(face_rgb(name)), "id_card_held")
    assert m.score <= default_max("id_exist"), m.value


@pytest.mark.parametrize(("name", "place", "angle", "tilt"), [
    ("hivision_idphoto_0.jpg", "chest", 0, 0.0),
    ("hivision_idphoto_2.jpg", "chest", 8, 0.1),
    ("hivision_test1_webp.jpg", "chest", -8, 0.0),
    ("obama.jpg", "chest", 5, 0.1),
    ("hivision_idphoto_3.jpg", "chest_with_hand", -8, 0.1),
    ("hivision_test3.jpg", "chest_with_hand", 0, 0.0),
    ("hivision_test0.jpg", "beside_face_with_hand", 8, 0.1),
])
def test_a_held_card_fails(face_rgb, card, hand, name, place, angle, tilt):
    a = analysis_of(face_rgb(name))
    rgb = edits.hold_card(a, card, place, 0.8, angle, tilt, hand)
    assert rgb is not None
    m = measured(analysis_of(rgb), "id_card_held")
    assert m.score > default_max("id_exist"), m.value
    assert m.value["card"] and (m.value["on_person"] or m.value["hand_near"])
    assert 1.3 < m.value["aspect"] < 1.9


@pytest.mark.parametrize(("name", "width"), [
    ("hivision_idphoto_0.jpg", 0.6), ("hivision_test2_png.jpg", 0.8), ("astronaut.png", 0.8)])
def test_a_card_whose_sides_are_broken_up_is_found_by_its_edge_steps(face_rgb, card, name, width):
    """Held over a striped tie, a lanyard or a suit's lapels, a side breaks into segments too short to
    cover half of it; the lightness step across it still shows (docs/calibration/card.md)."""
    a = analysis_of(face_rgb(name))
    m = measured(analysis_of(edits.hold_card(a, card, "chest", width, 8.0, 0.1)), "id_card_held")
    assert m.score > default_max("id_exist"), m.value


def test_a_card_shaped_frame_behind_the_person_without_a_hand_passes(face_rgb):
    """A bright framed rectangle of card proportions on the wall, well away from the person."""
    rgb = face_rgb("hivision_test0.jpg")
    a = analysis_of(rgb)
    fw = a.face_width
    x0, y0 = int(a.width - 0.95 * fw), int(0.1 * fw)
    x1, y1 = int(x0 + 0.8 * fw), int(y0 + 0.8 * fw / edits.CARD_ASPECT)
    assert not a.person[y0:y1, x0:x1].any()
    cv2.rectangle(rgb, (x0, y0), (x1, y1), (245, 245, 245), -1)
    cv2.rectangle(rgb, (x0, y0), (x1, y1), (60, 50, 40), 3)
    m = measured(analysis_of(np.ascontiguousarray(rgb)), "id_card_held")
    assert m.score <= default_max("id_exist"), m.value
