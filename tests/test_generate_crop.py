"""Framing: roll alignment, the spec-window solver, seed 000's ratios, and rendering, on real photos.

The matte here is the Analysis's own person mask: these tests are about geometry, not edges."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from checker.errors import CheckerError
from checker.generate import crop

from . import transforms as tf
from .conftest import analysis_of

PHOTOS = ["hivision_idphoto_2.jpg", "hivision_test0.jpg", "hivision_test3.jpg", "obama.jpg"]


def subject_of(rgb: np.ndarray) -> crop.Subject:
    a = analysis_of(rgb)
    return crop.subject_from(a, a.person_mask)


@pytest.fixture(scope="module")
def subjects(face_rgb):
    return {n: subject_of(face_rgb(n)) for n in PHOTOS}


def reaching_anywhere(s: crop.Subject) -> crop.Subject:
    """The same person with a body that reaches any frame's bottom edge (the solver's windows alone)."""
    return replace(s, bottoms=np.full_like(s.bottoms, 1e6))


# Windows a real person fits (eyes sit about 55% of the head below the crown).
FITTING = crop.Windows(head=(280, 320), eyes_above_bottom=(290, 360), crown_gap=(15, 80), chin_gap_min=40)


def _windows_hold(s: crop.Subject, p: crop.Placement) -> None:
    assert 280 <= p.scale * (s.chin_y - s.crown_y) <= 320
    assert 290 <= 531 - crop.placed(s.eye_y, p) <= 360
    assert 15 <= crop.placed(s.crown_y, p) <= 80
    assert 531 - crop.placed(s.chin_y, p) >= 40
    assert p.scale * s.face_cx + p.tx == pytest.approx(413 / 2, abs=0.01)  # centred


@pytest.mark.parametrize("name", PHOTOS)
def test_windows_solver_puts_head_and_eyes_mid_window(subjects, name):
    s = reaching_anywhere(subjects[name])
    p = crop.place_for_windows(s, 413, 531, FITTING)
    _windows_hold(s, p)
    assert p.scale * (s.chin_y - s.crown_y) == pytest.approx(300, abs=1)
    assert 531 - crop.placed(s.eye_y, p) == pytest.approx(325, abs=1)


@pytest.mark.parametrize("name", PHOTOS)
def test_windows_solver_keeps_the_body_reaching_the_bottom_edge(subjects, name):
    """hivision_idphoto_2 is cut at the chest: framed mid-window its body stops above the bottom edge,
    so the solver takes a larger head inside the same windows; the others reach it mid-window."""
    s = subjects[name]
    mid = crop.place_for_windows(reaching_anywhere(s), 413, 531, FITTING)
    p = crop.place_for_windows(s, 413, 531, FITTING)
    _windows_hold(s, p)
    assert crop.body_gap(s, p) == 0
    if name == "hivision_idphoto_2.jpg":
        assert crop.body_gap(s, mid) > 10 and p.scale > mid.scale
    else:
        assert p == mid


def test_body_gap_is_measured_under_the_shoulders(subjects):
    # The whole photo placed so its bottom row lands 40 output px above the frame's bottom edge.
    s = subjects["hivision_idphoto_2.jpg"]
    h, w = s.alpha.shape
    p = crop.Placement(0.5, 413 / 2 - 0.5 * s.face_cx, 531 - 40 - 0.5 * h, 413, 531)
    assert crop.body_gap(s, p) == pytest.approx(40, abs=1)
    assert crop.exposed_edges(s, p)["bottom"] > 100  # the cut at the photo's bottom shows


def test_windows_solver_respects_a_tight_crown_window_before_the_eye_midpoint(subjects):
    s = reaching_anywhere(subjects["hivision_idphoto_2.jpg"])
    win = crop.Windows(head=(280, 320), eyes_above_bottom=(200, 400), crown_gap=(5, 12))
    p = crop.place_for_windows(s, 413, 531, win)
    assert 5 - 0.01 <= crop.placed(s.crown_y, p) <= 12 + 0.01
    assert p.scale * (s.chin_y - s.crown_y) == pytest.approx(300, abs=1)


def test_face_width_window_drives_the_scale_when_given(subjects):
    s = subjects["hivision_test0.jpg"]
    win = crop.Windows(head=(200, 360), face_width=(193, 221))
    p = crop.place_for_windows(s, 358, 441, win)
    assert 193 <= p.scale * s.face_width <= 221


@pytest.mark.parametrize("name", PHOTOS)
def test_hivision_ratios(subjects, name):
    s = subjects[name]
    p = crop.place_hivision(s, 295, 413, head_measure_ratio=0.2, head_height_ratio=0.45, top_distance_min=0.1,
                            top_distance_max=0.12)
    fx, fy, fw, fh = s.face_box
    assert (fw * fh * p.scale**2) / (295 * 413) == pytest.approx(0.2, rel=0.02)  # face area share
    top_gap = crop.placed(s.crown_y, p) / 413
    assert 0.1 - 1e-6 <= top_gap <= 0.12 + 1e-6


def test_hivision_ratios_are_validated(subjects):
    s = subjects[PHOTOS[0]]
    with pytest.raises(CheckerError) as info:
        crop.place_hivision(s, 295, 413, top_distance_min=0.3, top_distance_max=0.1)
    assert info.value.status == "INVALID_ARGUMENT"
    with pytest.raises(CheckerError):
        crop.place_hivision(s, 295, 413, head_measure_ratio=0)


@pytest.mark.parametrize("degrees", [10, -8])
def test_roll_alignment_levels_a_rotated_photo(face_rgb, degrees):
    rgb = tf.rotate(face_rgb("hivision_idphoto_2.jpg"), degrees)
    a = analysis_of(rgb)
    s = crop.subject_from(a, a.person_mask)
    assert abs(s.roll) > abs(degrees) - 3
    aligned, points = crop.align_roll(s, a.mesh[:, :2])
    assert aligned.roll == 0
    out = crop.render(aligned, crop.place_for_windows(aligned, 413, 531, crop.Windows(head=(280, 300))))
    again = analysis_of(np.ascontiguousarray(out[:, :, :3]))
    left, right = again.eyes
    tilt = np.degrees(np.arctan2(right[1] - left[1], right[0] - left[0]))
    assert abs(tilt) < 1.5


def test_render_is_uniform_and_pads_with_transparency(subjects):
    s = subjects["hivision_idphoto_2.jpg"]
    h, w = s.alpha.shape
    # Put the whole photo small in the middle of a big frame: everything around it must be transparent.
    p = crop.Placement(0.5, 100, 50, int(w * 0.5) + 200, int(h * 0.5) + 100)
    out = crop.render(s, p)
    assert out.shape == (p.height, p.width, 4)
    assert out[:40, :, 3].max() == 0 and out[:, :90, 3].max() == 0 and out[:, -90:, 3].max() == 0
    # The person's eye lands where the placement says, at scale 0.5 in both directions.
    a = analysis_of(np.ascontiguousarray(np.where(out[:, :, 3:] > 0, out[:, :, :3], 255).astype(np.uint8)))
    assert a.eye_mid[0] == pytest.approx(0.5 * s.eye_x + 100, abs=2)
    assert a.eye_mid[1] == pytest.approx(0.5 * s.eye_y + 50, abs=2)


def test_hd_is_the_same_framing_at_native_resolution(subjects):
    s = subjects["hivision_idphoto_2.jpg"]
    p = crop.place_for_windows(s, 295, 413, crop.Windows(head=(240, 270)))
    hd = p.at_native(s.alpha.shape)
    assert hd.scale == 1.0 and hd.width == round(295 / p.scale) and hd.height == round(413 / p.scale)
    assert hd.width / hd.height == pytest.approx(295 / 413, abs=0.01)
