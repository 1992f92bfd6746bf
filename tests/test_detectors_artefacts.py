"""Cut-and-paste artefacts (checker/detectors/artefacts.py) against known transformations of real photos:
a halo ring of known width and colour, a remnant patch of known area, rotations that expose the canvas in
known wedges, padding that leaves the body hanging. Calibration: docs/calibration/artefacts.md."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import checker
from checker import detectors, rules
from checker.context import Analysis
from checker.specs import list_specs
from checker.views import lab_of

from .conftest import analysis_of, default_max, encode

CHECKS = {"edge_halo": "edge_halo", "bg_remnants": "bg_remnants", "lower_body_hanging": "lower_body_gap",
          "frame_edges": "frame_edges"}
# Subjects photographed on a plain backdrop: the embedded matting cuts them out without old background.
SUBJECTS = ["hivision_idphoto_0.jpg", "hivision_idphoto_2.jpg", "hivision_idphoto_3.jpg", "hivision_test0.jpg",
            "hivision_test3.jpg"]
BACKDROPS = {"white": (255, 255, 255), "blue": (0x43, 0x8E, 0xDB), "red": (0xD7, 0x44, 0x32)}
GREY_BLUE = np.array([128, 138, 155], np.float32)  # the tint of an outdoor backdrop left at the hair


# --- transforms ------------------------------------------------------------------------------------------
def tight_cutout(a: Analysis) -> tuple[np.ndarray, np.ndarray]:
    """The person cut out with the embedded matting, alpha tightened so no old background survives:
    hard at 0.5, eroded by 1% of the face width, feathered by a 1-px Gaussian; colours from the
    matting's foreground estimate."""
    from checker.generate.matting import cutout

    rgba = cutout(a)
    hard = (rgba[..., 3] >= 128).astype(np.uint8)
    k = max(1, round(0.01 * a.face_width))
    hard = cv2.erode(hard, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1)))
    return rgba[..., :3].copy(), cv2.GaussianBlur(hard.astype(np.float32), (0, 0), 1.0)


def over(fg: np.ndarray, alpha: np.ndarray, backdrop) -> np.ndarray:
    """The person in front of a colour (or an image of the same size)."""
    base = np.broadcast_to(np.asarray(backdrop, np.float32), fg.shape)
    a = alpha[..., None]
    return np.clip(fg * a + base * (1 - a) + 0.5, 0, 255).astype(np.uint8)


def halo(fg: np.ndarray, alpha: np.ndarray, backdrop, width: float, colour) -> np.ndarray:
    """A ring of ``colour`` ``width`` px wide just outside the person's alpha edge, under the person."""
    solid = (alpha >= 0.5).astype(np.uint8)
    dist = cv2.distanceTransform(1 - solid, cv2.DIST_L2, 5)
    ring = np.clip(width + 0.5 - dist, 0, 1)[..., None]
    base = np.broadcast_to(np.asarray(backdrop, np.float32), fg.shape)
    return over(fg, alpha, base * (1 - ring) + np.asarray(colour, np.float32) * ring)


def patch(rgb: np.ndarray, alpha: np.ndarray, content: np.ndarray) -> tuple[np.ndarray, int]:
    """``content`` (square) pasted 2% in from the top-left corner where the person is not; returns the
    photo and the pasted area in pixels."""
    out = rgb.copy()
    s = content.shape[0]
    y0, x0 = int(0.02 * rgb.shape[0]), int(0.02 * rgb.shape[1])
    free = alpha[y0:y0 + s, x0:x0 + s] < 0.01
    out[y0:y0 + s, x0:x0 + s][free] = content[free]
    return out, int(free.sum())


