"""Glasses detectors against glasses drawn on real photos, painted dark lenses and added glare.

Ground truth: frames are drawn along lens outlines around each eye plus a bridge and temple
arms (thin: 1-2 px grey or metal; thick: 6-10 px black), placed from the photo's own mesh.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from checker import detectors
from checker.views import EYE_CORNERS

from . import transforms
from .conftest import analysis_of

GLASSES_MEASURES = ("glasses", "thin_frame_glasses", "thick_black_frame_glasses", "sunglasses", "glasses_glare")
CLEAN = ("hivision_idphoto_0.jpg", "hivision_idphoto_1.jpg", "hivision_idphoto_2.jpg", "hivision_idphoto_3.jpg",
         "hivision_test0.jpg", "hivision_test1_webp.jpg", "hivision_test2_png.jpg", "hivision_test3.jpg",
         "obama.jpg", "astronaut.png", "biden.jpg")
# ID-photo sized portraits (eyes 35-60 px wide), where the brief's pixel widths are realistic.
FRAMED = ("hivision_idphoto_0.jpg", "hivision_idphoto_1.jpg", "hivision_idphoto_2.jpg", "hivision_idphoto_3.jpg",
          "hivision_test1_webp.jpg", "hivision_test3.jpg", "obama.jpg")


# --- transforms ----------------------------------------------------------------------------------
def _eyes(mesh: np.ndarray) -> list[tuple[np.ndarray, float, float]]:
    """(centre, width, outward direction in x) per eye."""
    out = []
    for o, i in EYE_CORNERS:
        c = (mesh[o, :2] + mesh[i, :2]) / 2
        out.append((c, float(np.linalg.norm(mesh[o, :2] - mesh[i, :2])), float(np.sign(mesh[o, 0] - mesh[i, 0]))))
    return out


def _lens_outline(centre: np.ndarray, half_w: float, half_h: float, roundness: float) -> np.ndarray:
    """Superellipse outline: roundness 2 = ellipse, 4-5 = rounded rectangle."""
    t = np.linspace(0, 2 * np.pi, 120, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    x = half_w * np.sign(c) * np.abs(c) ** (2 / roundness)
    y = half_h * np.sign(s) * np.abs(s) ** (2 / roundness)
    return np.stack([centre[0] + x, centre[1] + y], axis=1)


def draw_glasses(rgb: np.ndarray, mesh: np.ndarray, thickness: int, colour, roundness: float = 2.0) -> np.ndarray:
    """A pair of glasses: lens outlines (1.45 x 1.0 eye widths) centred a little below and
    outside each eye, a bridge across the nose at the lenses' upper third and temple arms to the
    sides of the face; lines ``thickness`` px wide in ``colour``."""
    out = rgb.copy()
    lenses = []
    for c, w, outward in _eyes(mesh):
        centre = c + [0.06 * w * outward, 0.08 * w]
        half_w, half_h = 0.72 * w, 0.5 * w
        pts = _lens_outline(centre, half_w, half_h, roundness)
        cv2.polylines(out, [np.round(pts).astype(np.int32)], True, colour, thickness, cv2.LINE_AA)
        lenses.append((centre, half_w, half_h))
    (lc, lw, lh), (rc, rw, _) = sorted(lenses, key=lambda item: item[0][0])
    y = (lc[1] + rc[1]) / 2 - 0.5 * lh
    cv2.line(out, (round(lc[0] + 0.93 * lw), round(y)), (round(rc[0] - 0.93 * rw), round(y)), colour, thickness,
             cv2.LINE_AA)
    left_x, right_x = sorted([mesh[234, 0], mesh[454, 0]])
    cv2.line(out, (round(lc[0] - lw), round(y)), (round(left_x), round(y)), colour, thickness, cv2.LINE_AA)
    cv2.line(out, (round(rc[0] + rw), round(y)), (round(right_x), round(y)), colour, thickness, cv2.LINE_AA)
    return out


def add_glare(rgb: np.ndarray, mesh: np.ndarray, strength: float = 0.85, size: float = 0.2) -> np.ndarray:
    """A soft white reflection on each lens: a Gaussian blob (sigma = ``size`` eye widths, peak
    opacity ``strength``) up and outside the eye, where window reflections sit on lenses."""
    out = rgb.astype(np.float32)
    h, w = rgb.shape[:2]
    for c, ew, outward in _eyes(mesh):
        cx, cy = c + [0.3 * ew * outward, -0.3 * ew]
        sigma = size * ew
        r = int(4 * sigma)
        x0, x1, y0, y1 = max(0, int(cx) - r), min(w, int(cx) + r), max(0, int(cy) - r), min(h, int(cy) + r)
        yy, xx = np.mgrid[y0:y1, x0:x1]
        alpha = (strength * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2)))[..., None]
        out[y0:y1, x0:x1] = out[y0:y1, x0:x1] * (1 - alpha) + 255 * alpha
    return np.clip(out, 0, 255).round().astype(np.uint8)


# --- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clean_scores(face_rgb):
    out = {}
    for name in CLEAN:
        got = detectors.measure(analysis_of(face_rgb(name)), GLASSES_MEASURES)
        out[name] = got
    return out


@pytest.fixture(scope="module")
def meshes(face_rgb):
    return {name: analysis_of(face_rgb(name)).mesh for name in set(FRAMED) | set(CLEAN)}


def _measure(rgb: np.ndarray):
    return detectors.measure(analysis_of(rgb), GLASSES_MEASURES)


# --- tests ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", CLEAN)
def test_clean_photos_pass_every_glasses_check(clean_scores, name):
    got = clean_scores[name]
    for m in GLASSES_MEASURES:
        assert got[m].ok, (m, got[m].error)
        assert got[m].score <= 50, (name, m, got[m].score, got[m].value)


@pytest.mark.parametrize("name", FRAMED)
@pytest.mark.parametrize("thickness,colour,roundness", [(1, (70, 70, 78), 2.0), (2, (95, 90, 90), 4.0)])
def test_thin_frames_fail_thin_frame_check(face_rgb, meshes, name, thickness, colour, roundness):
    rgb = face_rgb(name)
    got = _measure(draw_glasses(rgb, meshes[name], thickness, colour, roundness))
    assert got["thin_frame_glasses"].score > 50, got["thin_frame_glasses"].value
    assert got["glasses"].score > 50
    # A thin frame is not a thick black one.
    assert got["thick_black_frame_glasses"].score <= 50, got["thick_black_frame_glasses"].value


@pytest.mark.parametrize("name", FRAMED)
@pytest.mark.parametrize("thickness,roundness", [(6, 4.0), (8, 2.0), (10, 4.0)])
def test_thick_black_frames_fail_thick_frame_check(face_rgb, meshes, name, thickness, roundness):
    rgb = face_rgb(name)
    got = _measure(draw_glasses(rgb, meshes[name], thickness, (18, 18, 20), roundness))
    assert got["thick_black_frame_glasses"].score > 50, got["thick_black_frame_glasses"].value
    assert got["glasses"].score > 50
    assert got["thin_frame_glasses"].score <= 50, got["thin_frame_glasses"].value


def test_silver_frame_on_darker_skin_fails_thin_frame_check(face_rgb, meshes):
    got = _measure(draw_glasses(face_rgb("biden.jpg"), meshes["biden.jpg"], 2, (205, 205, 210)))
    assert got["thin_frame_glasses"].score > 50, got["thin_frame_glasses"].value


def test_frame_evidence_grows_with_contrast(face_rgb, meshes):
    name = "hivision_idphoto_2.jpg"
    rgb, mesh = face_rgb(name), meshes[name]
    faint = _measure(draw_glasses(rgb, mesh, 1, (170, 165, 165)))["thin_frame_glasses"].score
    strong = _measure(draw_glasses(rgb, mesh, 1, (60, 60, 66)))["thin_frame_glasses"].score
    assert faint < strong


def test_shadowed_bare_eyes_are_not_sunglasses_but_dark_lenses_are(face_rgb, meshes):
    # Darkness alone is no lens: eye sockets shaded down to 40% (a shadow, dark skin around the
    # eyes) stay below the line on every photo; dark lenses painted over the eyes (frameless
    # sunglasses, a synthetic stand-in) fail on all but one (hivision_idphoto_2: the classifier does
    # not take its flat discs for sunglasses; docs/calibration/glasses.md).
    painted_fail = []
    for name in FRAMED:
        mesh = meshes[name]
        centres = np.array([c for c, _, _ in _eyes(mesh)])
        width = float(np.mean([w for _, w, _ in _eyes(mesh)]))
        rgb = face_rgb(name).astype(np.float32)
        yy, xx = np.mgrid[: rgb.shape[0], : rgb.shape[1]]
        shade = np.ones(rgb.shape[:2], np.float32)
        for cx, cy in centres:
            shade -= 0.6 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * (0.7 * width) ** 2))
        shadowed = np.clip(rgb * np.clip(shade, 0.4, 1)[..., None], 0, 255).astype(np.uint8)
        shadow = _measure(shadowed)["sunglasses"]
        assert shadow.ok and shadow.score <= 50, (name, shadow.value)
        got = _measure(transforms.dark_lenses(face_rgb(name), centres, width))
        assert got["glasses"].score >= got["sunglasses"].score
        if got["sunglasses"].score > 50:
            painted_fail.append(name)
    assert len(painted_fail) >= len(FRAMED) - 1, painted_fail


def test_real_sunglasses_fail(face_rgb):
    got = _measure(face_rgb("mask_116_with.jpg"))
    assert got["sunglasses"].score > 50, got["sunglasses"].value


# hivision_test3 is left out: on its narrow eyes the painted blob lands on the eye opening, which
# glare ignores (the white of the eye is not a reflection), and what stays outside is faint.
@pytest.mark.parametrize("name", ("hivision_idphoto_0.jpg", "hivision_idphoto_2.jpg", "hivision_idphoto_3.jpg",
                                  "obama.jpg", "biden.jpg"))
def test_glare_blobs_fail_glare(face_rgb, meshes, name, clean_scores):
    got = _measure(add_glare(face_rgb(name), meshes[name]))
    assert got["glasses_glare"].score > 50, got["glasses_glare"].value
    assert clean_scores[name]["glasses_glare"].score <= 50


def test_small_highlight_is_not_glare(face_rgb, meshes):
    # A catch-light-sized reflection (sigma 0.04 eye widths) stays under the threshold.
    name = "hivision_idphoto_2.jpg"
    got = _measure(add_glare(face_rgb(name), meshes[name], strength=0.9, size=0.04))
    assert got["glasses_glare"].score <= 50, got["glasses_glare"].value


def test_frame_width_is_judged_against_the_eye_not_in_pixels(face_rgb):
    # At twice the resolution a 2 px frame is the 1 px frame of the original and 16 px the 8 px one.
    big = cv2.resize(face_rgb("hivision_idphoto_2.jpg"), None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    mesh = analysis_of(big).mesh
    clean = _measure(big)
    thin = _measure(draw_glasses(big, mesh, 2, (70, 70, 78)))
    thick = _measure(draw_glasses(big, mesh, 16, (18, 18, 20)))
    assert max(clean[m].score for m in GLASSES_MEASURES) <= 50
    assert thin["thin_frame_glasses"].score > 50 >= thin["thick_black_frame_glasses"].score
    assert thick["thick_black_frame_glasses"].score > 50 >= thick["thin_frame_glasses"].score


def test_sunglasses_are_judged_on_faces_too_small_for_the_frame_measures(face_rgb):
    # hivision_idphoto_2 shrunk until its eyes are under 8 px: frames and glare cannot be measured,
    # the classifier on the upper head still judges sunglasses.
    rgb = face_rgb("hivision_idphoto_2.jpg")
    mesh = analysis_of(rgb).mesh
    f = 7.0 / float(np.linalg.norm(mesh[33, :2] - mesh[133, :2]))  # eyes 7 px wide
    small = cv2.resize(rgb, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
    got = _measure(small)
    assert not got["glasses_glare"].ok and "too small" in got["glasses_glare"].error
    assert got["sunglasses"].ok and got["sunglasses"].score <= 50
