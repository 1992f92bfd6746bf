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
def at_face_width(rgb: np.ndarray, a: Analysis, width: float) -> np.ndarray:
    """The photo resized so the face is ``width`` px wide (area-averaged down, bicubic up)."""
    f = width / a.face_width
    size = (round(rgb.shape[1] * f), round(rgb.shape[0] * f))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC)


@pytest.fixture(scope="module")
def blur_at(face_rgb):
    """blur_at(photo, face width px, blur % of the face width) -> the face_blur Measure of the real
    photo resized to that face width and blurred by that share of it (a full Analysis each time)."""
    cache: dict[tuple[str, float, float], Measure] = {}
    clean: dict[str, Analysis] = {}

    def get(name: str, width: float, pct: float) -> Measure:
        if (name, width, pct) not in cache:
            if name not in clean:
                clean[name] = analysis_of(face_rgb(name))
            rgb = at_face_width(face_rgb(name), clean[name], width)
            if pct:
                rgb = tf.blur(rgb, pct / 100 * width)
            m = detectors.measure(analysis_of(rgb), ["face_blur"])["face_blur"]
            assert m.ok, m.error
            cache[name, width, pct] = m
        return cache[name, width, pct]

    return get


BLUR_PHOTOS = ["hivision_idphoto_2.jpg", "hivision_test3.jpg", "obama.jpg", "hivision_test1_webp.jpg"]
FACE_WIDTHS = [90, 160, 320]


@pytest.mark.parametrize("name", BLUR_PHOTOS)
@pytest.mark.parametrize("width", FACE_WIDTHS)
def test_a_sharp_face_passes_at_every_size(blur_at, name, width):
    """The pixel floor is not blur: the same sharp photo passes with its face 90 px wide."""
    for pct in (0.0, 0.25):
        assert blur_at(name, width, pct).score <= limit("face_blur")


@pytest.mark.parametrize("name", BLUR_PHOTOS)
@pytest.mark.parametrize("width", FACE_WIDTHS)
def test_the_same_relative_blur_fails_at_every_size(blur_at, name, width):
    for pct in (1.25, 2.0):
        assert blur_at(name, width, pct).score > limit("face_blur")


@pytest.mark.parametrize("name", BLUR_PHOTOS[:2])
def test_blur_reads_the_same_share_of_the_face_at_any_size(blur_at, name):
    for pct in (1.25, 2.0):
        values = [blur_at(name, w, pct).value for w in FACE_WIDTHS]
        assert max(values) < 1.25 * min(values)
        # net of the floor, the reading is the added blur plus the photo's own, in quadrature
        assert min(values) > 0.8 * pct


@pytest.mark.parametrize("name", ID_PHOTOS + ["hivision_test3.jpg", "obama.jpg"])
def test_blur_score_grows_with_sigma(measured, name):
    sigmas = ["clean", "blur1", "blur2", "blur3", "blur4"]
    values = [measured(name, s)["face_blur"].value for s in sigmas]
    assert values == sorted(values) and values[-1] > 2 * values[0]
    assert passes(measured(name, "clean"), "face_blur")
    assert not passes(measured(name, "blur4"), "face_blur")


def test_the_blur_floor_is_taken_off_in_quadrature():
    w = quality.WORK_FACE_WIDTH
    assert quality.net_blur_pct(quality.BLUR_FLOOR_PX, w) == 0.0
    assert quality.net_blur_pct(0.5 * quality.BLUR_FLOOR_PX, w) == 0.0
    assert quality.net_blur_pct(math.hypot(1.6, quality.BLUR_FLOOR_PX), w) == pytest.approx(100 * 1.6 / w)


# --- resolution -----------------------------------------------------------------------------------
def resolution_verdict(value: float, spec_checks: dict | None = None, **request) -> bool:
    plan = rules.plan(spec_checks or {}, request, rules.Frame(600, 800, 295, 413))
    rule, th = plan.active["face_resolution"]
    return rules.compare(rule, value, th)[0]


