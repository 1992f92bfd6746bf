"""idphoto generate, layout and batch."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from checker.cli import main
from checker.imaging import load_photo


def test_generate_writes_transparent_standard_and_hd(runner, faces_dir, tmp_path):
    out, hd = tmp_path / "std.png", tmp_path / "hd.png"
    res = runner.invoke(main, ["generate", str(faces_dir / "hivision_test0.jpg"), "-o", str(out), "--hd-out", str(hd),
                               "--width", "358", "--height", "441", "--dpi", "350"])
    assert res.exit_code == 0, res.output
    std = load_photo(out.read_bytes())
    assert (std.width, std.height) == (358, 441) and std.alpha is not None
    assert std.dpi == pytest.approx((350, 350), abs=0.05)
    assert load_photo(hd.read_bytes()).width >= 358


def test_generate_with_a_background(runner, faces_dir, tmp_path):
    out = tmp_path / "blue.jpg"
    res = runner.invoke(main, ["generate", str(faces_dir / "hivision_test3.jpg"), "-o", str(out), "--bg", "blue"])
    assert res.exit_code == 0, res.output
    photo = load_photo(out.read_bytes())
    assert photo.format == "JPEG" and abs(int(photo.rgb[3, 3, 2]) - 0xDB) <= 4


def test_layout(runner, faces_dir, tmp_path):
    out = tmp_path / "sheet.jpg"
    res = runner.invoke(main, ["layout", str(faces_dir / "hivision_idphoto_2.jpg"), "-o", str(out), "--paper", "a4",
                               "--photo-mm", "35x49", "--crop-marks"])
    assert res.exit_code == 0, res.output
    sheet = load_photo(out.read_bytes())
    assert (sheet.width, sheet.height) == (3508, 2480) and "30 copies" in res.output


def test_layout_refuses_a_stretch(runner, faces_dir, tmp_path):
    res = runner.invoke(main, ["layout", str(faces_dir / "hivision_idphoto_2.jpg"), "-o", str(tmp_path / "x.jpg"),
                               "--photo-mm", "35x35"])
    assert res.exit_code == 2 and "INVALID_ARGUMENT" in res.output


def test_batch_fixes_a_folder_and_reports(runner, faces_dir, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("hivision_test0.jpg", "hivision_test3.jpg", "dogs_no_face.jpg"):
        shutil.copy(faces_dir / name, src / name)
    (src / "notes.txt").write_text("not a photo")
    out = tmp_path / "out"
    res = runner.invoke(main, ["batch", str(src), "--spec", "us-passport", "--out", str(out), "--workers", "2"])
    assert res.exit_code in (0, 1), res.output
    with open(out / "report.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["file"].rsplit("/", 1)[-1] for r in rows] == ["dogs_no_face.jpg", "hivision_test0.jpg",
                                                            "hivision_test3.jpg"]
    by = {r["file"].rsplit("/", 1)[-1]: r for r in rows}
    assert by["dogs_no_face.jpg"]["status"] == "error" and by["dogs_no_face.jpg"]["error"] == "NO_FACE_DETECTED"
    for name in ("hivision_test0.jpg", "hivision_test3.jpg"):
        assert by[name]["status"] == "ok"
        with open(by[name]["output"], "rb") as fh:
            assert load_photo(fh.read()).width == 600
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert len(report) == 3 and "after" in report[1]
    assert "3 photos" in res.output
