"""Image quality of the face against known degradations of real photos (figures in docs/calibration/quality.md)."""

from __future__ import annotations

import io
import math

import cv2
import numpy as np
import pytest
from PIL import Image

from checker import detectors, rules
from checker.context import NOSE_BRIDGE, Analysis
from checker.detectors import Measure, quality

from . import transforms as tf
from .conftest import analysis_of

ID_PHOTOS = ["hivision_idphoto_0.jpg", "hivision_idphoto_1.jpg", "hivision_idphoto_2.jpg", "hivision_idphoto_3.jpg"]
CLEAN = ID_PHOTOS + ["hivision_test0.jpg", "hivision_test1_webp.jpg", "hivision_test2_png.jpg", "hivision_test3.jpg",
                     "obama.jpg", "astronaut.png"]
# Four photos for each degradation: three ID photos of light skin and the one darker-skinned portrait.
SET = ["hivision_idphoto_0.jpg", "hivision_idphoto_2.jpg", "hivision_test3.jpg", "obama.jpg"]
# check name (rules/quality.json) -> measure name
CHECKS = {"face_blur": "face_blur", "face_noise": "face_noise", "face_too_dark": "face_too_dark",
          "face_over_kbt": "face_over_kbt", "face_contrast": "face_contrast", "face_unbalance": "face_unbalance",
          "deal_face_skincolor": "skin_color"}


def limit(check: str) -> float:
    """The rule's default maximum score."""
    return float(rules.load_rules()[check].default["max"])


def jpeg(rgb: np.ndarray, quality_: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality_)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def tint(rgb: np.ndarray, gains: tuple[float, float, float]) -> np.ndarray:
    """A colour cast: each channel times its gain (clipped)."""
    return np.clip(rgb.astype(np.float32) * np.float32(gains), 0, 255).round().astype(np.uint8)


def darker_skin(rgb: np.ndarray, a: Analysis, factor: float) -> np.ndarray:
    """Darken only the facial skin (soft-edged), leaving eyes, teeth, hair and background: a darker
    skin tone under the same, normal exposure."""
    m = cv2.GaussianBlur(a.face_skin.astype(np.float32), (0, 0), 3)[:, :, None]
    return np.clip(rgb * (1 - m * (1 - factor)), 0, 255).round().astype(np.uint8)


def shade_darker_half(rgb: np.ndarray, a: Analysis, factor: float) -> np.ndarray:
    """shade_half on whichever half of the face (split at the nose bridge) is already the darker,
    judged by the plain mean grey of the facial skin: the shadow deepens the existing imbalance."""
    x0, y0, x1, y1 = a.face_rect
    split = float(a.mesh[NOSE_BRIDGE, 0])
    cols = np.arange(a.width)[None, :]
    skin = a.face_skin
    left_mean = a.gray[skin & (cols < split)].mean()
    right_mean = a.gray[skin & (cols >= split)].mean()
    if left_mean <= right_mean:
        return tf.shade_half(rgb, split, factor, (x0, y0, x1, y1))
    w = a.width
    flipped = tf.shade_half(np.ascontiguousarray(rgb[:, ::-1]), w - split, factor, (w - x1, y0, w - x0, y1))
    return np.ascontiguousarray(flipped[:, ::-1])


TRANSFORMS = {
    "clean": lambda rgb, a: rgb,
    "jpeg40": lambda rgb, a: jpeg(rgb, 40),
    "blur1": lambda rgb, a: tf.blur(rgb, 1.0),
    "blur2": lambda rgb, a: tf.blur(rgb, 2.0),
    "blur2.5": lambda rgb, a: tf.blur(rgb, 2.5),
    "blur3": lambda rgb, a: tf.blur(rgb, 3.0),
    "blur4": lambda rgb, a: tf.blur(rgb, 4.0),
    "noise5": lambda rgb, a: tf.noise(rgb, 5.0),
    "noise7": lambda rgb, a: tf.noise(rgb, 7.0),
    "noise11": lambda rgb, a: tf.noise(rgb, 11.0),
    "noise15": lambda rgb, a: tf.noise(rgb, 15.0),
    "gain0.35": lambda rgb, a: tf.gain(rgb, 0.35),
    "gain1.8": lambda rgb, a: tf.gain(rgb, 1.8),
    "darker_skin0.45": lambda rgb, a: darker_skin(rgb, a, 0.45),
    "contrast0.35": lambda rgb, a: tf.contrast(rgb, 0.35),
    "contrast3": lambda rgb, a: tf.contrast(rgb, 3.0),
    "shade0.55": lambda rgb, a: shade_darker_half(rgb, a, 0.55),
    "green": lambda rgb, a: tint(rgb, (0.8, 1.15, 0.8)),
    "blue": lambda rgb, a: tint(rgb, (0.8, 0.9, 1.25)),
    "bgr": lambda rgb, a: np.ascontiguousarray(rgb[:, :, ::-1]),
    "warm": lambda rgb, a: tint(rgb, (1.1, 1.0, 0.85)),
}


