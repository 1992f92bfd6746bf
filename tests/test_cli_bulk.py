"""idphoto check over many photos: files, folders and stdin; CSV and JSON reports; exit codes."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest

from checker.cli import main

# 1102 asks for 295x413; these overrides make the finished 607x851 photo pass.
AS_IS = ["--param", "width_px=607", "--param", "height_px=851"]


@pytest.fixture
def uploads(faces_dir, tmp_path):
    """A folder as a portal receives it: photos, a subfolder, a non-photo with a photo's name, notes."""
    src = tmp_path / "uploads"
    (src / "late").mkdir(parents=True)
    (src / ".cache").mkdir()
    shutil.copy(faces_dir / "hivision_test0.jpg", src / "a_portrait.jpg")
    shutil.copy(faces_dir / "dogs_no_face.jpg", src / "b_dogs.jpg")
    shutil.copy(faces_dir / "hivision_idphoto_2.jpg", src / "late" / "c_idphoto.JPG")
    shutil.copy(faces_dir / "hivision_idphoto_2.jpg", src / ".cache" / "hidden.jpg")
    (src / "d_fake.png").write_text("this is not a picture")
    (src / "notes.txt").write_text("not a photo either")
    return src


def test_a_folder_stdin_and_a_missing_file_make_one_csv_row_each(runner, uploads, faces_dir, tmp_path):
    report = tmp_path / "report.csv"
    res = runner.invoke(main, ["check", str(uploads), "-", str(tmp_path / "gone.jpg"), "--spec", "1102",
                               "--report", str(report), "--format", "csv"],
                        input=(faces_dir / "hivision_test3.jpg").read_bytes())
    assert res.exit_code == 2, res.output  # some photos could not be checked
    rows = list(csv.DictReader(io.StringIO(res.stdout)))  # stdout holds the CSV and nothing else
    assert rows == list(csv.DictReader(report.open(encoding="utf-8")))
    by = {r["file"].replace(str(uploads), "U").replace(str(tmp_path), "T"): r for r in rows}
    assert list(by) == ["U/a_portrait.jpg", "U/b_dogs.jpg", "U/d_fake.png", "U/late/c_idphoto.JPG", "<stdin>",
                        "T/gone.jpg"]
    assert [by[k]["status"] for k in by] == ["fail", "error", "error", "fail", "fail", "error"]
    assert by["U/b_dogs.jpg"]["error"] == "NO_FACE_DETECTED"
    assert by["U/d_fake.png"]["error"] == "CORRUPT_IMAGE"
    assert by["T/gone.jpg"]["error"] == "FILE_NOT_READABLE"
    assert by["U/late/c_idphoto.JPG"]["failed"] == "px_and_mm" and "295x413" in by["U/late/c_idphoto.JPG"]["message"]
    assert "px_and_mm" in by["<stdin>"]["failed"].split(";")
    assert "6 photos: 0 pass, 3 fail, 3 could not be checked" in res.stderr


def test_json_rows_carry_the_details_and_the_exit_code_says_all_passed(runner, faces_dir, tmp_path):
    folder = tmp_path / "ok"
    folder.mkdir()
    for name in ("one.jpg", "two.jpg"):
        shutil.copy(faces_dir / "hivision_idphoto_2.jpg", folder / name)
    report = tmp_path / "r.json"
    res = runner.invoke(main, ["check", str(folder), "--spec", "1102", "--format", "json", "--report", str(report),
                               *AS_IS])
    rows = json.loads(res.stdout)
    assert rows == json.loads(report.read_text(encoding="utf-8"))
    assert [r["status"] for r in rows] == ["pass", "pass"] and res.exit_code == 0, res.output
    assert rows[0]["failed"] == [] and rows[0]["values"]["px_and_mm"] == [607, 851]
    strict = runner.invoke(main, ["check", str(folder), "--spec", "1102", "--format", "json", "-q"])
    assert strict.exit_code == 1  # all checked, some failed
    assert [f["check"] for f in json.loads(strict.stdout)[0]["failures"]] == ["px_and_mm"]
    assert strict.stderr == ""  # --quiet: no bar, no summary


def test_the_progress_bar_and_summary_go_to_stderr(runner, faces_dir, tmp_path):
    paths = [str(faces_dir / n) for n in ("hivision_idphoto_2.jpg", "hivision_idphoto_0.jpg")]
    res = runner.invoke(main, ["check", *paths, "--spec", "1102"])
    assert "checking 2 photos" in res.stderr and "2 photos: 0 pass, 2 fail" in res.stderr
    lines = res.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [["FAIL", paths[0]], ["FAIL", paths[1]]]


def test_models_are_loaded_once_for_the_whole_run(runner, faces_dir, tmp_path, monkeypatch):
    from checker import models

    models.get("face_detector")  # make sure the registry is filled before it is wrapped
    built: dict[str, int] = {}

    def counting(name, factory):
        def build():
            built[name] = built.get(name, 0) + 1
            return factory()
        return build

    monkeypatch.setattr(models, "_INSTANCES", {})
    monkeypatch.setattr(models, "_REGISTRY", {n: counting(n, f) for n, f in models._REGISTRY.items()})
    paths = [str(faces_dir / n) for n in ("hivision_idphoto_2.jpg", "hivision_test0.jpg", "hivision_test3.jpg")]
    res = runner.invoke(main, ["check", *paths, "--spec", "1102", "--format", "json"])
    assert len(json.loads(res.stdout)) == 3
    assert built["face_detector"] == 1 and built["face_landmarker"] == 1
    assert max(built.values()) == 1, built


def test_usage_errors_check_nothing(runner, uploads, faces_dir, tmp_path):
    photo = str(faces_dir / "hivision_idphoto_2.jpg")
    bad_report = runner.invoke(main, ["check", photo, "--spec", "1102", "--report", str(tmp_path / "r.xlsx")])
    assert bad_report.exit_code == 2 and ".csv or .json" in bad_report.stderr
    assert not (tmp_path / "r.xlsx").exists()
    several_json = runner.invoke(main, ["check", photo, photo, "--spec", "1102", "--json"])
    assert several_json.exit_code == 2 and "--format json" in several_json.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = runner.invoke(main, ["check", str(empty), "--spec", "1102"])
    assert nothing.exit_code == 2 and "no image files" in nothing.stderr
    spec = runner.invoke(main, ["check", str(uploads), "--spec", "no-such-spec", "--format", "csv"])
    assert spec.exit_code == 2 and "UNKNOWN_SPEC" in spec.stderr and spec.stdout == ""
    twice = runner.invoke(main, ["check", "-", "-", "--spec", "1102"], input=b"")
    assert twice.exit_code == 2 and "only once" in twice.stderr


def test_one_photo_with_a_report_is_a_one_row_report(runner, faces_dir, tmp_path):
    report = tmp_path / "one.csv"
    res = runner.invoke(main, ["check", str(faces_dir / "dogs_no_face.jpg"), "--spec", "1102", "--report",
                               str(report)])
    assert res.exit_code == 2
    (row,) = csv.DictReader(report.open(encoding="utf-8"))
    assert row["status"] == "error" and row["error"] == "NO_FACE_DETECTED"
    assert res.stdout.startswith("ERROR")
