"""Matting on real photos: the same alpha over two backgrounds, solid inside, no old-backdrop fringe;
errors against known alpha on bench/matting.py's composites (people cut from plain backdrops with a derived
matte, put over other photos' textures); the ONNX backends' conventions through fake models (their real
weights cannot be had offline)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from checker.context import FACE_OVAL, Analysis
from checker.errors import CheckerError
from checker.generate import matting
from checker.models import files

from .conftest import FACES, analysis_of, need_shared, photo_of

PHOTOS = ["hivision_test0.jpg", "hivision_idphoto_2.jpg", "hivision_test3.jpg"]
GREEN, MAGENTA = np.array([0, 177, 64], np.float32), np.array([220, 40, 160], np.float32)


def over(rgb: np.ndarray, alpha: np.ndarray, color: np.ndarray) -> np.ndarray:
    return np.clip(rgb * alpha[..., None] + color * (1 - alpha[..., None]) + 0.5, 0, 255).astype(np.uint8)


def edge_band(*alphas: np.ndarray) -> np.ndarray:
    import cv2

    band = np.zeros(alphas[0].shape, bool)
    for a in alphas:
        band |= (a > 0.02) & (a < 0.98)
    return cv2.dilate(band.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)


@pytest.mark.parametrize("name", PHOTOS)
def test_the_same_person_over_two_backgrounds_gets_nearly_the_same_alpha(face_rgb, name):
    rgb = face_rgb(name)
    ref = matting.person_alpha(analysis_of(rgb))
    a1 = matting.person_alpha(analysis_of(over(rgb, ref, GREEN)))
    a2 = matting.person_alpha(analysis_of(over(rgb, ref, MAGENTA)))
    band = edge_band(ref, a1, a2)
    # Measured 2-5 (percent points) on these photos; the raw segmentation mask alone gives ~7.
    assert np.abs(a1 - a2)[band].mean() < 0.06
    assert np.abs(a1 - ref)[band].mean() < 0.08 and np.abs(a2 - ref)[band].mean() < 0.08


@pytest.mark.parametrize("name", PHOTOS)
def test_the_face_is_solid_and_the_far_background_clear(face_rgb, name):
    import cv2

    a = analysis_of(face_rgb(name))
    alpha = matting.person_alpha(a)
    face = np.zeros(alpha.shape, np.uint8)
    cv2.fillPoly(face, [a.mesh[list(FACE_OVAL), :2].round().astype(np.int32)], 1)
    face = cv2.erode(face, np.ones((15, 15), np.uint8)).astype(bool)
    assert alpha[face].min() == 1.0
    assert alpha[:10, :10].max() == 0.0 and alpha[:10, -10:].max() == 0.0


def test_no_red_fringe_when_a_red_backdrop_photo_goes_onto_white(face_rgb):
    a = analysis_of(face_rgb("hivision_idphoto_0.jpg"))  # red background
    alpha = matting.person_alpha(a)
    white = np.full(3, 255, np.float32)
    naive = over(a.rgb, alpha, white).astype(np.float32)
    clean = over(matting.estimate_foreground(a.rgb, alpha), alpha, white).astype(np.float32)
    band = (alpha > 0.05) & (alpha < 0.95)
    assert band.sum() > 500

    def redness(img: np.ndarray) -> float:
        return float((img[..., 0] - (img[..., 1] + img[..., 2]) / 2)[band].mean())

    assert redness(clean) < 0.5 * redness(naive)
    assert redness(clean) < 15


def test_cutout_is_straight_rgba(face_rgb):
    a = analysis_of(face_rgb("hivision_test3.jpg"))
    rgba = matting.cutout(a)
    assert rgba.shape == a.rgb.shape[:2] + (4,) and rgba.dtype == np.uint8
    solid = rgba[..., 3] == 255
    assert np.array_equal(rgba[..., :3][solid], a.rgb[solid])  # opaque pixels keep their colour


def test_closed_form_refinement_agrees_with_the_default(face_rgb):
    a = analysis_of(face_rgb("hivision_idphoto_2.jpg"))
    guided = matting.person_alpha(a)
    closed = matting.person_alpha(a, "embedded-closed-form")
    band = edge_band(guided, closed)
    assert np.abs(guided - closed)[band].mean() < 0.12


def test_names(face_rgb):
    assert matting.backend(None) is matting.backend("mediapipe") is matting.backend("embedded")
    with pytest.raises(CheckerError) as info:
        matting.backend("photoshop")
    assert info.value.status == "INVALID_ARGUMENT" and "rmbg-1.4" in info.value.message


@pytest.mark.parametrize("name", ["hivision_modnet", "rmbg-1.4", "birefnet-v1-lite"])
def test_a_missing_model_file_is_unavailable(face_rgb, tmp_path, monkeypatch, name):
    monkeypatch.setenv(files.ENV, str(tmp_path))
    with pytest.raises(CheckerError) as info:
        matting.person_alpha(analysis_of(face_rgb("hivision_test3.jpg")), name)
    assert info.value.status == "MODEL_UNAVAILABLE"


def test_the_seed_default_name_means_modnet_only_when_it_is_installed(tmp_path, monkeypatch):
    monkeypatch.setenv(files.ENV, str(tmp_path))
    assert matting.resolve("modnet_photographic_portrait_matting") == "embedded"
    _fake_model(tmp_path / files.MODEL_FILES["modnet_photographic_portrait_matting"].filename, 0.5, 0.5)
    assert matting.resolve("modnet_photographic_portrait_matting") == "modnet_photographic_portrait_matting"


# --- known alpha (bench/matting.py's ground truth, at 300 x 400 so the tests stay fast) ---------------
SMALL = (300, 400)


@pytest.fixture(scope="module")
def truths():
    need_shared(FACES / "hivision_idphoto_1.jpg", "the real photos")
    from bench import matting as bench

    return bench, {s: bench.ground_truth(s, SMALL) for s in
                   ("hivision_idphoto_1.jpg", "hivision_idphoto_2.jpg", "hivision_test3.jpg")}


# (person, background) -> bounds on the default (guided filter) matte's whole-image SAD (/1000) and its MSE
# (x1000) in the edge band: the figures measured with the background cap (SAD 1.53, 1.47, 7.06; band MSE 37.0,
# 15.8, 109.0) plus 10% and 8%. Before the cap the filter measured 1.46, 1.51, 6.98 and 27.5, 17.0, 93.1; the
# segmentation mask alone 1.48, 1.77, 7.22 and 32.5, 25.6, 102.0. The cap takes the old background out of the
# fringe (the alpha above the truth, "spill", 0.14, 1.08, 3.72 against 0.33, 1.33, 4.24 before) and with it
# some hair and an ear the segmentation was unsure of, where the new backdrop has their colours (the street's
# red sign behind the ear, the flag's dark stripes behind the curls): docs/generation/matting.md.
ALPHA_BOUNDS = {
    ("hivision_idphoto_2.jpg", "street"): (1.69, 40.0),
    ("hivision_test3.jpg", "room"): (1.62, 17.1),
    ("hivision_idphoto_1.jpg", "flag"): (7.77, 117.7),
}


@pytest.mark.parametrize(("person", "bg"), list(ALPHA_BOUNDS))
def test_alpha_error_on_known_alpha_composites(truths, person, bg):
    bench, t = truths
    truth = t[person]
    img = bench.composite(truth, bench.background(bg, SMALL))
    a = analysis_of(img)
    alpha = matting.person_alpha(a)
    band = bench.band(truth.alpha)
    sad, band_mse = bench.alpha_errors(alpha, truth.alpha)["sad"], bench.alpha_errors(alpha, truth.alpha, band)["mse"]
    sad_max, mse_max = ALPHA_BOUNDS[(person, bg)]
    assert sad < sad_max and band_mse < mse_max, (sad, band_mse)
    # paired, same image, against the segmentation mask it starts from: much less background spilled into
    # the matte (measured 0.54, 0.70, 0.86 of the mask's), and the whole-image error at most 5% above the
    # mask's where the hair it loses costs more than the spill it removes (measured 1.03, 0.83, 0.98)
    raw = a.raw_person_mask
    spill, raw_spill = (float(np.clip(x - truth.alpha, 0, None).sum()) for x in (alpha, raw))
    assert spill < 0.9 * raw_spill, (spill, raw_spill)
    assert sad < 1.05 * bench.alpha_errors(raw, truth.alpha)["sad"]


def test_hair_carries_no_trace_of_a_saturated_old_background(truths):
    """Each person over saturated green, cut out with the default path and put on white: at the hair (the
    truth's soft pixels) the colours must not lean toward the green. Measured (300 x 400): the excess
    greenness G - (R + B) / 2 over the truth on white is 1.3-2.7 with multi-level foreground estimation, 5.0-7.4
    with the local-colour estimate it replaced and 20-22 with the photo's own colours; the shift of the cut-out's
    colours toward the green (alpha-weighted, RGB units) averages 2.7 (0.5-4.7), against 9.3 and 39. The bounds
    (4 and 5) sit between the chosen method and the old one."""
    bench, t = truths
    green = bench.background("green", SMALL)
    shifts = []
    for person, truth in t.items():
        img = bench.composite(truth, green)
        rgba = matting.cutout(analysis_of(img))
        alpha = rgba[..., 3].astype(np.float32) / 255
        fg = rgba[..., :3].astype(np.float32)
        soft = (truth.alpha > 0.01) & (truth.alpha < 0.99)
        assert soft.sum() > 1500
        out = alpha[..., None] * fg + (1 - alpha[..., None]) * 255.0
        ref = truth.alpha[..., None] * truth.fg + (1 - truth.alpha[..., None]) * 255.0

        def greenness(c: np.ndarray) -> np.ndarray:
            return c[..., 1] - (c[..., 0] + c[..., 2]) / 2

        excess = float((greenness(out) - greenness(ref))[soft].mean())
        assert excess < 4.0, (person, excess)
        sample = bench.Sample(person, "green", img, truth.alpha, truth.fg, green)
        shifts.append(bench.foreground_errors(fg, alpha, sample)["toward"])
    assert float(np.mean(shifts)) < 5.0, shifts


# --- fake ONNX models -----------------------------------------------------------------------------
def _fake_model(path, scale: float, offset: float, extra_output: bool = False) -> None:
    """A FAKE matting network (not the real model): out = scale * mean_over_channels(input) + offset,
    shaped 1 x 1 x H x W. It tells whether the backend normalised, sized and read its output right."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "h", "w"])
    y = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 1, "h", "w"])
    inits = [helper.make_tensor("s", TensorProto.FLOAT, [], [scale]),
             helper.make_tensor("o", TensorProto.FLOAT, [], [offset])]
    nodes = [helper.make_node("ReduceMean", ["input"], ["m"], axes=[1], keepdims=1),
             helper.make_node("Mul", ["m", "s"], ["ms"]), helper.make_node("Add", ["ms", "o"], ["out"])]
    outputs = [y]
    if extra_output:  # BiRefNet exports several outputs; the last is the one used
        nodes.insert(0, helper.make_node("Identity", ["m0"], ["decoy"]))
        nodes.insert(0, helper.make_node("ReduceMax", ["input"], ["m0"], axes=[1], keepdims=1))
        outputs = [helper.make_tensor_value_info("decoy", TensorProto.FLOAT, [1, 1, "h", "w"]), y]
    graph = helper.make_graph(nodes, "fake_matting", [x], outputs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))


@pytest.mark.parametrize(("name", "scale", "offset", "extra"), [
    ("modnet_photographic_portrait_matting", 0.5, 0.5, False),  # input in [-1, 1] -> matte in [0, 1]
    ("hivision_modnet", 0.5, 0.5, False),
    ("rmbg-1.4", 1.0, 0.0, False),  # input in [-0.5, 0.5], min-max normalised output
    ("birefnet-v1-lite", 10.0, 0.0, True),  # ImageNet-normalised input, logits through a sigmoid
])
def test_onnx_backends_with_fake_models(tmp_path, monkeypatch, name, scale, offset, extra):
    monkeypatch.setenv(files.ENV, str(tmp_path))
    _fake_model(tmp_path / files.MODEL_FILES[name].filename, scale, offset, extra)
    rgb = np.zeros((300, 200, 3), np.uint8)
    rgb[:, 100:] = 255  # black left half, white right half; the network needs no face
    a = Analysis(photo_of(rgb))
    alpha = matting.person_alpha(a, name)
    assert alpha.shape == (300, 200) and alpha.dtype == np.float32
    assert alpha[:, :90].max() < 0.05 and alpha[:, 110:].min() > 0.95
