"""decoration_occlusion against real accessories (a mission patch, a name badge and a headband's flower, cut
out of ../shared/faces by tests/edits.py) pasted at known places and sizes onto the faces of real photos."""

from __future__ import annotations

import pytest

from . import edits
from .conftest import analysis_of, default_max, measured

CLEAN = ["hivision_idphoto_0.jpg", "hivision_idphoto_1.jpg", "hivision_idphoto_2.jpg", "hivision_idphoto_3.jpg",
         "hivision_test0.jpg", "hivision_test1_webp.jpg", "hivision_test2_png.jpg", "hivision_test3.jpg", "obama.jpg",
         "astronaut.png", "biden.jpg", "mask_pair106_without.jpg", "mask_pair83_without.jpg"]
PLACES = edits.ORNAMENT_PLACES


@pytest.fixture(scope="module")
def ornaments(face_rgb):
    return {name: edits.cut_ornament(face_rgb(src), name) for name, (src, *_) in edits.ORNAMENTS.items()}


@pytest.mark.parametrize("name", CLEAN)
def test_bare_faces_pass(face_rgb, name):
    """Make-up, beards, freckles and the astronaut's patch and badge (on the suit, not the face)."""
    m = measured(analysis_of(face_rgb(name)), "decoration_occlusion")
    assert m.score <= default_max("decoration_occlusion"), m.value


@pytest.mark.parametrize(("name", "ornament", "size"), [
    ("hivision_idphoto_0.jpg", "patch", 0.12),
    ("hivision_idphoto_3.jpg", "badge", 0.12),
    ("hivision_test1_webp.jpg", "badge", 0.2),
    ("obama.jpg", "patch", 0.12),
    ("biden.jpg", "badge", 0.2),
    ("hivision_test3.jpg", "flower", 0.2),
])
@pytest.mark.parametrize("place", PLACES)
def test_an_accessory_on_the_face_fails(face_rgb, ornaments, name, ornament, size, place):
    a = analysis_of(face_rgb(name))
    m = measured(analysis_of(edits.place_ornament(a, ornaments[ornament], place, size)), "decoration_occlusion")
    assert m.score > default_max("decoration_occlusion"), m.value
    assert m.value["blobs"] >= 1 and m.value["largest"] > 0.03


@pytest.mark.parametrize("name", ["hivision_idphoto_2.jpg", "obama.jpg"])
def test_the_share_follows_the_size(face_rgb, ornaments, name):
    a = analysis_of(face_rgb(name))
    shares = [measured(analysis_of(edits.place_ornament(a, ornaments["patch"], "cheek", s)),
                       "decoration_occlusion").value["share"] for s in (0.05, 0.1, 0.2)]
    assert shares == sorted(shares) and shares[-1] > 3 * shares[0], shares