def rotate_frame(rgb: np.ndarray, degrees: float, fill) -> tuple[np.ndarray, float]:
    """Rotate about the centre on the same canvas, the uncovered corners filled with ``fill`` (a colour);
    returns the photo and the share of the canvas the frame leaves uncovered (the wedges)."""
    h, w = rgb.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    out = cv2.warpAffine(rgb, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                         borderValue=tuple(int(c) for c in fill))
    covered = cv2.warpAffine(np.ones((h, w), np.uint8), m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
    return out, float((covered == 0).mean())


def lift_body(rgb: np.ndarray, fraction: float, backdrop) -> np.ndarray:
    """Move the photo up by ``fraction`` of its height and fill the strip under it with the backdrop."""
    h = rgb.shape[0]
    cut = int(round(fraction * h))
    strip = np.broadcast_to(np.asarray(backdrop, np.uint8), (cut, rgb.shape[1], 3))
    return np.ascontiguousarray(np.concatenate([rgb[cut:], strip], axis=0))


def backdrop_near_bottom(a: Analysis) -> np.ndarray:
    """The backdrop's colour at the left edge, as low as the person leaves it free (gradients differ
    at the top)."""
    free = np.flatnonzero(a.person_mask[:, 2] < 0.1)
    row = int(free[-1]) if free.size else 2
    return a.rgb[max(0, row - 3), 2]


# --- fixtures --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cutouts(face_rgb):
    out = {}
    for name in SUBJECTS:
        a = analysis_of(face_rgb(name))
        out[name] = (*tight_cutout(a), a.face_width)
    return out


@pytest.fixture(scope="module")
def clean_ids(labels, face_rgb):
    """The shared photos labelled as finished ID photos, as they are."""
    names = sorted(n for n, row in labels.items() if row["expected"] == "id_photo")
    assert len(names) >= 4
    return {n: analysis_of(face_rgb(n)) for n in names}


def scores(a: Analysis) -> dict[str, detectors.Measure]:
    got = detectors.measure(a, list(CHECKS.values()))
    return {check: got[measure] for check, measure in CHECKS.items()}


def fails(m: detectors.Measure, check: str) -> bool:
    assert m.ok, m.error
    return m.score > default_max(check)


# --- clean photos pass -----------------------------------------------------------------------------------
def test_clean_id_photos_pass_every_artefact_check(clean_ids):
    for name, a in clean_ids.items():
        for check, m in scores(a).items():
            assert m.ok, f"{name} {check}: {m.error}"
            assert m.score <= default_max(check), f"{name} {check} scores {m.score}: {m.value}"


@pytest.mark.parametrize("name", SUBJECTS)
def test_clean_composites_pass_every_artefact_check(cutouts, name):
    fg, alpha, _ = cutouts[name]
    for colour, rgb in BACKDROPS.items():
        for check, m in scores(analysis_of(over(fg, alpha, rgb))).items():
            assert m.ok and m.score <= default_max(check), f"{name} on {colour}: {check} {m.score} {m.value}"


def test_a_busy_background_is_left_to_uniformity(face_rgb):
    got = scores(analysis_of(face_rgb("obama.jpg")))  # a flag and a window behind him
    for check in ("edge_halo", "bg_remnants"):
        assert not got[check].applicable and "uniformity" in got[check].error
    assert got["lower_body_hanging"].ok and got["lower_body_hanging"].score == 0


# --- halo ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SUBJECTS)
def test_a_halo_ring_fails_and_its_width_is_measured(cutouts, name):
    fg, alpha, fw = cutouts[name]
    widths = {}
    for colour, rgb in BACKDROPS.items():
        tint = np.asarray(rgb, np.float32) * 0.7 + GREY_BLUE * 0.3  # ΔE 10-26 from the backdrop
        assert np.linalg.norm(lab_of(tint) - lab_of(np.asarray(rgb, np.float32))) >= 10
        for width in (0.05, 0.08):  # face widths: 12-24 px on these photos
            m = detectors.measure(analysis_of(halo(fg, alpha, rgb, width * fw, tint)), ["edge_halo"])["edge_halo"]
            assert fails(m, "edge_halo"), f"{colour} {width}: {m.value}"
            widths[colour, width] = m.value["width_fw"]
            assert 0.5 * width <= m.value["width_fw"] <= 1.3 * width, (colour, width, m.value)
    for colour in BACKDROPS:
        assert widths[colour, 0.08] > widths[colour, 0.05]


def test_a_halo_fails_the_check_of_a_photo(cutouts):
    fg, alpha, fw = cutouts["hivision_idphoto_2.jpg"]
    tint = np.full(3, 255 * 0.7, np.float32) + GREY_BLUE * 0.3
    photo = halo(fg, alpha, (255, 255, 255), 0.06 * fw, tint)
    report = checker.check(encode(photo), 7101)
    failure = next(f for f in report["failures"] if f["check"] == "edge_halo")
    assert report["check_result"] == 0 and failure["value"] > 50
    assert "halo" in failure["message"].lower() and "光晕" in failure["message_zh"]
    assert report["all_check_result"]["edge_halo"]["width_px"] > 0


# --- remnants --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SUBJECTS)
def test_a_remnant_patch_fails_and_its_area_is_measured(cutouts, face_rgb, name):
    fg, alpha, _ = cutouts[name]
    flag = face_rgb("obama.jpg")[40:440, 20:320]  # stripes and stars of the flag behind him
    for colour, rgb in BACKDROPS.items():
        clean = over(fg, alpha, rgb)
        side = int(0.08 * clean.shape[1])
        for content in (cv2.resize(flag, (side, side)), np.full((side, side, 3), 180, np.uint8)):
            photo, area = patch(clean, alpha, content)
            m = detectors.measure(analysis_of(photo), ["bg_remnants"])["bg_remnants"]
            assert fails(m, "bg_remnants"), (colour, m.value)
            truth = 100 * area / (photo.shape[0] * photo.shape[1])
            assert m.value["area_pct"] == pytest.approx(truth, rel=0.15) and m.value["blobs"] == 1


# --- wedges and frame edges ------------------------------------------------------------------------------
@pytest.mark.parametrize("degrees", [2, 5, -7, 10])
def test_a_rotated_frame_shows_its_wedges(clean_ids, degrees):
    for name, a in clean_ids.items():
        for fill in ((0, 0, 0), (128, 128, 128)):
            photo, uncovered = rotate_frame(a.rgb, degrees, fill)
            m = detectors.measure(analysis_of(photo), ["frame_edges"])["frame_edges"]
            assert fails(m, "frame_edges"), (name, fill, m.value)
            if fill == (0, 0, 0):
                # three or four of the four wedges (a bottom one merges with dark clothes); a grey wedge on
                # the grey backdrop of hivision_idphoto_3 is found by its straight edge instead
                assert m.value["wedges"] >= 3, (name, m.value)
                assert 0.55 * 100 * uncovered <= m.value["wedge_area_pct"] <= 1.05 * 100 * uncovered, (name, m.value)


def test_a_pasted_frame_edge_through_the_shoulder_fails(clean_ids):
    for name, a in clean_ids.items():
        photo = a.rgb.copy()
        photo[:, : a.width // 4] = photo[5, 5]  # the source ended here: a straight vertical cut through the shoulder
        m = detectors.measure(analysis_of(photo), ["frame_edges"])["frame_edges"]
        assert fails(m, "frame_edges") and m.value["line_angle"] < 1, (name, m.value)


# --- the body reaching the bottom edge -------------------------------------------------------------------
@pytest.mark.parametrize("fraction", [0.02, 0.04, 0.08])
def test_a_lifted_body_hangs_by_the_known_strip(clean_ids, fraction):
    for name, a in clean_ids.items():
        backdrop = backdrop_near_bottom(a)
        m = detectors.measure(analysis_of(lift_body(a.rgb, fraction, backdrop)), ["lower_body_gap"])["lower_body_gap"]
        assert fails(m, "lower_body_hanging"), (name, m.value)
        assert m.value["gap_pct"] == pytest.approx(100 * fraction, abs=0.5), (name, m.value)


def test_a_slanted_cut_under_one_shoulder_hangs(cutouts):
    fg, alpha, _ = cutouts["hivision_idphoto_2.jpg"]
    photo, _ = rotate_frame(over(fg, alpha, (255, 255, 255)), 10, (255, 255, 255))  # invisible wedges, cut body
    m = detectors.measure(analysis_of(photo), ["lower_body_gap"])["lower_body_gap"]
    assert fails(m, "lower_body_hanging") and 0 < m.value["floating"] < 1


def test_a_hanging_body_fails_check_pic_for_every_spec(clean_ids):
    a = clean_ids["hivision_idphoto_0.jpg"]
    report = checker.check(encode(lift_body(a.rgb, 0.05, backdrop_near_bottom(a))), 7101)
    failure = next(f for f in report["failures"] if f["check"] == "lower_body_hanging")
    assert failure["message_zh"].startswith("下半身悬空")
    for spec in list_specs():
        plan = rules.plan(spec.checks, {}, rules.Frame(600, 800, 600, 800, dpi=300))
        assert {"lower_body_hanging", "edge_halo", "bg_remnants", "frame_edges"} <= set(plan.active), spec.id


# --- every shared photo ----------------------------------------------------------------------------------
def test_every_shared_photo_is_measured_or_set_aside_with_a_reason(labels, face_rgb):
    for name, row in labels.items():
        if row["faces"] != "1":
            continue
        for check, m in scores(analysis_of(face_rgb(name))).items():
            assert m.ok or (not m.applicable and m.error), f"{name} {check}: {m.error}"
