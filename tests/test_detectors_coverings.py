"""Masks, hats and face coverings: the labelled mask photos in ../shared/faces, plus masks, hats
and occluding patches painted on clean photos at places taken from their own face mesh."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import checker
from checker import detectors, models
from checker.context import FACE_OVAL
from checker.detectors import coverings
from checker.errors import CheckerError

from .conftest import analysis_of

MEASURES = ("mask", "hat", "facial_shelter")
CLEAN = ("hivision_idphoto_0.jpg", "hivision_idphoto_1.jpg", "hivision_idphoto_2.jpg", "hivision_idphoto_3.jpg",
         "hivision_test0.jpg", "hivision_test1_webp.jpg", "hivision_test2_png.jpg", "hivision_test3.jpg",
         "obama.jpg", "astronaut.png", "biden.jpg")
# Photos whose face the detector still finds once a mask is painted on (on obama.jpg it does not).
PAINT_ON = ("hivision_idphoto_0.jpg", "hivision_idphoto_2.jpg", "hivision_idphoto_3.jpg", "hivision_test1_webp.jpg",
            "hivision_test3.jpg", "astronaut.png", "biden.jpg")
MASK_COLOURS = {"surgical blue": (170, 200, 230), "white": (240, 240, 242), "black": (30, 30, 35),
                "light grey": (190, 190, 192), "grey": (128, 128, 128), "pink": (236, 180, 190)}
BEIGE = (222, 196, 160)  # a flat paint the skin-colour rule reads as skin
# Lightness scale and CIELAB a*, b* given to a real mask so it looks like one the colour rule takes for
# skin: under warm light white and grey fabric turn warm; beige and pink masks are skin-toned already.
MASK_TINTS = {"warm white": (1.0, 2, 9), "warm grey": (0.6, 3, 6), "beige": (0.9, 5, 18), "pink": (0.95, 14, 8)}
GREY, HAND, DARK_HAIR = (128, 128, 128), (224, 172, 140), (40, 30, 25)


# --- transforms ----------------------------------------------------------------------------------
def _face_width(mesh: np.ndarray) -> float:
    return float(np.linalg.norm(mesh[234, :2] - mesh[454, :2]))


def _mask_polygon(mesh: np.ndarray) -> np.ndarray:
    """From the nose bridge (mesh 197) down round the jaw line, 6% wider than the face oval."""
    top = mesh[197, 1]
    oval = mesh[list(FACE_OVAL), :2]
    below = oval[:, 1] >= top
    start = int(np.argmax(below & ~np.roll(below, 1)))
    arc = np.array([oval[(start + k) % len(oval)] for k in range(len(oval)) if below[(start + k) % len(oval)]])
    centre = np.array([mesh[1, 0], top])
    arc = centre + (arc - centre) * 1.06
    return np.round(np.vstack([[arc[0, 0], top], arc, [arc[-1, 0], top]])).astype(np.int32)


def paint_mask(rgb: np.ndarray, mesh: np.ndarray, colour) -> np.ndarray:
    """A plain mask over the lower face (:func:`_mask_polygon`), in one solid colour."""
    out = rgb.copy()
    cv2.fillPoly(out, [_mask_polygon(mesh)], colour, cv2.LINE_AA)
    return out


def tint_lower_face(rgb: np.ndarray, mesh: np.ndarray, tint) -> np.ndarray:
    """Recolour the lower face (:func:`_mask_polygon`): lightness scaled, so folds, straps and shading
    stay, and every pixel given the same CIELAB a*, b*."""
    scale, a, b = tint
    region = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillPoly(region, [_mask_polygon(mesh)], 1)
    inside = region.astype(bool)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)  # 8-bit Lab: a*, b* offset by 128
    lab[..., 0][inside] = np.clip(lab[..., 0][inside] * scale, 0, 255)
    lab[..., 1][inside], lab[..., 2][inside] = 128 + a, 128 + b
    return cv2.cvtColor(lab.astype(np.uint8), cv2.COLOR_LAB2RGB)


def occlude(rgb: np.ndarray, mesh: np.ndarray, where: str, colour=None) -> np.ndarray:
    """Paste a rectangle over the mouth (0.52 x 0.30 face widths), the image-left eye (0.30 x 0.18)
    or the image-left cheek (0.32 x 0.40 face widths): a solid ``colour``, or (None) a patch of the
    photo's own background from its top-left corner."""
    out = rgb.copy()
    fw = _face_width(mesh)
    if where == "mouth":
        c, hw, hh = mesh[[61, 291, 0, 17], :2].mean(axis=0), 0.26 * fw, 0.15 * fw
    elif where == "eye":
        c, hw, hh = (mesh[33, :2] + mesh[133, :2]) / 2, 0.15 * fw, 0.09 * fw
    else:
        c, hw, hh = mesh[234, :2] * 0.55 + mesh[1, :2] * 0.45 + [0, 0.05 * fw], 0.16 * fw, 0.2 * fw
    x0, y0, x1, y1 = (round(v) for v in (c[0] - hw, c[1] - hh, c[0] + hw, c[1] + hh))
    if colour is None:
        out[y0:y1, x0:x1] = rgb[5:5 + y1 - y0, 5:5 + x1 - x0]
    else:
        out[y0:y1, x0:x1] = colour
    return out