@pytest.fixture(scope="module")
def measured(face_rgb):
    """measured(photo, transform) -> {measure: Measure}, each photo x transform analysed once."""
    cache: dict[tuple[str, str], dict[str, Measure]] = {}
    clean: dict[str, Analysis] = {}

    def get(name: str, how: str) -> dict[str, Measure]:
        if (name, how) not in cache:
            if name not in clean:
                clean[name] = analysis_of(face_rgb(name))
            a = clean[name] if how == "clean" else analysis_of(TRANSFORMS[how](face_rgb(name), clean[name]))
            got = detectors.measure(a, list(CHECKS.values()))
            cache[name, how] = {m: got[m] for m in CHECKS.values()}
        return cache[name, how]

    return get


def score(result: dict[str, Measure], measure: str) -> float:
    m = result[measure]
    assert m.ok, m.error
    return m.score


def passes(result: dict[str, Measure], check: str) -> bool:
    return score(result, CHECKS[check]) <= limit(check)


# --- clean photos ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", CLEAN)
def test_clean_photos_pass_every_quality_check(measured, name):
    got = measured(name, "clean")
    failing = {c: score(got, m) for c, m in CHECKS.items() if not passes(got, c)}
    assert not failing


@pytest.mark.parametrize("name", SET)
def test_jpeg_compression_alone_fails_nothing(measured, name):
    got = measured(name, "jpeg40")
    assert all(passes(got, c) for c in CHECKS)


# --- blur -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ID_PHOTOS + ["hivision_test3.jpg", "obama.jpg"])
def test_blur_score_grows_with_sigma_and_fails_at_2_5_px(measured, name):
    sigmas = ["clean", "blur1", "blur2", "blur3", "blur4"]
    values = [measured(name, s)["face_blur"].value for s in sigmas]
    assert values == sorted(values) and values[-1] > 2 * values[0]
    assert passes(measured(name, "clean"), "face_blur")
    assert not passes(measured(name, "blur2.5"), "face_blur")


