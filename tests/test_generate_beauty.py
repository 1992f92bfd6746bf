"""Beauty options on real photos: identity at 0, and each option doing what it says where it says."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from checker.context import CHIN, LEFT_IRIS, NOSE_TIP, RIGHT_IRIS
from checker.errors import CheckerError
from checker.generate import beauty

from . import transforms as tf
from .conftest import analysis_of

PHOTOS = ["hivision_idphoto_2.jpg", "hivision_test0.jpg", "hivision_test3.jpg"]


@pytest.fixture(scope="module")
def faces(face_rgb):
    out = {}
    for n in PHOTOS:
        rgb = face_rgb(n)
        out[n] = (rgb, analysis_of(rgb).mesh)
    return out


def skin_luma(rgb: np.ndarray, mesh: np.ndarray) -> float:
    m = beauty.skin_mask(rgb.shape[:2], mesh)
    return float(np.median(beauty._luma(rgb[m])))


@pytest.mark.parametrize("name", PHOTOS)
def test_zero_factors_change_nothing(faces, name):
    rgb, mesh = faces[name]
    alpha = np.random.default_rng(0).random(rgb.shape[:2]).astype(np.float32)
    out, a = beauty.apply_beauty(rgb, mesh, alpha=alpha)
    assert out is rgb and a is alpha


@pytest.mark.parametrize("bad", [-0.1, 1.5, "lots"])
def test_factors_outside_0_1_are_refused(faces, bad):
    rgb, mesh = faces[PHOTOS[0]]
    with pytest.raises(CheckerError) as info:
        beauty.apply_beauty(rgb, mesh, smooth=bad)
    assert info.value.status == "INVALID_ARGUMENT"


@pytest.mark.parametrize("name", PHOTOS)
def test_brightness_lifts_a_dark_face_toward_the_target(faces, name):
    rgb, mesh = faces[name]
    dark = tf.gain(rgb, 0.6)
    lumas = [skin_luma(beauty.brighten(dark, mesh, f), mesh) for f in (0.0, 0.3, 0.6, 1.0)]
    assert lumas == sorted(lumas) and lumas[-1] - lumas[0] > 0.05
    assert abs(lumas[-1] - beauty.TARGET_LUMA) < 0.03
    # Highlights are not clipped: no new pure-white pixels.
    out = beauty.brighten(dark, mesh, 1.0)
    assert (out == 255).all(axis=-1).sum() <= (dark == 255).all(axis=-1).sum() + 10


@pytest.mark.parametrize("name", PHOTOS)
def test_smoothing_calms_skin_and_leaves_the_rest(faces, name):
    rgb, mesh = faces[name]
    noisy = tf.noise(rgb, 8.0)
    out = beauty.smooth_skin(noisy, mesh, 1.0)
    skin = beauty.skin_mask(rgb.shape[:2], mesh)
    core = cv2.erode(skin.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)

    def hf(img: np.ndarray) -> float:
        g = img.astype(np.float32).mean(axis=2)
        return float(np.abs(g - cv2.GaussianBlur(g, (0, 0), 1.5))[core].mean())

    assert hf(out) < 0.6 * hf(noisy)
    changed = np.any(out != noisy, axis=-1)
    fw = float(np.linalg.norm(mesh[454, :2] - mesh[234, :2]))
    near_skin = cv2.dilate(skin.astype(np.uint8), np.ones((int(fw * 0.1) | 1,) * 2, np.uint8)).astype(bool)
    assert not (changed & ~near_skin).any()  # eyes' surroundings aside, nothing far from skin moves
    eyes = np.zeros(skin.shape, bool)
    for iris in (RIGHT_IRIS, LEFT_IRIS):
        x, y = mesh[iris[0], :2].round().astype(int)
        eyes[y - 2:y + 3, x - 2:x + 3] = True
    assert not changed[eyes].any()  # the irises are untouched


@pytest.mark.parametrize("name", PHOTOS)
def test_thinning_moves_the_jaw_in_and_nothing_else(faces, name):
    rgb, mesh = faces[name]
    fw = float(np.linalg.norm(mesh[454, :2] - mesh[234, :2]))
    widths = []
    for f in (0.5, 1.0):
        out, _ = beauty.thin_face(rgb, mesh, f)
        after = analysis_of(out).mesh
        jaw_w = float(np.mean(np.abs(after[list(beauty.JAW_LEFT[1:5]), 0] - after[list(beauty.JAW_RIGHT[1:5]), 0])))
        widths.append(jaw_w)
        for idx in (RIGHT_IRIS[0], LEFT_IRIS[0], NOSE_TIP, 10):
            # the landmarker's re-fitted mesh jitters by up to ~4 px when the jaw changes; the pixels say more
            assert np.linalg.norm(after[idx, :2] - mesh[idx, :2]) < 4.0
        for iris in (RIGHT_IRIS[0], LEFT_IRIS[0]):
            x, y = mesh[iris, :2].round().astype(int)
            patch = (slice(y - 6, y + 7), slice(x - 6, x + 7))
            assert np.abs(out[patch].astype(int) - rgb[patch].astype(int)).mean() < 3
    before = float(np.mean(np.abs(mesh[list(beauty.JAW_LEFT[1:5]), 0] - mesh[list(beauty.JAW_RIGHT[1:5]), 0])))
    assert before - widths[0] > 0.01 * fw and widths[1] < widths[0]
    out, _ = beauty.thin_face(rgb, mesh, 1.0)
    top = int(mesh[10, 1]) - 5  # above the forehead: far from the jaw
    assert np.array_equal(out[:max(0, top)], rgb[:max(0, top)])


def test_thinning_warps_the_alpha_with_the_pixels(faces):
    rgb, mesh = faces["hivision_idphoto_2.jpg"]
    # A matte that is the face's own silhouette below the eyes: its edge must follow the jaw.
    alpha = np.zeros(rgb.shape[:2], np.float32)
    cv2.fillPoly(alpha, [mesh[list(beauty.JAW_RIGHT + (CHIN,) + beauty.JAW_LEFT[::-1]), :2].round().astype(np.int32)],
                 1.0)
    out, warped = beauty.thin_face(rgb, mesh, 1.0, alpha.copy())
    row = int(mesh[beauty.JAW_RIGHT[3], 1])
    cols_before = np.flatnonzero(alpha[row] > 0.5)
    cols_after = np.flatnonzero(warped[row] > 0.5)
    assert cols_after[0] > cols_before[0] and cols_after[-1] < cols_before[-1]


@pytest.mark.parametrize("name", PHOTOS)
def test_sharpening_raises_edge_energy_without_colour_shift(faces, name):
    rgb, _ = faces[name]
    soft = tf.blur(rgb, 1.5)
    out = beauty.sharpen(soft, 1.0)

    def lap(img: np.ndarray) -> float:
        return float(np.abs(cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32), -1)).mean())

    assert lap(out) > 1.3 * lap(soft)
    assert np.abs(out.astype(int).mean(axis=(0, 1)) - soft.astype(int).mean(axis=(0, 1))).max() < 2