# --- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def meshes(face_rgb):
    return {name: analysis_of(face_rgb(name)).mesh for name in CLEAN}


@pytest.fixture(scope="module")
def clean(face_rgb):
    return {name: detectors.measure(analysis_of(face_rgb(name)), MEASURES) for name in CLEAN}


def _measure(rgb: np.ndarray, *names: str):
    return detectors.measure(analysis_of(rgb), names or MEASURES)


# --- clean ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", CLEAN)
def test_clean_photos_pass(clean, name):
    for m in MEASURES:
        got = clean[name][m]
        assert got.ok, (m, got.error)
        assert got.score <= 50, (name, m, got.score, got.value)


# --- mask -----------------------------------------------------------------------------------------
def test_labelled_mask_photos(labels, face_rgb):
    masked = [f for f, row in labels.items() if row["expected"] == "mask"]
    bare = [f for f, row in labels.items() if row["expected"] == "no_mask"]
    assert len(masked) >= 4 and len(bare) >= 2
    for name in masked:  # measured: classifier 0.997-1.000, lower-face skin 0.000-0.056
        got = _measure(face_rgb(name), "mask")["mask"]
        assert got.ok and got.score > 50 and got.value["mask_probability"] > 0.9, (name, got)
        assert got.value["lower_face_skin"] < 0.5, (name, got)  # both opinions agree
    for name in bare:  # measured: classifier 0.003-0.019, lower-face skin 0.89-0.99
        got = _measure(face_rgb(name), "mask")["mask"]
        assert got.ok and got.score <= 50 and got.value["mask_probability"] < 0.1, (name, got)


def test_bare_faces_read_no_mask_by_either_opinion(clean):
    for name in CLEAN:  # measured: classifier 0.001-0.045, lower-face skin 0.97-1.00
        got = clean[name]["mask"]
        assert got.value["mask_probability"] < 0.1 and got.value["lower_face_skin"] > 0.9, (name, got)
        assert got.value["crop"] == "face box"


@pytest.mark.parametrize("tint", list(MASK_TINTS.values()), ids=list(MASK_TINTS))
def test_real_masks_in_skin_like_colours_fail(labels, face_rgb, tint):
    """Issue 10's complaint: white, grey, beige and pink masks pass the colour rule as skin. Here the
    labelled real masks are recoloured so they do (lower-face skin share >= 0.9); the classifier still
    reads them as masks (measured 0.998-1.000), so the higher opinion fails them."""
    for name in (f for f, row in labels.items() if row["expected"] == "mask"):
        rgb = face_rgb(name)
        got = _measure(tint_lower_face(rgb, analysis_of(rgb).mesh, tint), "mask")["mask"]
        assert got.ok and got.value["lower_face_skin"] >= 0.9, (name, got)
        assert got.score > 50 and got.value["from"] == "classifier", (name, got)


# With a pink mask painted on, the face detector loses biden's small face (NO_FACE_DETECTED, as obama's
# with black): that photo is not measured, as for any photo without a findable face.
PAINTED = [(n, c) for n in PAINT_ON for c in MASK_COLOURS if (n, c) != ("biden.jpg", "pink")]


@pytest.mark.parametrize(("name", "colour"), PAINTED)
def test_painted_mask_fails(face_rgb, meshes, name, colour):
    # A flat paint without folds or straps is not what the classifier learned (it reads 0.05-0.99 on
    # these); the colour opinion catches every non-skin colour.
    got = _measure(paint_mask(face_rgb(name), meshes[name], MASK_COLOURS[colour]), "mask")["mask"]
    assert got.ok and got.score > 50, got


@pytest.mark.parametrize("name", PAINT_ON)
def test_beige_paint_reads_as_skin(face_rgb, meshes, name):
    # The weak case, said plainly in the calibration doc: flat beige paint is skin to the colour rule,
    # and the classifier catches it on some faces only (hivision_idphoto_2 0.95, biden 0.99; 0.2-0.5 elsewhere).
    got = _measure(paint_mask(face_rgb(name), meshes[name], BEIGE), "mask")["mask"]
    assert got.ok and got.value["lower_face_skin"] >= 0.9, got
    if name in ("hivision_idphoto_2.jpg", "biden.jpg"):
        assert got.score > 50 and got.value["from"] == "classifier", got


