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


def _rows(res) -> list[list[str]]:
    return [line.split(None, 4) for line in res.stdout.splitlines()[3:]]


def test_not_applicable_checks_are_rows_with_their_reason(runner, faces_dir):
    photo = str(faces_dir / "obama_partial_face.jpg")  # the face runs off the right edge: one shoulder unseen
    report = json.loads(runner.invoke(main, ["check", photo, "--spec", "1102", "--json"]).stdout)
    # (edge_halo and bg_remnants are N/A here too: the background is not one plain colour)
    na_checks = [n["check"] for n in report["not_applicable"]]
    assert "shoulder_equal" in na_checks
    res = runner.invoke(main, ["check", photo, "--spec", "1102"])
    na_rows = {r[1]: r for r in _rows(res) if r[0] == "N/A"}
    assert sorted(na_rows) == sorted(na_checks)
    assert "not applicable: the image-left shoulder is not visible" in na_rows["shoulder_equal"][-1]
    # N/A neither passes nor fails: the title counts only judged checks, and names the N/A ones apart.
    judged = len([k for k in report["result"] if k not in ("name", "spec_id")])
    not_passed = sum(1 for k, v in report["result"].items() if k not in ("name", "spec_id") and v != 1)
    title = f"1 Inch (1102): FAIL, {not_passed} of {judged} checks not passed; {len(na_checks)} not applicable"
    assert res.stdout.splitlines()[0] == title
    zh = runner.invoke(main, ["check", photo, "--spec", "1102", "--lang", "zh"])
    assert any(r[0] == "N/A" and r[-1].startswith("不适用") for r in _rows(zh))


def test_unassessed_checks_are_not_shown_as_not_applicable(runner, faces_dir):
    res = runner.invoke(main, ["check", str(faces_dir / "mask_116_with.jpg"), "--spec", "1102"])
    statuses = {r[1]: r[0] for r in _rows(res)}
    assert statuses["eyes_close"] == "UNASSESSED" and "N/A" not in statuses.values()
    assert res.exit_code == 1  # a check that could not be made counts against the photo


def test_a_misspelt_threshold_is_a_usage_error_with_the_closest_names(runner, faces_dir):
    res = runner.invoke(main, ["check", str(faces_dir / "hivision_idphoto_2.jpg"), "--spec", "1102",
                               "--param", "eyes_clsoe=30"])
    assert res.exit_code == 2
    assert "unknown threshold 'eyes_clsoe'; did you mean eyes_close?" in res.stderr and res.stdout == ""
    res = runner.invoke(main, ["check", str(faces_dir / "hivision_idphoto_2.jpg"), "--spec", "1102",
                               "--param", "head_length_max=100"])
    assert res.exit_code == 2 and "head_length_max_p" in res.stderr
    res = runner.invoke(main, ["check", "-", "--spec", "1102", "--param", "zzzz=1"], input=b"")
    assert res.exit_code == 2 and "unknown threshold 'zzzz'" in res.stderr and "did you mean" not in res.stderr


def test_the_valid_names_are_the_library_s(runner, faces_dir):
    import checker

    names = checker.threshold_names()
    assert {"eyes_close", "head_length_min_p", "width_px", "height_px", "face_center"} <= set(names)
    res = runner.invoke(main, ["check", str(faces_dir / "hivision_idphoto_2.jpg"), "--spec", "1102", "--json",
                               "--param", "face_center=1", "--param", "eyes_close=30"])
    assert res.exit_code in (0, 1) and "ignored_params" not in json.loads(res.stdout)


def test_check_reads_the_photo_from_stdin(runner, faces_dir):
    path = faces_dir / "hivision_idphoto_2.jpg"
    from_file = json.loads(runner.invoke(main, ["check", str(path), "--spec", "1102", "--json"]).stdout)
    res = runner.invoke(main, ["check", "-", "--spec", "1102", "--json"], input=path.read_bytes())
    from_stdin = json.loads(res.stdout)
    assert from_stdin["result"] == from_file["result"] and from_stdin["value_dict"] == from_file["value_dict"]
    assert res.exit_code == 1
