"""The catalogue as a whole (issue 14 item 3): 300+ documents in 100+ countries, every official one
with its source, ICAO geometry where a document follows ICAO, Chinese names, the country filter in
the library, the API and the CLI, and the importer that writes the generated files."""

from __future__ import annotations

import copy
import json
import os
import re
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from checker import countries, specs
from checker.cli import main
from checker.specs import SPECS_DIR, list_specs, load_spec

ROOT = Path(__file__).resolve().parent.parent
WHEEL_NAME = "passport_photo_specs-1.3.0-py3-none-any.whl"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _picwish(spec) -> bool:
    return any("PicWish" in s for s in spec.raw.get("sources", ()))


def test_at_least_300_documents_in_at_least_100_countries():
    all_specs = list_specs()
    states = {s.country for s in all_specs if s.country and s.country != "EU"}
    assert len(all_specs) >= 300 and len(states) >= 100, (len(all_specs), len(states))


def test_every_official_document_names_its_source():
    for spec in list_specs():
        if _picwish(spec) and spec.source is None:
            continue  # PicWish's table is the source of its rows (spec.raw["sources"])
        src = spec.source
        assert src is not None, spec.id
        assert src["authority"] and re.fullmatch(r"\d{4}-\d{2}-\d{2}", src["read"]), spec.id
        assert src["method"] in ("recalled", "fetched", "dataset"), spec.id
        assert spec.official and spec.summary()["official"]
    assert sum(1 for s in list_specs() if s.official) >= 230


def test_every_document_has_a_chinese_name_and_a_known_country():
    for spec in list_specs():
        assert CJK.search(spec.name_zh), spec.id
        if spec.country:
            assert spec.country_name and CJK.search(spec.country_name_zh or ""), spec.id


def test_icao_documents_carry_icao_9303_head_geometry():
    flagged = [s for s in list_specs() if s.raw.get("icao")]
    assert len(flagged) >= 100
    for spec in flagged:
        assert spec.size_mm == (35, 45), spec.id
        assert spec.raw["checks"]["head_length"] == {"min": "32mm", "max": "36mm"}, spec.id
    # every generated 35 x 45 mm passport or visa follows ICAO, has its authority's head window, or
    # says (icao: false, with a note) why it does not
    for spec in list_specs():
        if spec.raw.get("generated") and spec.size_mm == (35, 45) and spec.category in ("passport", "visa"):
            assert "icao" in spec.raw or "head_length" in spec.raw.get("checks", {}), spec.id


def test_generated_specs_record_the_data_set_entry_and_where_they_depart_from_it():
    generated = [s for s in list_specs() if s.raw.get("generated") == "tools/import_specs.py"]
    assert len(generated) >= 220
    for spec in generated:
        # the data set's entry, or (Luxembourg, Liechtenstein) a document the tables add from its authority
        assert "dataset" in spec.raw or spec.raw["source"]["method"] == "recalled", spec.id
    kenya = load_spec("kenya-passport")
    assert kenya.size_mm == (50.8, 50.8) and "51 x 51" in kenya.raw["dataset"]["differs"][0]
    assert load_spec("france-passport").background_colors == ("light_gray", "light_blue")  # white refused


def test_ids_spell_the_country_and_the_document_type():
    assert load_spec(108201).slug == "germany-passport"  # D=3, E=4: 3 x 26 + 4 = 82, passport 01
    assert load_spec("de-passport").id == 108201
    for spec in list_specs():
        if spec.raw.get("generated"):
            a, b = (ord(ch) - 65 for ch in spec.country)
            assert spec.id // 100 == 1000 + a * 26 + b, spec.id


@pytest.mark.parametrize(("query", "expected"), [
    ("DE", {"germany-passport", "germany-id-card", "germany-visa"}), ("de", {"germany-passport"}),
    ("Germany", {"germany-passport"}), ("德国", {"germany-passport"}), ("GB", {"uk-passport", "uk-passport-online"}),
    ("United Kingdom", {"uk-passport"}), ("英国", {"uk-visa"}), ("EU", {"schengen-visa"}),
])
def test_country_filter_by_code_or_name(query, expected):
    found = {s.slug for s in list_specs(country=query)}
    assert expected <= found
    code = countries.find(query).code
    assert all(load_spec(slug).country == code for slug in found)


def test_an_unknown_country_lists_nothing():
    assert list_specs(country="XX") == [] and list_specs(country="Atlantis") == []


@pytest.mark.parametrize(("words", "slug"), [
    ("germany passport", "germany-passport"), ("德国 护照", "germany-passport"), ("韩国", "south-korea-passport"),
    ("korea passport", "south-korea-passport"), ("holland", "netherlands-passport"), ("美国 绿卡", "us-green-card"),
    ("香港", "hong-kong-passport"), ("turkey", "turkiye-passport"), ("土耳其 护照", "turkiye-passport"),
])
def test_search_finds_documents_by_country_name_in_english_and_chinese(words, slug):
    assert slug in {s.slug for s in list_specs(search=words)}


def test_a_word_of_digits_is_an_id_whole():
    assert [s.slug for s in list_specs(search="7601")] == ["china-visa"]
    assert [s.id for s in list_specs(search="108201")] == [108201]
    assert {s.id for s in list_specs(search="413x531")} >= {7301, 108201}


