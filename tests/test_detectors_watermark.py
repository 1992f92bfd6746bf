"""Watermark detection: tiled text (light, dark and grey, rotated, several tile sizes) on real photos,
against the clean photos of ../shared/faces and the service's own generated ID photos of them."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

import checker
from checker import detectors, rules
from checker.detectors.watermark import PEAK_FULL_SCORE, lattice_strength
from checker.errors import CheckerError
from checker.generate.watermark import add_watermark, preview_watermark
from checker.imaging import load_photo

from . import transforms as tf

PORTRAITS = ["hivision_idphoto_0.jpg", "hivision_idphoto_1.jpg", "hivision_idphoto_2.jpg", "hivision_idphoto_3.jpg",
             "hivision_test0.jpg", "hivision_test1_webp.jpg", "hivision_test2_png.jpg", "hivision_test3.jpg",
             "obama.jpg", "astronaut.png"]
# Everything else in ../shared/faces: flags, fur, hair, crowds, a screenshot; no watermark on any.
OTHERS = ["biden.jpg", "dogs_no_face.jpg", "group_2008_001322.jpg", "mask_116_with.jpg", "mask_pair106_with.jpg",
          "mask_pair106_without.jpg", "mask_pair83_with.jpg", "mask_pair83_without.jpg", "masked_group_aizoo.jpg",
          "obama_partial_face.jpg", "two_people.jpg"]
SPECS = ["schengen-visa", "us-passport", "china-resident-id", 1102, 2102]
BG_COLOURS = ["438EDB", "FF0000", "D9D9D9"]  # Schengen outputs again on these backgrounds, one per photo
MARGIN = 10  # score points a negative stays under the decision (worst measured: 33 of 50)
WHITE, BLACK, GREY = (255, 255, 255), (0, 0, 0), (128, 128, 128)
# (text, colour, angle in degrees, tile as a share of the photo's width)
MARKS = [("SAMPLE", WHITE, 30, 0.25), ("PREVIEW", BLACK, 45, 0.3), ("COPY", GREY, 20, 0.2),
         ("SAMPLE", GREY, 35, 0.33), ("COPY", BLACK, 25, 0.3)]


def value(rgb: np.ndarray) -> float:
    """The detector's raw value (it reads only the grey image, so no Analysis is needed)."""
    return lattice_strength(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))


def score(rgb: np.ndarray) -> float:
    return min(100.0, 100 * value(rgb) / PEAK_FULL_SCORE)


def limit() -> float:
    return float(rules.load_rules()["watermark_exist"].default["max"])


def mark(rgb: np.ndarray, text: str, colour, angle: float, tile: float, alpha: float = 0.25) -> np.ndarray:
    return tf.tiled_text(rgb, text, alpha, angle, int(tile * rgb.shape[1]), colour)


@pytest.fixture(scope="module")
def generated(faces_dir, face_bytes):
    """{(photo, spec, bg_color): RGB} of checker.fix's output for every single-face photo of
    ../shared/faces and every spec of SPECS (a photo/spec whose fix refuses is skipped), plus the
    Schengen output on one other background colour per photo."""
    with open(faces_dir / "LABELS.csv", newline="", encoding="utf-8") as fh:
        single = [row["file"] for row in csv.DictReader(fh) if row["faces"] == "1"]
    jobs = [(name, spec, None) for name in single for spec in SPECS]
    jobs += [(name, "schengen-visa", BG_COLOURS[i % len(BG_COLOURS)]) for i, name in enumerate(single)]
    out = {}
    for name, spec, bg in jobs:
        try:
            photo = checker.fix(face_bytes(name), spec, **({"bg_color": bg} if bg else {})).photo
        except CheckerError:
            continue
        out[(name, spec, bg)] = load_photo(photo).rgb
    return out


@pytest.mark.parametrize("name", PORTRAITS + OTHERS)
def test_clean_photos_pass_with_a_margin(face_rgb, name):
    assert score(face_rgb(name)) <= limit() - MARGIN


def test_every_generated_photo_passes_with_a_margin(generated):
    assert len(generated) >= 80  # 17 single-face photos x 5 specs + backgrounds, a few refused
    scores = {key: round(score(rgb), 1) for key, rgb in generated.items()}
    worst = sorted(scores.items(), key=lambda kv: -kv[1])[:5]
    assert max(scores.values()) <= limit() - MARGIN, worst


def test_the_generated_schengen_photo_of_the_issue_passes_through_the_registry(generated):
    # This output scored 51 when the face was masked out and only bright strokes were looked at.
    from .conftest import analysis_of

    m = detectors.measure(analysis_of(generated[("hivision_idphoto_2.jpg", "schengen-visa", None)]),
                          ["watermark"])["watermark"]
    assert m.ok and m.score <= limit() - MARGIN


@pytest.mark.parametrize("name", PORTRAITS)
@pytest.mark.parametrize("text, colour, angle, tile", MARKS)
def test_tiled_text_fails(face_rgb, name, text, colour, angle, tile):
    assert score(mark(face_rgb(name), text, colour, angle, tile)) > limit()


@pytest.mark.parametrize("key", [("hivision_idphoto_2.jpg", "schengen-visa", None),
                                 ("hivision_idphoto_0.jpg", 1102, None), ("hivision_test3.jpg", "us-passport", None)])
@pytest.mark.parametrize("text, colour, angle, tile", MARKS)
def test_tiled_text_on_a_generated_id_photo_fails(generated, key, text, colour, angle, tile):
    assert score(mark(generated[key], text, colour, angle, tile)) > limit()


@pytest.mark.parametrize("name", PORTRAITS)
def test_the_older_test_mark_and_the_services_own_marks_fail(face_rgb, name):
    rgb = face_rgb(name)
    assert score(tf.watermark(rgb)) > limit()
    assert score(add_watermark(rgb, "SAMPLE")) > limit()
    assert score(preview_watermark(rgb)) > limit()


@pytest.mark.parametrize("name", ["hivision_idphoto_0.jpg", "hivision_idphoto_2.jpg", "hivision_test2_png.jpg",
                                  "obama.jpg"])
@pytest.mark.parametrize("text, colour, angle, tile", [("SAMPLE", BLACK, 30, 0.25), ("PREVIEW", WHITE, 40, 0.3)])
def test_the_value_grows_with_opacity(face_rgb, name, text, colour, angle, tile):
    rgb = face_rgb(name)
    values = [value(rgb)] + [value(mark(rgb, text, colour, angle, tile, alpha)) for alpha in (0.15, 0.25, 0.35)]
    assert values == sorted(values) and values[0] < values[-1], values


def test_the_detector_runs_through_the_registry(face_rgb):
    from .conftest import analysis_of

    m = detectors.measure(analysis_of(mark(face_rgb("hivision_idphoto_2.jpg"), "SAMPLE", GREY, 30, 0.25)),
                          ["watermark"])["watermark"]
    assert m.ok and m.score > limit() and 0 < m.value <= 1
