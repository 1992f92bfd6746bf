"""The audit's corrections (issue 14): each test failed on the catalogue before them.

Verdicts are taken through the rule engine on the spec's own checks (the frame a photo of that size
gets), and for the pixel ranges once through a full check of a real photo."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import checker
from checker import rules
from checker.detectors import Measure
from checker.imaging import Photo
from checker.pipeline import frame_for
from checker.specs import load_spec

from .conftest import encode


def plan_for(spec_ref, size=None, overrides=None):
    spec = load_spec(spec_ref)
    w, h = size or spec.size_px
    photo = Photo(rgb=np.zeros((h, w, 3), np.uint8), format="JPEG", file_size=0)
    return rules.plan(spec.checks, overrides or {}, frame_for(spec, photo, overrides or {}))


def verdict(spec_ref, check, value, size=None):
    plan = plan_for(spec_ref, size)
    assert check in plan.active, f"{check} is not judged for {spec_ref}"
    rule, th = plan.active[check]
    return rules.compare(rule, value, th)[0]


# --- 1. glasses: banned in US photos since November 2016, in Australia's; thick frames in China's visa --
@pytest.mark.parametrize(("spec", "check"), [
    ("us-passport", "glasses"), ("us-passport-online", "glasses"), ("us-visa-ds160", "glasses"),
    ("us-dv-lottery", "glasses"), ("australia-passport", "glasses"), ("china-visa", "thick_black_frame_glasses"),
])
def test_glasses_are_judged_where_the_document_bans_them(spec, check):
    plan = plan_for(spec)
    assert check in plan.active
    out = rules.evaluate(plan, {plan.active[check][0].measure: Measure(value=0.9, score=90.0)})
    assert out.result[check] == 0


def test_documents_that_allow_glasses_still_do_not_judge_them():
    assert "glasses" not in plan_for("schengen-visa").active and "glasses" not in plan_for(1102).active


# --- 2. pixel ranges: every legal upload size passes, the generation size stays one (w, h) --------------
@pytest.mark.parametrize(("spec", "legal", "illegal"), [
    ("us-visa-ds160", [(600, 600), (1200, 1200), (1000, 1000)], [(1201, 1201), (599, 599), (1200, 1000)]),
    ("us-passport", [(600, 600), (1200, 1200)], [(1300, 1300), (600, 800)]),
    ("us-passport-online", [(600, 600), (1200, 1200)], [(500, 500)]),
    ("india-e-visa", [(350, 350), (1000, 1000), (600, 600)], [(349, 349), (1001, 1001), (600, 500)]),
    ("china-visa", [(354, 472), (420, 560), (390, 520)], [(353, 472), (421, 560), (420, 561)]),
    ("uk-passport-online", [(600, 750), (1200, 1600), (600, 772)], [(599, 800), (600, 749)]),
    ("canada-visa-online", [(420, 540), (840, 1080)], [(419, 539), (840, 900)]),
    ("us-dv-lottery", [(600, 600)], [(1200, 1200), (601, 600)]),
])
def test_pixel_ranges_accept_every_legal_size(spec, legal, illegal):
    for size in legal:
        assert verdict(spec, "px_and_mm", list(size), size), size
    for size in illegal:
        assert not verdict(spec, "px_and_mm", list(size), size), size
    assert isinstance(load_spec(spec).size_px, tuple) and len(load_spec(spec).size_px) == 2


@pytest.mark.parametrize(("spec", "size"), [("us-visa-ds160", (1200, 1200)), ("india-e-visa", (350, 350)),
                                            ("china-visa", (420, 560))])
def test_a_real_photo_at_a_legal_size_passes_the_size_check(face_rgb, spec, size):
    rgb = face_rgb("hivision_idphoto_2.jpg")
    w, h = size
    scale = max(w / rgb.shape[1], h / rgb.shape[0])
    big = cv2.resize(rgb, (round(rgb.shape[1] * scale) + 1, round(rgb.shape[0] * scale) + 1),
                     interpolation=cv2.INTER_AREA)
    y0, x0 = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
    report = checker.check(encode(np.ascontiguousarray(big[y0:y0 + h, x0:x0 + w]), "JPEG", quality=90), spec)
    assert report["result"]["px_and_mm"] == 1, report["failures"]
    assert report["expected"]["px_and_mm"].get("min_size")


def test_a_size_outside_the_range_reads_the_range_in_its_message():
    plan = plan_for("us-visa-ds160", (1300, 1300))
    out = rules.evaluate(plan, {"size": Measure(value=[1300, 1300])})
    (fail,) = [f for f in out.failures if f["check"] == "px_and_mm"]
    assert fail["message"] == "The photo is 1300x1300 px; the spec requires 600x600 to 1200x1200 px, width:height 1:1."
    assert "600x600 至 1200x1200" in fail["message_zh"]


# --- 3. Australia: 35-40 x 45-50 mm ----------------------------------------------------------------------
def test_australia_allows_a_range_of_print_sizes():
    spec = load_spec("australia-passport")
    assert spec.raw["size_mm_range"] == {"min": [35, 45], "max": [40, 50]}
    assert spec.size_mm == (35, 45) and spec.size_px == (413, 531)  # what generation prints
    assert spec.summary()["size_mm_range"] == {"min": [35, 45], "max": [40, 50]}


# --- 4. UK: cream or light grey, never white ---------------------------------------------------------------
@pytest.mark.parametrize("spec", ["uk-passport", "uk-passport-online"])
def test_uk_refuses_white_and_accepts_cream_and_light_grey(spec):
    for white in ("FFFFFF", "FAFAFA", "F2F2F2"):
        assert not verdict(spec, "background_color", white), white
    for fine in ("F3EEDF", "EEE8D5", "DCDCDC", "E0E0E0", "D6D6D6"):
        assert verdict(spec, "background_color", fine), fine
    assert "off_white" not in load_spec(spec).background_colors


# --- 5. white is white; India's e-Visa takes light colours -------------------------------------------------
@pytest.mark.parametrize("spec", [3110, "china-visa", 2102, "us-passport", "us-dv-lottery"])
def test_white_specs_refuse_light_grey(spec):
    assert verdict(spec, "background_color", "FFFFFF") and verdict(spec, "background_color", "F4F4F4")
    for grey in ("DCDCDC", "D0D0D0", "C6C6C6"):
        assert not verdict(spec, "background_color", grey), grey


def test_india_e_visa_takes_white_or_a_light_colour():
    # pale blue, green, beige and lavender more than 10 ΔE from white (which white's tolerance never reached)
    for light in ("FFFFFF", "DCDCDC", "C8D8E8", "CCE0D0", "E8DCC0", "D8D0E8"):
        assert verdict("india-e-visa", "background_color", light), light
    for not_light in ("438EDB", "FF0000", "8C8C8C"):
        assert not verdict("india-e-visa", "background_color", not_light), not_light


# --- 6. two inches are 50.8 mm -----------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ["us-passport", "us-passport-online", "us-visa-ds160", "us-dv-lottery",
                                  "india-e-visa"])
def test_two_inches_are_50_8_mm(spec):
    assert load_spec(spec).size_mm == (50.8, 50.8)


def test_us_head_window_is_one_to_one_and_three_eighths_inches():
    th = plan_for("us-passport").active["head_length"][1]  # 600 px for 2 in: 300 px an inch
    assert th["min"] == pytest.approx(300) and th["max"] == pytest.approx(412.5)
    th = plan_for("us-passport", (1200, 1200)).active["eyes_space_bottom"][1]
    assert th["min"] == pytest.approx(675) and th["max"] == pytest.approx(825)


# --- 7. KB as portals may count it -------------------------------------------------------------------------
@pytest.mark.parametrize(("spec", "window"), [
    ("us-visa-ds160", {"max": 240000}), ("us-dv-lottery", {"max": 240000}),
    ("china-visa", {"min": 40960, "max": 120000}), ("india-e-visa", {"min": 10240, "max": 1024000}),
    ("uk-passport-online", {"min": 51200, "max": 10240000}),
])
def test_kb_windows_hold_under_both_readings_of_kb(spec, window):
    assert load_spec(spec).checks["file_size"] == window
    assert verdict(spec, "file_size", window["max"]) and not verdict(spec, "file_size", window["max"] + 1)


# --- 8. online-upload variants, linked to their prints -----------------------------------------------------
@pytest.mark.parametrize(("digital", "print_"), [("uk-passport-online", "uk-passport"),
                                                 ("us-passport-online", "us-passport"),
                                                 ("canada-visa-online", "canada-visa")])
def test_online_variants_and_their_prints_name_each_other(digital, print_):
    d, p = load_spec(digital), load_spec(print_)
    assert d.medium == "digital" and p.medium in ("print", "print_and_digital")
    assert p.id in d.variants and d.id in p.variants


# --- 9. the head's top: hair or skull ----------------------------------------------------------------------
def test_a_head_measured_to_the_skull_allows_for_hair():
    canada = load_spec("canada-passport")
    assert canada.raw["head_crown"] == "skull"
    assert canada.checks["head_length"] == {"min": "31mm", "max": "38mm"}  # 36 mm + 2 mm of hair
    assert load_spec("us-passport").raw["head_crown"] == "hair"
