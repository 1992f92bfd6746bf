"""The idphoto command line."""

from __future__ import annotations

import json

from checker.cli import main


def test_check_prints_a_table_and_exits_1_on_failure(runner, faces_dir):
    res = runner.invoke(main, ["check", str(faces_dir / "hivision_idphoto_2.jpg"), "--spec", "1102"])
    assert res.exit_code == 1, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith("1 Inch (1102): FAIL")
    assert lines[2].split() == ["STATUS", "CHECK", "VALUE", "EXPECTED", "NOTE"]
    row = next(line for line in lines if " px_and_mm " in line)
    assert row.startswith("FAIL") and "607x851" in row and "= 295x413" in row
    assert any(line.startswith("PASS") and " head_length " in line for line in lines)


def test_check_exits_0_when_the_photo_passes(runner, faces_dir):
    # The photo's own size and format as the spec's, and only framing thresholds kept strict.
    res = runner.invoke(main, ["check", str(faces_dir / "hivision_idphoto_2.jpg"), "--spec", "1102", "--json",
                               "--param", "width_px=607", "--param", "height_px=851"])
    report = json.loads(res.output)
    assert report["result"]["px_and_mm"] == 1
    assert res.exit_code == (0 if report["check_result"] == 1 else 1)


def test_check_json_and_params(runner, faces_dir):
    res = runner.invoke(main, ["check", str(faces_dir / "hivision_idphoto_2.jpg"), "--spec", "1102", "--json",
                               "--param", "head_length_max_p=100", "--param", "photo_format=png"])
    report = json.loads(res.output)
    assert report["result"]["head_length"] == 0 and report["result"]["photo_format"] == 0
    assert report["expected"]["photo_format"] == {"one_of": ["PNG"]}


def test_check_errors_exit_2(runner, faces_dir, tmp_path):
    res = runner.invoke(main, ["check", str(faces_dir / "dogs_no_face.jpg"), "--spec", "1102"])
    assert res.exit_code == 2 and "NO_FACE_DETECTED" in res.output
    res = runner.invoke(main, ["check", str(tmp_path / "missing.jpg"), "--spec", "1102"])
    assert res.exit_code == 2 and "FILE_NOT_READABLE" in res.output
    res = runner.invoke(main, ["check", str(faces_dir / "hivision_idphoto_2.jpg"), "--spec", "nope", "--json"])
    assert res.exit_code == 2 and json.loads(res.output)["status"] == "UNKNOWN_SPEC"


def test_check_in_chinese(runner, faces_dir):
    res = runner.invoke(main, ["check", str(faces_dir / "hivision_idphoto_2.jpg"), "--spec", "1102", "--lang", "zh"])
    assert "规格要求为 295x413" in res.output


def test_specs_lists_and_searches(runner):
    res = runner.invoke(main, ["specs", "--search", "passport", "--category", "passport"])
    assert res.exit_code == 0
    slugs = [line.split()[1] for line in res.stdout.splitlines()]
    assert "us-passport" in slugs and "uk-passport" in slugs and "schengen-visa" not in slugs
    data = json.loads(runner.invoke(main, ["specs", "--json", "--search", "7601"]).stdout)
    assert [s["slug"] for s in data] == ["china-visa"]