def test_a_face_the_landmarker_cannot_confirm_is_no_face(face_bytes, monkeypatch):
    # Fake landmarker answer (nothing found): the candidate face is refused, not measured from a guess.
    monkeypatch.setattr(models.get("face_landmarker"), "analyse", lambda rgb, box: None)
    with pytest.raises(CheckerError) as info:
        checker.check(face_bytes("mask_pair106_with.jpg"), 1102)
    assert info.value.status == "NO_FACE_DETECTED"


@pytest.mark.parametrize(("name", "masked"), [("hivision_idphoto_2.jpg", False), ("mask_pair106_without.jpg", False),
                                             ("mask_116_with.jpg", True), ("mask_pair83_with.jpg", True)])
def test_grey_photo_is_judged_by_the_classifier_alone(face_rgb, name, masked):
    # Without skin colour the colour opinion has nothing to say; the classifier reads grey copies as
    # it reads the colour ones (masks 1.000, bare faces 0.007-0.13).
    grey = cv2.cvtColor(cv2.cvtColor(face_rgb(name), cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    got = _measure(grey, "mask")["mask"]
    assert got.ok and got.value["lower_face_skin"] is None and "no skin colour" in got.value["colour"], got
    assert (got.score > 50) is masked, got


def test_hairstyles_and_a_headband_are_not_hats(clean):
    # An updo (hivision_idphoto_1), a flowered headband (hivision_test2), short and long hair: the
    # headwear classes stay below the line. Real hats are not in ../shared/faces: bench/accuracy.py
    # measures them on data/manifest.csv.
    for name, got in ((n, clean[n]["hat"]) for n in clean):
        assert got.ok and got.score <= 50 and got.value["headwear_probability"] <= coverings.HAT_HALF, (name, got)


def test_masks_are_not_read_as_headwear(labels, face_rgb):
    for name in (f for f, row in labels.items() if row["expected"] == "mask" and row["faces"] == "1"):
        got = _measure(face_rgb(name), "hat")["hat"]
        assert got.ok and got.score <= 50, (name, got)


# --- facial_shelter -------------------------------------------------------------------------------
PLAIN_BACKGROUND = ("hivision_idphoto_0.jpg", "hivision_idphoto_2.jpg", "hivision_idphoto_3.jpg", "hivision_test3.jpg")
MOUTH_COVERS = [(n, c) for n in PLAIN_BACKGROUND + ("obama.jpg", "biden.jpg") for c in ("grey", "hand")] + [
    (n, "background") for n in PLAIN_BACKGROUND + ("biden.jpg",)]  # obama's corner is a striped flag: see the doc
COVER = {"grey": GREY, "hand": HAND, "background": None}


@pytest.mark.parametrize("name,cover", MOUTH_COVERS)
def test_covered_mouth_fails_shelter(face_rgb, meshes, name, cover):
    colour = COVER[cover]
    got = _measure(occlude(face_rgb(name), meshes[name], "mouth", colour), "facial_shelter")["facial_shelter"]
    assert got.ok and got.score > 50, got


@pytest.mark.parametrize("name", ("hivision_idphoto_0.jpg", "hivision_idphoto_2.jpg", "hivision_idphoto_3.jpg",
                                  "hivision_test3.jpg", "obama.jpg", "biden.jpg"))
@pytest.mark.parametrize("colour", [GREY, None], ids=["grey", "background"])
def test_covered_cheek_fails_shelter(face_rgb, meshes, name, colour):
    got = _measure(occlude(face_rgb(name), meshes[name], "cheek", colour), "facial_shelter")["facial_shelter"]
    assert got.ok and got.score > 50, got


@pytest.mark.parametrize("name", ("hivision_idphoto_0.jpg", "hivision_idphoto_2.jpg", "hivision_test3.jpg"))
def test_hand_coloured_cheek_on_lighter_skin_fails_shelter(face_rgb, meshes, name):
    got = _measure(occlude(face_rgb(name), meshes[name], "cheek", HAND), "facial_shelter")["facial_shelter"]
    assert got.ok and got.score > 50, got


@pytest.mark.parametrize("name", ("hivision_idphoto_0.jpg", "hivision_idphoto_2.jpg", "hivision_test3.jpg",
                                  "obama.jpg", "biden.jpg"))
@pytest.mark.parametrize("colour", [GREY, HAND, DARK_HAIR], ids=["grey", "hand", "dark hair"])
def test_covered_eye_fails_shelter(face_rgb, meshes, name, colour):
    got = _measure(occlude(face_rgb(name), meshes[name], "eye", colour), "facial_shelter")["facial_shelter"]
    assert got.ok and got.score > 50 and got.value["worst"] == "eye_left", got