def test_api_filters_by_country(client):
    body = client.get("/api/specs?country=DE").get_json()
    assert body["count"] == len(body["specs"]) >= 5
    assert {s["country"] for s in body["specs"]} == {"DE"}
    first = body["specs"][0]
    assert first["country_name"] == "Germany" and first["country_name_zh"] == "德国"
    assert first["official"] is True and first["source"]["authority"]
    assert client.get("/api/specs?country=%E5%BE%B7%E5%9B%BD").get_json()["count"] == body["count"]  # 德国
    both = client.get("/api/specs?country=DE&category=passport").get_json()["specs"]
    assert [s["slug"] for s in both] == ["germany-passport"]
    one = client.get("/api/specs/us-visa-ds160").get_json()["spec"]
    assert one["pixels"] == {"min": [600, 600], "max": [1200, 1200], "aspect": [1, 1]}
    assert one["checks"]["px_and_mm"] == {"min_size": [600, 600], "max_size": [1200, 1200], "aspect": [1, 1]}


def test_cli_filters_by_country():
    res = CliRunner().invoke(main, ["specs", "--country", "DE"])
    assert res.exit_code == 0
    rows = [line.split() for line in res.stdout.splitlines()]
    assert rows and all(r[2] == "DE" for r in rows) and "germany-passport" in {r[1] for r in rows}
    data = json.loads(CliRunner().invoke(main, ["specs", "--country", "德国", "--json"]).stdout)
    assert {d["country"] for d in data} == {"DE"} and data[0]["country_name_zh"] == "德国"


# --- the format: what the schema and the loader refuse ----------------------------------------------------
def _schema():
    return json.loads((SPECS_DIR / "schema.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("bad", [
    {"pixels": {"min": [600, 600]}, "medium": "print"},  # a pixel range belongs to an upload
    {"hair_allowance": "2mm"},  # an allowance for hair only where the head ends at the skull
    {"head_crown": "skull"},  # ... and a skull crown needs one
    {"background_colors": [{"color": "white"}]},  # a colour object names its tolerance
    {"file": {"max_kb": 240}},  # KB of which size?
    {"source": {"authority": "X Office", "read": "yesterday", "method": "recalled"}},
    {"source": {"authority": "X Office", "read": "2026-12-02", "method": "guessed"}},
    {"category": "planet"}, {"medium": "fax"}, {"size_mm_range": {"min": [35, 45]}},
])
def test_the_schema_refuses_what_no_document_says(bad):
    good = json.loads((SPECS_DIR / "7101.json").read_text(encoding="utf-8"))
    jsonschema.validate(good, _schema())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(good | bad, _schema())


@pytest.mark.parametrize(("change", "message"), [
    ({"size_px": [500, 500]}, "outside pixels.min"),
    ({"size_px": [600, 700]}, "aspect"),
    ({"country": "XX"}, "not in checker/countries.py"),
    ({"size_mm_range": {"min": [40, 50], "max": [45, 55]}}, "outside size_mm_range"),
    ({"variants": [9999]}, "variant 9999"),
    ({"background_colors": ["mauve-ish"]}, "colour"),
])
def test_the_loader_refuses_inconsistent_specs(tmp_path, monkeypatch, change, message):
    for path in SPECS_DIR.glob("*.json"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    doc = json.loads((tmp_path / "7101.json").read_text(encoding="utf-8"))
    doc.update(copy.deepcopy(change))
    (tmp_path / "7101.json").write_text(json.dumps(doc), encoding="utf-8")
    monkeypatch.setattr(specs, "SPECS_DIR", tmp_path)
    specs._catalogue.cache_clear()
    try:
        with pytest.raises(ValueError, match=message):
            specs._catalogue()
    finally:
        monkeypatch.undo()
        specs._catalogue.cache_clear()


# --- the importer -----------------------------------------------------------------------------------------
def _wheel() -> Path | None:
    for candidate in (os.environ.get("IDPHOTO_PPS_WHEEL"), f"/tmp/pps/{WHEEL_NAME}"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def test_the_importer_reproduces_the_committed_files():
    """tools/import_specs.py --check against the pinned wheel: the generated files are what the
    tables make of the data set (set IDPHOTO_PPS_WHEEL to a downloaded wheel; skipped without one,
    the suite does not download)."""
    wheel = _wheel()
    if wheel is None:
        pytest.skip(f"no {WHEEL_NAME} (pip download --no-deps passport-photo-specs==1.3.0; IDPHOTO_PPS_WHEEL)")
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import import_specs
    finally:
        sys.path.remove(str(ROOT / "tools"))
    assert import_specs.main(["--wheel", str(wheel), "--check"]) == 0
    tables = import_specs.tables
    data = import_specs.read_dataset(wheel)
    country_of = {d["id"]: tables.COUNTRY_CODES[c["id"]] for c in data["countries"] for d in c["documents"]}
    recorded = {s.raw["dataset"]["document"] for s in list_specs() if "dataset" in s.raw}
    assert set(country_of) == recorded | set(tables.DUPLICATES)  # every document of the data set, minus duplicates
    for dataset_id, spec_id in tables.DUPLICATES.items():  # a duplicate is the same state's document
        assert load_spec(spec_id).country == country_of[dataset_id], dataset_id
