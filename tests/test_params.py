"""The parameter tables (checker.params): every declared parameter is walked through parsing,
the OpenAPI document and the price, so the three cannot drift apart; hostile numbers, booleans
where numbers belong and misspelt names are refused naming the parameter."""

from __future__ import annotations

import base64
import io
import subprocess
import sys

import numpy as np
import pytest

from checker import rules
from checker.autofix import options_from_params
from checker.errors import CheckerError
from checker.params import Param, Table
from checker.params.check import CHECK
from checker.params.generation import FIX, TABLE, TASKS, price
from checker.params.hivision import ENDPOINTS
from checker.params.services import MASK, MATTING
from checker.web.openapi import document

from .conftest import encode

WITH_PATHS = [FIX, TASKS, CHECK, MASK, MATTING, *ENDPOINTS.values()]
ALL_TABLES = [TABLE, *WITH_PATHS]
DECLARED = [(t, p) for t in ALL_TABLES for p in t.params_list if p.kind != "image"]


def _id(case) -> str:
    table, param = case
    return f"{table.name}:{param.name}"


def _valid(p: Param):
    """A value inside the declaration, with the typed value it must parse to."""
    if p.kind == "int":
        lo = int(p.lo) if p.lo is not None else 0
        return str(lo), lo
    if p.kind == "number":
        mid = ((p.lo or 0.0) + (p.hi if p.hi is not None else 1.0)) / 2
        return str(mid), mid
    if p.kind == "flag":
        return "1", True
    if p.kind == "choice":
        return p.choices[-1].upper(), p.choices[-1]
    if p.kind == "flag_or_choice":
        return p.choices[-1], p.choices[-1]
    if p.kind == "id":
        return 1102, "1102"
    return "x", "x"


def _invalid(p: Param) -> list:
    """Values the declaration refuses."""
    if p.kind in ("int", "number"):
        bad = ["Infinity", "nan", "1e999", "9" * 400, float("inf"), 10**400, True, "twelve"]
        if p.hi is not None:
            bad.append(p.hi + 1)
        if p.lo is not None:
            bad.append(p.lo - 1)
        if p.kind == "int":
            bad.append("2.5")
        return bad
    if p.kind in ("flag", "flag_or_choice"):
        return ["maybe", 2, [1]]
    if p.kind == "choice":
        return ["no-such-choice", 3]
    if p.kind == "id":
        return [True, [1102], {"a": 1}]
    return [{"a": 1}, "x" * (p.max_len + 1)]


@pytest.mark.parametrize("case", DECLARED, ids=_id)
def test_every_parameter_parses_its_values_and_refuses_others(case):
    table, p = case
    raw, typed = _valid(p)
    base = {q.name: _valid(q)[0] for q in table.params_list if q.required and q.name != p.name}
    got = table.parse({**base, p.name: raw})
    assert got[p.name] == typed and p.name in got
    for bad in _invalid(p):
        with pytest.raises(CheckerError) as err:
            table.parse({**base, p.name: bad})
        assert err.value.status == "INVALID_ARGUMENT" and p.name in err.value.message, (bad, err.value.message)
    for alias in p.aliases:  # an alias is the same parameter
        assert table.parse({**base, alias: raw})[p.name] == typed


@pytest.mark.parametrize("case", [(t, p) for t in WITH_PATHS for p in t.params_list], ids=_id)
def test_every_parameter_is_in_the_openapi_document_as_declared(case):
    table, p = case
    body = document()["paths"][table.name]["post"]["requestBody"]["content"]
    schemas = [c["schema"] for c in body.values()]
    props = schemas[0]["properties"]
    # The document may add what the transport needs (an upload or a required text is not empty;
    # a JSON image is base64 text), nothing else.
    got, want = dict(props[p.name]), p.schema()
    assert set(got) - set(want) <= {"minLength", "pattern"}, got
    if p.kind == "image":
        assert got.pop("format") in ("binary", "byte") and want.pop("format") == "binary"
    assert {k: v for k, v in got.items() if k in want} == want
    if p.required:
        assert p.name in schemas[0]["required"]
    for alias in p.aliases:
        assert props[alias]["description"] == f"the same as {p.name}"
    if table.strict and not table.passthrough_names():
        assert schemas[0]["additionalProperties"] is False