def test_resolution_is_the_eye_distance_in_the_upload_pixels(face_rgb):
    rgb = face_rgb("hivision_idphoto_2.jpg")
    big = analysis_of(rgb)
    small = analysis_of(cv2.resize(rgb, None, fx=0.4, fy=0.4, interpolation=cv2.INTER_AREA))
    full = detectors.measure(big, ["face_resolution"])["face_resolution"].value
    part = detectors.measure(small, ["face_resolution"])["face_resolution"].value
    left, right = big.eyes
    assert full == pytest.approx(float(np.linalg.norm(right - left)), abs=0.1)
    assert part == pytest.approx(0.4 * full, rel=0.04)


def test_an_analysis_of_a_resized_copy_still_reports_the_upload_size(face_rgb):
    rgb = face_rgb("hivision_idphoto_2.jpg")
    a = analysis_of(rgb)
    copy = Analysis(a.photo)  # same upload, analysed at half size (as a faster pipeline might)
    copy.rgb = cv2.resize(rgb, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    copy.height, copy.width = copy.rgb.shape[:2]
    assert quality.upload_eye_distance(copy) == pytest.approx(quality.upload_eye_distance(a), rel=0.04)


@pytest.mark.parametrize("name", ["hivision_idphoto_2.jpg", "obama.jpg"])
def test_a_small_sharp_face_fails_resolution_not_blur(face_rgb, name):
    """Too few pixels is its own verdict: the photo shrunk until the eyes are ~40 px apart stays
    sharp (face_blur passes) and fails face_resolution; the original passes both."""
    rgb = face_rgb(name)
    a = analysis_of(rgb)
    eyes = quality.upload_eye_distance(a)
    f = 40.0 / eyes
    small = analysis_of(cv2.resize(rgb, None, fx=f, fy=f, interpolation=cv2.INTER_AREA))
    got = detectors.measure(small, ["face_resolution", "face_blur"])
    assert got["face_blur"].score <= limit("face_blur")
    assert not resolution_verdict(got["face_resolution"].value)
    assert resolution_verdict(detectors.measure(a, ["face_resolution"])["face_resolution"].value)


def test_resolution_minimum_is_on_by_default_and_overridable():
    rule = rules.load_rules()["face_resolution"]
    assert rule.enabled and rule.default["min"] > 0
    lo = float(rule.default["min"])
    assert resolution_verdict(lo + 1) and not resolution_verdict(lo - 1)
    assert not resolution_verdict(lo + 10, {"face_resolution": {"min": lo + 20}})  # a spec raises it
    assert resolution_verdict(lo - 10, eye_distance_min=lo - 20)  # a request lowers it
    assert not resolution_verdict(lo + 10, {"face_resolution": {"min": lo - 20}}, eye_distance_min=lo + 20)


# --- noise ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SET)
def test_noise_estimate_tracks_the_added_sigma(measured, name):
    base = measured(name, "clean")["face_noise"].value
    assert base < 4.0
    for sigma in (5, 11, 15):
        got = measured(name, f"noise{sigma}")["face_noise"].value
        # independent noises add in quadrature with the photo's own grain
        assert got == pytest.approx(math.hypot(sigma, base), rel=0.08, abs=0.3)


@pytest.mark.parametrize("name", SET)
def test_sigma_10_noise_fails_also_after_jpeg(face_rgb, measured, name):
    """Sensor noise of sigma 10 fails as a lossless file and after JPEG quality 90; the clean photo
    re-encoded at quality 85 (blocking on grainy skin) passes, as does sigma 3."""
    rgb = face_rgb(name)
    noisy = tf.noise(rgb, 10.0, seed=3)
    for pixels in (noisy, jpeg(noisy, 90)):
        assert detectors.measure(analysis_of(pixels), ["face_noise"])["face_noise"].score > limit("face_noise")
    for pixels in (jpeg(rgb, 85), tf.noise(rgb, 3.0, seed=3)):
        assert detectors.measure(analysis_of(pixels), ["face_noise"])["face_noise"].score <= limit("face_noise")


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
