"""Backgrounds: solid, top-to-bottom and centre gradients, at known pixels."""

from __future__ import annotations

import numpy as np
import pytest

from checker.errors import CheckerError
from checker.generate.background import backdrop, compose


def cutout(h: int = 120, w: int = 80) -> np.ndarray:
    """A grey square 'person' in the middle of a transparent frame."""
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[40:80, 20:60] = (100, 110, 120, 255)
    rgba[40:80, 60:62, 3] = 128  # a half-transparent edge
    return rgba


def test_solid():
    out = compose(cutout(), "#438EDB")
    assert out[0, 0].tolist() == [0x43, 0x8E, 0xDB] and out[50, 30].tolist() == [100, 110, 120]
    half = out[50, 60].astype(int)
    assert np.abs(half - (np.array([0, 0, 0]) * 0.5 + np.array([0x43, 0x8E, 0xDB]) * (127 / 255))).max() <= 2


def test_top_to_bottom_gradient_from_the_colour_to_white_or_color2():
    out = compose(cutout(), "FF0000", render=1)
    assert out[0, 0].tolist() == [255, 0, 0] and out[-1, 0].tolist() == [255, 255, 255]
    mid = out[59, 0].astype(int)  # t = 59 / 119
    assert abs(mid[1] - round(255 * 59 / 119)) <= 1
    two = compose(cutout(), "FF0000", render=1, color2="0000FF")
    assert two[-1, 0].tolist() == [0, 0, 255]


def test_centre_gradient_is_white_at_the_centre_and_the_colour_at_max_side_away():
    back = backdrop(81, 101, "000000", render=2)
    assert back[50, 40].tolist() == [255, 255, 255]
    # corner (0, 0): distance hypot(40, 50) / 101 of the way to black
    t = np.hypot(40, 50) / 101
    assert back[0, 0, 0] == pytest.approx(255 * (1 - t), abs=0.5)


@pytest.mark.parametrize(("kwargs", "msg"), [({"color": "nope"}, "color"), ({"color": "fff", "render": 3}, "render"),
                                             ({"color": "fff", "render": 1, "color2": "#12"}, "color2")])
def test_bad_arguments(kwargs, msg):
    with pytest.raises(CheckerError) as info:
        compose(cutout(), **kwargs)
    assert info.value.status == "INVALID_ARGUMENT" and msg in info.value.message


def test_compose_needs_alpha():
    with pytest.raises(CheckerError):
        compose(np.zeros((10, 10, 3), np.uint8), "fff")