@pytest.mark.parametrize("name", ["hivision_idphoto_2.jpg", "hivision_test1_webp.jpg", "obama.jpg"])
def test_blur_is_measured_relative_to_the_face(face_rgb, name):
    """The same photo at 0.6x, blurred by 0.6x the sigma, reads the same % of the face width."""
    rgb = face_rgb(name)
    small = cv2.resize(rgb, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    for sigma in (0.0, 3.0):
        big = detectors.measure(analysis_of(tf.blur(rgb, sigma) if sigma else rgb), ["face_blur"])["face_blur"]
        sm = detectors.measure(analysis_of(tf.blur(small, 0.6 * sigma) if sigma else small), ["face_blur"])
        assert sm["face_blur"].value == pytest.approx(big.value, rel=0.2)


# --- noise ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SET)
def test_noise_estimate_tracks_the_added_sigma(measured, name):
    base = measured(name, "clean")["face_noise"].value
    assert base < 3.0
    for sigma in (5, 11, 15):
        got = measured(name, f"noise{sigma}")["face_noise"].value
        # independent noises add in quadrature with the photo's own grain
        assert got == pytest.approx(math.hypot(sigma, base), rel=0.06, abs=0.3)


@pytest.mark.parametrize("name", SET)
def test_noise_verdict_flips_between_sigma_7_and_11(measured, name):
    assert passes(measured(name, "noise7"), "face_noise")
    assert not passes(measured(name, "noise11"), "face_noise")


# --- exposure -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SET)
def test_underexposed_face_is_too_dark(measured, name):
    assert not passes(measured(name, "gain0.35"), "face_too_dark")


@pytest.mark.parametrize("name", SET)
def test_darker_skin_at_a_normal_exposure_is_not_too_dark(measured, name):
    got = measured(name, "darker_skin0.45")
    assert got["face_too_dark"].value < measured(name, "clean")["face_too_dark"].value - 15  # the skin did darken
    assert passes(got, "face_too_dark")


@pytest.mark.parametrize("name", SET)
def test_overexposed_face_fails(measured, name):
    got = measured(name, "gain1.8")
    assert not passes(got, "face_over_kbt")
    assert passes(got, "face_too_dark")
    assert passes(measured(name, "gain0.35"), "face_over_kbt")


# --- contrast -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SET)
def test_flat_contrast_fails_and_exposure_gain_does_not_change_it(measured, name):
    assert not passes(measured(name, "contrast0.35"), "face_contrast")
    clean = measured(name, "clean")["face_contrast"].value
    assert measured(name, "gain0.35")["face_contrast"].value == pytest.approx(clean, rel=0.05)


def test_exaggerated_contrast_fails_where_it_does_not_clip(measured):
    # hivision_idphoto_1's face keeps its mid-tones at 3x contrast (others clip: face_over_kbt)
    assert not passes(measured("hivision_idphoto_1.jpg", "contrast3"), "face_contrast")


# --- uneven light ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SET + ["hivision_test0.jpg", "hivision_idphoto_1.jpg"])
def test_shadow_on_one_half_of_the_face_fails(measured, name):
    assert not passes(measured(name, "shade0.55"), "face_unbalance")
    # a shadow over the whole face is no imbalance
    assert passes(measured(name, "gain0.35"), "face_unbalance")


# --- skin colour ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SET)
@pytest.mark.parametrize("cast", ["green", "blue", "bgr"])
def test_colour_cast_on_the_skin_fails(measured, name, cast):
    assert not passes(measured(name, cast), "deal_face_skincolor")


@pytest.mark.parametrize("name", SET)
def test_warm_white_balance_is_still_natural_skin(measured, name):
    assert passes(measured(name, "warm"), "deal_face_skincolor")


def test_skin_locus_distance():
    assert quality.skin_locus_distance(10.0, 12.0) == 0.0  # hue 50 deg, chroma 15.6: ordinary skin
    assert quality.skin_locus_distance(0.0, 0.0) == pytest.approx(quality.SKIN_CHROMA[0])  # grey
    # hue 0 (pink-red), chroma 10: nearest is the 35-degree edge at distance 10 sin(35 deg)
    assert quality.skin_locus_distance(10.0, 0.0) == pytest.approx(10 * math.sin(math.radians(35)), abs=1e-6)
    assert quality.skin_locus_distance(-20.0, 20.0) > 20  # green
    assert quality.skin_locus_distance(30.0, 60.0) == pytest.approx(math.hypot(30, 60) - 45)  # oversaturated


# --- plumbing -------------------------------------------------------------------------------------
def test_one_face_crop_is_shared_by_every_measure(face_rgb, monkeypatch):
    built = []
    original = quality.FaceCrop.__init__

    def counting(self, a):
        built.append(a)
        original(self, a)

    monkeypatch.setattr(quality.FaceCrop, "__init__", counting)
    a = analysis_of(face_rgb("hivision_idphoto_3.jpg"))
    got = detectors.measure(a, list(CHECKS.values()))
    assert all(got[m].ok for m in CHECKS.values())
    assert len(built) == 1


def test_too_small_a_face_is_not_assessed_rather_than_passed(face_rgb):
    a = analysis_of(face_rgb("hivision_idphoto_3.jpg"))
    a.__dict__["face_width"] = quality.MIN_FACE_WIDTH - 1.0  # as if the face were tiny
    got = detectors.measure(a, list(CHECKS.values()))
    for m in CHECKS.values():
        assert not got[m].ok and got[m].score is None
