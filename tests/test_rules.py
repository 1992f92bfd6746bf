"""The rule engine: operators, literals and precedence as data; the rule files themselves."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from checker import detectors, rules
from checker.detectors import Measure
from checker.errors import CheckerError
from checker.params.check import CHECK

CASES = Path(__file__).parent / "cases"


def _load(name: str) -> dict:
    return json.loads((CASES / name).read_text(encoding="utf-8"))


def _rule(**kw) -> rules.Rule:
    base = {"check": "t", "measure": "t", "op": "max", "title": {"en": "T", "zh": "T"},
            "message": {"en": "{title} {value} {expected}", "zh": "{title} {value} {expected}"}}
    return rules.Rule(**(base | kw))


OPS = _load("operators.json")["cases"]


@pytest.mark.parametrize("case", OPS, ids=[f"{c['rule']['op']}-{i}" for i, c in enumerate(OPS)])
def test_operator(case):
    passed, _ = rules.compare(_rule(**case["rule"]), case["value"], case["th"])
    assert passed is case["pass"]


LIT = _load("literals.json")


@pytest.mark.parametrize("case", LIT["cases"], ids=[str(c["literal"]) + "-" + c["bare"] for c in LIT["cases"]])
def test_threshold_literal(case):
    frame = rules.Frame(**LIT["frame"])
    rule = _rule(**case["rule"])
    if case.get("error"):
        with pytest.raises(ValueError):
            rules.to_number(case["literal"], rule, frame, bare=case["bare"])
    else:
        assert rules.to_number(case["literal"], rule, frame, bare=case["bare"]) == pytest.approx(case["expect"])


def test_millimetres_follow_each_axis_of_the_print():
    # A 354 x 472 px frame for a 33 x 48 mm print (China visa): the axes have different px/mm.
    frame = rules.Frame(354, 472, 354, 472, dpi=272, mm_w=33, mm_h=48)
    assert rules.to_number("24mm", _rule(axis="y"), frame, bare="native") == pytest.approx(236)
    assert rules.to_number("16.5mm", _rule(axis="x"), frame, bare="native") == pytest.approx(177)


PREC = _load("precedence.json")
FRAME = rules.Frame(600, 800, 300, 400, dpi=300)


def _prec_cases():
    for case in PREC["cases"]:
        yield PREC["rule"], case
    for case in PREC["off_by_default"]["cases"]:
        yield PREC["off_by_default"]["rule"], case


@pytest.mark.parametrize(("rule_doc", "case"), list(_prec_cases()), ids=lambda v: v.get("name", "rule"))
def test_precedence(rule_doc, case):
    rule = _rule(**rule_doc)
    plan = rules.plan(case["spec"], case["request"], FRAME, rules={rule.check: rule})
    assert (rule.check in plan.active) is case["active"]
    if case["active"]:
        assert plan.active[rule.check][1]["max"] == case["max"]


def test_mandatory_rules_cannot_be_switched_off_by_a_spec():
    rule = _rule(mandatory=True, default={"max": 5})
    plan = rules.plan({"t": {"enabled": False}}, {}, FRAME, rules={"t": rule})
    assert "t" in plan.active


def test_a_bad_request_value_is_invalid_argument_naming_the_parameter():
    rule = _rule(axis="y", unit="px", default={"max": "10%"}, params={"max": "t_max_p"})
    with pytest.raises(CheckerError) as info:
        rules.plan({}, {"t_max_p": "ten"}, FRAME, rules={"t": rule})
    assert info.value.status == "INVALID_ARGUMENT" and "t_max_p" in info.value.message


def test_engine_attaches_check_value_expected_and_messages_to_failures():
    rule = _rule(use="score", default={"max": 50}, unit="", title={"en": "Blur", "zh": "模糊"},
                 message={"en": "{title} scores {value}; {expected}.", "zh": "{title}{value},应{expected}"})
    plan = rules.plan({}, {}, FRAME, rules={"t": rule})
    out = rules.evaluate(plan, {"t": Measure(value=3.2, score=71.0)})
    assert out.result == {"t": 0} and out.value_dict == {"t": 71.0} and not out.passed
    (fail,) = out.failures
    assert fail["check"] == "t" and fail["value"] == 71.0 and fail["expected"] == {"max": 50}
    assert fail["message"] == "Blur scores 71; at most 50." and fail["message_zh"] == "模糊71,应不大于 50"


def test_a_measure_that_could_not_be_made_is_not_checked_and_fails_the_photo():
    plan = rules.plan({}, {}, FRAME, rules={"t": _rule(default={"max": 1})})
    out = rules.evaluate(plan, {"t": Measure(error="no crown")})
    assert out.result == {"t": 0} and out.failures == [] and not out.passed
    assert out.not_checked[0]["check_param"] == "t" and out.not_checked[0]["check_value"] is None
    assert "no crown" in out.not_checked[0]["param_message"]


def test_a_planned_rule_is_reported_not_assessed_never_passed():
    rule = _rule(planned=True, enabled=False, default={"max": 60}, params={"max": "t_p"})
    plan = rules.plan({}, {"t_p": 60}, FRAME, rules={"t": rule})
    out = rules.evaluate(plan, {"t": Measure(value=0, score=0)})
    assert not out.passed and out.result == {"t": 0} and "no detector" in out.not_checked[0]["param_message"]


def test_rule_files_are_valid_and_cover_every_seed_parameter(faces_dir):
    loaded = rules.load_rules()
    assert len(loaded) >= 50
    seed = (faces_dir.parent / "seeds" / "004_0add283d6cfd9249.txt").read_text(encoding="utf-8")
    params = set(re.findall(r"^\*(\w+) false", seed, flags=re.M))
    assert len(params) > 60
    understood = set(CHECK.known_names())
    assert sorted(params - understood) == []


def test_every_rule_reads_a_measure_some_detector_makes():
    known = set(detectors.known_measures())
    missing = sorted(f"{r.check} -> {r.measure}" for r in rules.load_rules().values()
                     if not r.planned and r.measure not in known)
    assert missing == []


def test_the_schema_refuses_a_malformed_rule():
    schema = json.loads((rules.RULES_DIR / "schema.json").read_text())
    good = {"rules": [{"check": "x", "measure": "x", "op": "max", "title": {"en": "a", "zh": "b"},
                       "message": {"en": "a", "zh": "b"}}]}
    jsonschema.validate(good, schema)
    for bad in ({"op": "around"}, {"default": {"max": "ten"}}, {"params": {"maximum": "p"}}, {"title": {"en": "a"}}):
        doc = json.loads(json.dumps(good))
        doc["rules"][0].update(bad)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(doc, schema)


@pytest.mark.parametrize("value", [50.3, 50.004, 50.49, 62.0])
def test_a_failure_never_reads_as_equal_to_its_bound(value):
    rule = rules.load_rules()["uniformity"]  # max 50, a score shown rounded
    message = rules._render(rule.message["en"], rule, value, {"max": 50.0}, "en")
    shown = float(re.search(r"scores ([0-9.]+)", message).group(1))
    assert shown != 50.0 and abs(shown - value) < 0.05 and "at most 50" in message, message


def test_a_hostile_tolerance_or_size_is_refused_not_a_crash():
    frame = rules.Frame(600, 800, 600.0, 800.0, dpi=300.0)
    rule = rules.load_rules()["background_color"]
    for bad in ("1e999", float("inf"), 10**400, "9" * 400, True):
        with pytest.raises(CheckerError) as err:
            rules.resolve(rule, {}, {"tolerance": bad}, frame)
        assert err.value.status == "INVALID_ARGUMENT"


# --- what the spec format needs (issue 14): pixel ranges, colours with their own tolerance, ranges ---
def _px_rule() -> rules.Rule:
    return rules.load_rules()["px_and_mm"]


@pytest.mark.parametrize(("size", "ok"), [((600, 600), True), ((1200, 1200), True), ((900, 900), True),
                                          ((599, 599), False), ((1201, 1201), False), ((900, 880), False),
                                          ((601, 600), True)])
def test_a_pixel_range_with_an_aspect_accepts_every_legal_size(size, ok):
    # US digital photos: square, 600 x 600 to 1200 x 1200 (within 1 px of the aspect)
    th = rules.resolve(_px_rule(), {"min_size": [600, 600], "max_size": [1200, 1200], "aspect": [1, 1]}, {}, FRAME)
    assert rules.compare(_px_rule(), list(size), th)[0] is ok


def test_a_request_size_asks_for_that_exact_size_over_the_spec_range():
    rule = _px_rule()
    plan = rules.plan({"px_and_mm": {"min_size": [354, 472], "max_size": [420, 560]}},
                      {"width_px": 400, "height_px": 500}, FRAME, rules={"px_and_mm": rule})
    th = plan.active["px_and_mm"][1]
    assert rules.compare(rule, [400, 500], th)[0] and not rules.compare(rule, [420, 560], th)[0]
    # one axis asked: the other keeps the spec's range
    th = rules._finish(rules.resolve(rule, {"min_size": [354, 472], "max_size": [420, 560]}, {"equals.0": 400}, FRAME))
    assert rules.compare(rule, [400, 500], th)[0] and not rules.compare(rule, [400, 600], th)[0]


def test_pixel_ranges_are_described_in_both_languages():
    rule = _px_rule()
    th = rules.resolve(rule, {"min_size": [600, 600], "max_size": [1200, 1200], "aspect": [1, 1]}, {}, FRAME)
    assert rules.describe(rule, th, "en") == "600x600 to 1200x1200 px, width:height 1:1"
    assert rules.describe(rule, th, "zh") == "为 600x600 至 1200x1200px,宽高比 1:1"
    assert rules.describe(rule, rules.resolve(rule, {"min_size": [600, 750]}, {}, FRAME), "en") == "at least 600x750 px"
    assert rules.describe(rule, {"equals": [295, 413]}, "zh") == "为 295x413px"  # exact sizes read as before
    with pytest.raises(CheckerError):
        rules.resolve(rule, {"min_size": [600]}, {}, FRAME)
    with pytest.raises(CheckerError):
        rules.resolve(rule, {"aspect": [0, 1]}, {}, FRAME)


def test_inches_are_a_threshold_unit():
    frame = rules.Frame(600, 600, 600, 600, dpi=300, mm_w=50.8, mm_h=50.8)
    assert rules.to_number("1.375in", _rule(axis="y"), frame, bare="native") == pytest.approx(412.5)
    assert rules.to_number("1in", _rule(axis="y"), frame, bare="native") == pytest.approx(300)


def _bg(spec_entry: dict, request: dict | None = None) -> tuple[rules.Rule, dict]:
    rule = rules.load_rules()["background_color"]
    return rule, rules.resolve(rule, spec_entry, request or {}, FRAME)


def test_white_has_its_own_tight_tolerance_so_grey_is_not_white():
    rule, th = _bg({"one_of": ["white"]})
    assert th["tolerance"] == 10 and th["tolerances"]["FFFFFF"] == 5
    assert rules.compare(rule, "F4F4F4", th)[0]
    assert not rules.compare(rule, "DCDCDC", th)[0]  # light grey is 7.4 from white
    # white or off-white (US): grey down to #C6C6C6 passed at tolerance 10 around off-white; no longer
    rule, th = _bg({"one_of": ["white", "off_white"]})
    assert rules.compare(rule, "EAEAEA", th)[0]
    assert not rules.compare(rule, "C6C6C6", th)[0] and not rules.compare(rule, "D6D6D6", th)[0]
    # a colour without its own tolerance keeps the general one
    rule, th = _bg({"one_of": ["blue"]})
    assert rules.compare(rule, "4A8AD0", th)[0]


def test_a_spec_tolerance_per_colour_adds_to_the_defaults():
    rule, th = _bg({"one_of": ["cream", "light_gray"], "tolerances": {"light_gray": 4}})
    assert th["tolerances"]["DCDCDC"] == 4 and th["tolerances"]["F3EEDF"] == 5 and th["tolerances"]["FFFFFF"] == 5
    assert not rules.compare(rule, "FFFFFF", th)[0] and not rules.compare(rule, "F2F2F2", th)[0]
    assert rules.compare(rule, "E0E0E0", th)[0] and rules.compare(rule, "EEE8D5", th)[0]
    text = rules.describe(rule, th, "en")
    assert text == "one of cream (ΔE ≤ 5), light_gray (ΔE ≤ 4)", text


LIGHT = {"name": "a light colour", "name_zh": "浅色", "min_lightness": 75, "max_chroma": 30}


def test_a_colour_range_accepts_light_colours_and_refuses_dark_or_strong_ones():
    rule, th = _bg({"one_of": ["white"], "ranges": [LIGHT]})
    for light in ("FFFFFF", "DCDCDC", "8EC5E9", "F3EEDF", "E8F0E0"):
        assert rules.compare(rule, light, th)[0], light
    for dark in ("438EDB", "FF0000", "A0A0A0", "1F4E8C"):
        assert not rules.compare(rule, dark, th)[0], dark
    assert rules.describe(rule, th, "en") == "one of white (ΔE ≤ 5) or a light colour (L* ≥ 75, C* ≤ 30)"
    assert rules.describe(rule, th, "zh") == "为以下之一:白色(ΔE ≤ 5)或浅色(L* ≥ 75、C* ≤ 30)"
    # a request naming its colours replaces the spec's colours and its ranges
    rule, th = _bg({"one_of": ["white"], "ranges": [LIGHT]}, {"one_of": "white"})
    assert "ranges" not in th and not rules.compare(rule, "DCDCDC", th)[0]


def test_a_hue_arc_bounds_a_range_across_zero():
    reds = {"name": "red", "min_chroma": 40, "hue": [330, 60]}
    assert rules.in_colour_range((54.3, 80.8, 69.9), reds)  # FF0000, hue 41
    assert not rules.in_colour_range((57.7, 1.7, -46.1), reds)  # blue, hue 272
    with pytest.raises(ValueError):
        rules._colour_range({"name": "nothing"})


# seed 004's checks that are off by default: (check, its seed parameter, the measure it reads)
SEED_004_OFF = [
    ("body_posture", "body_posture", "body_posture"),
    ("face_gaze", "face_gazeNG", "gaze_direction"),
    ("id_exist", "id_exist", "id_card_held"),
    ("decoration_occlusion", "decoration_occlusion", "decoration_occlusion"),
    ("pn_over_ps", "pn_over_ps", "over_retouched"),
    ("pn_neck_shadow_exist", "pn_neck_shadow_exist", "neck_shadow"),
]


@pytest.mark.parametrize(("check", "param", "measure"), SEED_004_OFF)
def test_the_seed_004_checks_are_off_with_the_seeds_parameter_and_default(check, param, measure):
    rule = rules.load_rules()[check]
    assert rule.enabled is False and not rule.planned and rule.default == {"max": 60}
    assert rule.params == {"max": param} and rule.measure == measure