@pytest.mark.parametrize("case", DECLARED, ids=_id)
def test_every_parameter_costs_what_it_declares(case):
    table, p = case
    base = {q.name: _valid(q)[0] for q in table.params_list if q.required}
    plain = table.price(table.parse(base))
    assert plain == table.base_price
    on = table.price(table.parse({**base, p.name: _valid(p)[0]}))
    if p.cost is None:
        assert on == plain
    elif p.cost.kind == "free":
        assert on == 0
    elif p.cost.kind == "base":
        assert on == p.cost.credits
    else:
        assert on == plain + p.cost.credits


# The PicWish credit rules as data: (parameters, credits).
PRICES = [
    ({}, 6),
    ({"clothes_id": "suit-1"}, 15),
    ({"auto_bright": "1"}, 14),
    ({"auto_smooth": 1, "auto_sharp": "true"}, 14),  # beauty is +8 once, however many options
    ({"layout": "1"}, 11),
    ({"layout": "6inch"}, 11),
    ({"layout": "a4"}, 11),
    ({"layout_size": "a4"}, 6),  # a paper named without a sheet asked for: no sheet
    ({"clothes_id": "x", "auto_thin_face": "1", "layout": 1}, 28),
    ({"preview": "1", "clothes_id": "x", "layout": "1"}, 0),
    ({"auto_bright": "0", "layout": "0", "clothes_id": ""}, 6),
]


@pytest.mark.parametrize(("params", "credits"), PRICES)
def test_price(params, credits):
    assert price(params) == credits
    assert FIX.price(FIX.parse(params)) == TASKS.price(TASKS.parse(params)) == credits


@pytest.mark.parametrize(("layout", "size", "paper"), [
    ("6inch", None, "6inch"), ("a4", None, "a4"), ("1", None, "5inch"), ("1", "6inch", "6inch"),
    ("true", "a4", "a4"), ("0", "a4", None), (None, "a4", None),
])
def test_layout_names_reach_the_options(layout, size, paper):
    params = {k: v for k, v in (("layout", layout), ("layout_size", size)) if v is not None}
    assert options_from_params(params).layout == paper


