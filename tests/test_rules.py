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
