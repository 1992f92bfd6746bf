"""pn_neck_shadow_exist against shadows of known depth cast under the jaw of real photos
(tests/edits.py: linear light on the neck multiplied by 1 - depth)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from checker.context import CHIN

from . import edits
from .conftest import analysis_of, default_max, measure_of, measured

CLEAN = ["hivision_idphoto_0.jpg", "hivision_idphoto_1.jpg", "hivision_idphoto_2.jpg", "hivision_idphoto_3.jpg",
         "hivision_test0.jpg", "hivision_test1_webp.jpg", "hivision_test2_png.jpg", "hivision_test3.jpg", "obama.jpg"]
SHADED = ["hivision_idphoto_0.jpg", "hivision_idphoto_2.jpg", "hivision_idphoto_3.jpg", "hivision_test0.jpg",
          "hivision_test1_webp.jpg", "hivision_test3.jpg", "obama.jpg"]


@pytest.fixture(scope="module")
def clean(face_rgb):
    return {name: analysis_of(face_rgb(name)) for name in CLEAN}


@pytest.mark.parametrize("name", CLEAN)
def test_evenly_lit_necks_pass(clean, name):
    m = measured(clean[name], "neck_shadow")
    assert m.score <= default_max("pn_neck_shadow_exist"), m.value


@pytest.mark.parametrize("name", SHADED)
def test_a_deep_shadow_under_the_jaw_fails(clean, name):
    m = measured(analysis_of(edits.neck_shadow(clean[name], 0.7)), "neck_shadow")
    assert m.score > default_max("pn_neck_shadow_exist"), m.value


@pytest.mark.parametrize("name", ["hivision_idphoto_2.jpg", "hivision_test1_webp.jpg", "obama.jpg"])
def test_the_drop_follows_the_depth(clean, name):
    drops = [measured(clean[name], "neck_shadow").value["luminance_drop"]]
    drops += [measured(analysis_of(edits.neck_shadow(clean[name], d)), "neck_shadow").value["luminance_drop"]
              for d in (0.3, 0.5)]
    assert drops == sorted(drops) and drops[-1] - drops[0] > 0.2


def test_a_neck_under_a_scarf_is_not_judged(face_rgb, clean):
    a = clean["hivision_test1_webp.jpg"]
    rgb = face_rgb("hivision_test1_webp.jpg")
    fw, (cx, cy) = a.face_width, a.point(CHIN)
    cv2.rectangle(rgb, (round(cx - 0.5 * fw), round(cy - 0.02 * fw)), (round(cx + 0.5 * fw), round(cy + 0.6 * fw)),
                  (40, 60, 120), -1)
    m = measure_of(np.ascontiguousarray(rgb), "neck_shadow")["neck_shadow"]
    assert not m.ok and not m.applicable and "covered" in m.error