def test_mm_width_is_a_number_everywhere():
    opts = options_from_params({"mm_width": "35.5", "mm_height": "45", "dpi": "300"})
    assert opts.size_px == (round(35.5 / 25.4 * 300), round(45 / 25.4 * 300))
    fix_props = document()["paths"]["/api/fix"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert fix_props["schema"]["properties"]["mm_width"]["type"] == "number"


def test_misspelt_names_are_refused_with_a_suggestion():
    with pytest.raises(CheckerError) as err:
        options_from_params({"layuot": "1"})
    assert "layuot" in err.value.message and "layout" in err.value.message
    with pytest.raises(CheckerError) as err:
        MASK.parse({"mask_eyes": "1"})
    assert "mask_eyes (did you mean mask_eye?)" in err.value.message


def test_thresholds_pass_through_to_the_rules():
    name = rules.param_names()[0]
    got = FIX.parse({name: "12"})
    assert got.extra == {name: "12"} and not got.ignored


def test_lenient_tables_list_unknown_names():
    got = ENDPOINTS["/idphoto"].parse({"brightness_strength": "3", "width": "300"})
    assert got.ignored == ["brightness_strength"] and got["width"] == 300
    assert CHECK.parse({"no_such_check": "1"}).ignored == ["no_such_check"]


def test_a_name_declared_twice_fails_loudly():
    with pytest.raises(ValueError, match="declared twice"):
        _ = Table("t", (Param("a", "int", "x"), Param("b", "int", "y", aliases=("a",))))._index


def test_the_library_does_not_import_flask():
    code = ("import sys, checker.autofix, checker.params.generation, checker.pipeline; "
            "sys.exit(1 if 'flask' in sys.modules else 0)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_every_operator_is_registered_and_named_by_the_schema():
    import json

    schema = json.loads((rules.RULES_DIR / "schema.json").read_text(encoding="utf-8"))
    ops = schema["$defs"]["rule"]["properties"]["op"]["enum"]
    assert sorted(ops) == sorted(rules.OPERATORS)
    assert {r.op for r in rules.load_rules().values()} <= set(rules.OPERATORS)


# --- through the web layer (a tiny PNG: thresholds are refused before any face is looked for) --------
def _png() -> str:
    return base64.b64encode(encode(np.full((60, 50, 3), 200, np.uint8), "PNG")).decode("ascii")


@pytest.mark.parametrize("bad", ['"Infinity"', '"1e999"', '"' + "9" * 400 + '"', str(10**400), "Infinity", "NaN",
                                 "1e999"])
def test_hostile_thresholds_are_400_naming_the_parameter(client, bad):
    name = "head_length_min_p" if "head_length_min_p" in rules.param_names() else rules.param_names()[0]
    # Written by hand: the app's JSON provider would turn a float infinity into null on the way in.
    body = f'{{"file": "{_png()}", "spec_id": 1102, "{name}": {bad}}}'
    resp = client.post("/api/check_pic", data=body, content_type="application/json")
    body = resp.get_json()
    assert resp.status_code == 400 and body["status"] == "INVALID_ARGUMENT" and name in body["message"], body


def test_a_boolean_frame_size_is_refused(client):
    resp = client.post("/api/check_pic", json={"file": _png(), "spec_id": 1102, "width_px": True})
    assert resp.status_code == 400 and "width_px" in resp.get_json()["message"]


@pytest.mark.parametrize(("path", "field", "extra", "named"), [
    ("/api/fix", "file", {"spec_id": "1102", "face_width": "1e999"}, "face_width"),
    ("/api/fix", "file", {"spec_id": "1102", "bg_colour": "FF0000"}, "bg_colour"),
    ("/idphoto", "input_image", {"width": "9" * 400}, "width"),
    ("/watermark", "input_image", {"text": "x", "opacity": "Infinity"}, "opacity"),
    ("/set_kb", "input_image", {"kb": "1" * 400}, "kb"),
    ("/add_background", "input_image", {"color": "FFFFFF", "kb": True}, "kb"),
    ("/api/v1/matting2", "file", {"human_matting_modle": "x"}, "human_matting_modle"),
])
def test_bad_options_are_4xx_on_every_family(client, path, field, extra, named):
    data = {field: (io.BytesIO(base64.b64decode(_png())), "p.png"), **extra}
    resp = client.post(path, data=data, content_type="multipart/form-data")
    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert named in resp.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/api/check_pic", "/api/fix", "/idphoto", "/set_kb"])
def test_deeply_nested_json_is_a_400(client, path):
    resp = client.post(path, data="[" * 100_000 + "]" * 100_000, content_type="application/json")
    assert resp.status_code == 400, resp.get_data(as_text=True)


@pytest.mark.parametrize("name", ["fix", "tasks", "check", "idphoto", "watermark", "mask"])
def test_the_command_line_lists_every_declared_parameter(runner, name):
    from checker.cli import main
    from checker.params.catalogue import table

    out = runner.invoke(main, ["params", name])
    assert out.exit_code == 0, out.output
    lines = {line.split()[0]: line for line in out.output.splitlines()}
    for p in table(name).params_list:
        if p.kind != "image":
            assert p.describe() in lines[p.name]


def test_the_command_line_lists_the_thresholds_and_refuses_unknown_tables(runner):
    from checker.cli import main

    out = runner.invoke(main, ["params", "thresholds"])
    assert out.exit_code == 0
    assert sorted(line.split()[0] for line in out.output.splitlines()) == rules.param_names()
    bad = runner.invoke(main, ["params", "no-such-table"])
    assert bad.exit_code == 2 and "no-such-table" in bad.output and "thresholds" in bad.output
