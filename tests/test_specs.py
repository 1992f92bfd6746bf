"""The spec catalogue: every seed 002 row, the international documents, lookup and search."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from checker.errors import CheckerError
from checker.specs import SPECS_DIR, list_specs, load_spec


def _seed_rows(faces_dir):
    text = (faces_dir.parent / "seeds" / "002_e9915b65730d8c0e.txt").read_text(encoding="utf-8")
    return re.findall(r"^(\d{4}) \| (\w+) \| (.+?) \| (\d+)x(\d+) \| (\d+)x(\d+) \| (\d+) \| (.+?) \|$", text, re.M)


def test_every_row_of_seed_002_is_a_spec_with_its_size_dpi_and_colours(faces_dir):
    rows = _seed_rows(faces_dir)
    assert len(rows) == 130
    for sid, category, title, mw, mh, pw, ph, dpi, colours in rows:
        spec = load_spec(int(sid))
        assert spec.name.startswith(title), sid
        assert spec.size_px == (int(pw), int(ph)), sid
        assert spec.dpi == int(dpi), sid
        assert spec.size_mm == (float(mw), float(mh)), sid
        assert spec.category == category.lower(), sid
        expected = [] if colours == "No Requirement" else [c.strip().lower() for c in colours.split(",")]
        assert list(spec.background_colors) == expected, sid
        assert spec.checks["px_and_mm"]["equals"] == [int(pw), int(ph)]
        if expected:
            assert spec.checks["background_color"]["one_of"] == expected
        else:
            assert spec.checks["background_color"] == {"enabled": False}


@pytest.mark.parametrize("sid", [5102, 5107, 5506])
def test_pixel_millimetre_discrepancies_keep_pixels_and_are_recorded(sid):
    spec = load_spec(sid)
    assert "discrepancy" in spec.raw and "px is kept" in spec.raw["discrepancy"]
    assert spec.checks["px_and_mm"]["equals"] == list(spec.size_px)


@pytest.mark.parametrize(("slug", "size", "check", "bounds"), [
    ("us-passport", (600, 600), "head_length", ("1in", "1.375in")),
    ("uk-passport", (413, 531), "head_length", ("29mm", "34mm")),
    ("schengen-visa", (413, 531), "head_length", ("32mm", "36mm")),
    ("canada-passport", (591, 827), "head_length", ("31mm", "38mm")),  # 31-36 mm to the skull, 2 mm of hair
    ("japan-passport", (413, 531), "head_length", ("32mm", "36mm")),
    ("australia-passport", (413, 531), "head_length", ("32mm", "36mm")),
    ("china-visa", (354, 472), "head_length", ("28mm", "33mm")),
    ("china-resident-id", (358, 441), "facial_width", ("193px", "221px")),
])
def test_international_documents_carry_their_official_geometry(slug, size, check, bounds):
    spec = load_spec(slug)
    assert spec.size_px == size
    assert (spec.checks[check].get("min"), spec.checks[check].get("max")) == bounds


def test_file_rules_become_checks():
    dv = load_spec("us-dv-lottery")
    assert dv.checks["file_size"] == {"max": 240000} and dv.checks["photo_format"] == {"one_of": ["JPEG"]}
    visa = load_spec("china-visa")
    assert visa.checks["file_size"] == {"min": 40960, "max": 120000}  # 40-120 KB under either KB
    assert load_spec(2102).dpi == 350 and load_spec(2102).checks["background_color"]["one_of"] == ["white"]


@pytest.mark.parametrize("ref", [1102, "1102", " 1102 ", "1-inch", "1-INCH"])
def test_lookup_by_id_or_slug(ref):
    assert load_spec(ref).id == 1102


@pytest.mark.parametrize("ref", [9999, "9999", "no-such-spec", "", True])
def test_unknown_spec(ref):
    with pytest.raises(CheckerError) as info:
        load_spec(ref)
    assert info.value.status == "UNKNOWN_SPEC"


def test_search_and_category():
    visas = list_specs(search="visa")
    assert {s.slug for s in visas} >= {"schengen-visa", "usa-visa", "china-visa"}
    assert all("visa" in (s.name + s.slug + s.category).lower() for s in visas)
    assert [s.id for s in list_specs(search="cet 6")] == [5509]
    assert {s.id for s in list_specs(search="居民身份证")} == {2102}
    assert 2102 in {s.id for s in list_specs(search="身份证")} and len(list_specs(search="身份证")) > 20
    assert all(s.category == "passport" for s in list_specs(category="passport"))
    assert [s.id for s in list_specs()] == sorted(s.id for s in list_specs())


def test_slugs_and_aliases_are_unique():
    names = [n for s in list_specs() for n in (s.slug, *s.aliases)]
    assert len(names) == len(set(names))


def test_the_schema_refuses_a_malformed_spec():
    schema = json.loads((SPECS_DIR / "schema.json").read_text())
    good = json.loads((SPECS_DIR / "1102.json").read_text())
    jsonschema.validate(good, schema)
    for bad in ({"size_px": [295]}, {"category": "planet"}, {"slug": "Not A Slug"},
                {"checks": {"head_length": {"min": "tall"}}}, {"dpi": 5}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(good | bad, schema)
