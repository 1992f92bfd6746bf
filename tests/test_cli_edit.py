"""idphoto matting, set-kb and crop; ``-`` for stdin/stdout and output formats from -o for every verb."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

import checker
from checker.cli import main
from checker.imaging import load_photo

PNG_MAGIC, JPEG_MAGIC = b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"


@pytest.fixture(scope="module")
def cutout_png(faces_dir, tmp_path_factory) -> bytes:
    """The matting verb's own output for a real portrait (used as a transparent input below)."""
    from click.testing import CliRunner

    out = tmp_path_factory.mktemp("cut") / "cut.png"
    res = CliRunner().invoke(main, ["matting", str(faces_dir / "hivision_test0.jpg"), "-o", str(out)])
    assert res.exit_code == 0, res.output
    return out.read_bytes()


# --- matting --------------------------------------------------------------------------------------
def test_matting_writes_a_cutout_png_with_alpha(cutout_png, face_rgb):
    photo = load_photo(cutout_png)
    assert photo.format == "PNG" and (photo.width, photo.height) == (576, 768) and photo.alpha is not None
    a = photo.alpha
    assert a[:40, :40].max() < 20 and a[:40, -40:].max() < 20  # top corners: studio background, cut away
    assert a[350:450, 250:330].min() > 235  # the face
    assert a[-20:, 200:380].min() > 235  # the suit reaches the bottom edge
    # Where opaque, the person's own colours.
    src = face_rgb("hivision_test0.jpg")
    assert np.abs(photo.straight[380:420, 260:320].astype(int) - src[380:420, 260:320]).mean() < 4


def test_matting_from_stdin_to_stdout_and_as_a_jpeg(runner, faces_dir, tmp_path):
    data = (faces_dir / "hivision_test3.jpg").read_bytes()
    res = runner.invoke(main, ["matting", "-", "-o", "-"], input=data)
    assert res.exit_code == 0, res.stderr
    assert res.stdout_bytes.startswith(PNG_MAGIC) and "wrote <stdout>" in res.stderr
    assert load_photo(res.stdout_bytes).alpha is not None
    jpg = runner.invoke(main, ["matting", "-", "-o", str(tmp_path / "on_blue.jpg"), "--bg", "blue"], input=data)
    assert jpg.exit_code == 0, jpg.output
    photo = load_photo((tmp_path / "on_blue.jpg").read_bytes())
    assert photo.format == "JPEG" and abs(int(photo.rgb[3, 3, 2]) - 0xDB) <= 4
    white = runner.invoke(main, ["matting", "-", "-o", "-", "--format", "jpg"], input=data)
    assert white.stdout_bytes.startswith(JPEG_MAGIC) and load_photo(white.stdout_bytes).rgb[3, 3].min() > 245


def test_matting_errors_exit_2(runner, faces_dir, tmp_path):
    res = runner.invoke(main, ["matting", str(faces_dir / "hivision_test3.jpg"), "-o", str(tmp_path / "x.png"),
                               "--model", "no-such-model"])
    assert res.exit_code == 2 and "INVALID_ARGUMENT" in res.stderr and "embedded" in res.stderr
    res = runner.invoke(main, ["matting", "-", "-o", "-"], input=b"not a photo")
    assert res.exit_code == 2 and "CORRUPT_IMAGE" in res.stderr and res.stdout_bytes == b""


# --- set-kb ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "kb", "fmt"), [("a.jpg", 30, "JPEG"), ("a.jpeg", 55, "JPEG"), ("a.png", 600, "PNG")])
def test_set_kb_writes_exactly_that_many_kilobytes(runner, faces_dir, tmp_path, name, kb, fmt):
    out = tmp_path / name
    res = runner.invoke(main, ["set-kb", str(faces_dir / "hivision_test0.jpg"), "--kb", str(kb), "-o", str(out)])
    assert res.exit_code == 0, res.output
    data = out.read_bytes()
    assert len(data) == kb * 1024
    photo = load_photo(data)
    assert photo.format == fmt and (photo.width, photo.height) == (576, 768)


def test_set_kb_through_pipes_and_when_it_cannot(runner, faces_dir):
    data = (faces_dir / "hivision_idphoto_2.jpg").read_bytes()
    res = runner.invoke(main, ["set-kb", "-", "--kb", "40", "-o", "-"], input=data)
    assert res.exit_code == 0 and len(res.stdout_bytes) == 40 * 1024 and res.stdout_bytes.startswith(JPEG_MAGIC)
    assert "40960 bytes (40 KB)" in res.stderr
    tiny = runner.invoke(main, ["set-kb", "-", "--kb", "1", "-o", "-", "--no-resize"], input=data)
    assert tiny.exit_code == 2 and "FILE_SIZE_UNREACHABLE" in tiny.stderr and tiny.stdout_bytes == b""
    shrunk = runner.invoke(main, ["set-kb", "-", "--kb", "3", "-o", "-"], input=data)
    assert shrunk.exit_code == 0 and len(shrunk.stdout_bytes) == 3 * 1024 and "resized" in shrunk.stderr
    assert load_photo(shrunk.stdout_bytes).width < 607


def test_set_kb_keeps_the_photo_s_dpi(runner, tmp_path):
    buf = io.BytesIO()
    Image.new("RGB", (300, 400), (120, 140, 160)).save(buf, "JPEG", dpi=(350, 350))
    res = runner.invoke(main, ["set-kb", "-", "--kb", "20", "-o", "-"], input=buf.getvalue())
    assert load_photo(res.stdout_bytes).dpi == (350, 350)


# --- crop -----------------------------------------------------------------------------------------
def test_crop_to_a_spec_frames_the_head_where_the_checker_wants_it(runner, faces_dir, tmp_path):
    src = faces_dir / "hivision_test0.jpg"
    before = checker.check(src.read_bytes(), "us-passport")
    out = tmp_path / "us.jpg"
    res = runner.invoke(main, ["crop", str(src), "--spec", "us-passport", "-o", str(out)])
    assert res.exit_code == 0, res.output
    photo = load_photo(out.read_bytes())
    assert photo.format == "JPEG" and (photo.width, photo.height) == (600, 600) and photo.dpi == (300, 300)
    after = checker.check(out.read_bytes(), "us-passport")
    framing = ("px_and_mm", "head_length", "eyes_space_bottom", "hairline_top")
    assert [before["result"][c] for c in framing] != [1, 1, 1, 1]
    assert [after["result"][c] for c in framing] == [1, 1, 1, 1], after["failures"]
    # The photo's own background stays (light grey studio), not a new colour.
    assert np.abs(photo.rgb[5:25, 5:25].astype(int).mean(axis=(0, 1)) - [200, 200, 200]).max() < 35


def test_crop_a_cutout_to_a_pixel_size_keeps_it_transparent(runner, cutout_png):
    res = runner.invoke(main, ["crop", "-", "--width", "295", "--height", "413", "-o", "-"], input=cutout_png)
    assert res.exit_code == 0, res.stderr
    photo = load_photo(res.stdout_bytes)  # stdout without a spec: PNG
    assert photo.format == "PNG" and (photo.width, photo.height) == (295, 413)
    assert photo.alpha is not None and photo.alpha[:10, :10].max() < 20 and photo.alpha[-5:, 147].min() > 230


def test_crop_to_stdout_uses_the_spec_s_format(runner, faces_dir):
    res = runner.invoke(main, ["crop", "-", "--spec", "1102", "-o", "-"],
                        input=(faces_dir / "hivision_test3.jpg").read_bytes())
    assert res.exit_code == 0 and res.stdout_bytes.startswith(JPEG_MAGIC)
    assert (load_photo(res.stdout_bytes).width, load_photo(res.stdout_bytes).height) == (295, 413)


@pytest.mark.parametrize(("args", "message"), [
    (["-o", "x.jpg"], "give --spec, or --width and --height"),
    (["-o", "x.jpg", "--width", "300"], "--width and --height together"),
    (["--spec", "1102", "-o", "x.bmp"], ".bmp is not an output format here"),
    (["--spec", "1102", "-o", "x.png", "--format", "jpg"], "is a PNG name but --format says JPEG"),
    (["--spec", "1102", "-o", "noext"], "has no extension"),
])
def test_crop_usage_errors(runner, faces_dir, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)  # nothing may be written, but if it were, not into the checkout
    res = runner.invoke(main, ["crop", str(faces_dir / "hivision_test3.jpg"), *args])
    assert res.exit_code == 2 and message in res.stderr
    assert list(tmp_path.iterdir()) == []


def test_crop_errors_exit_2(runner, faces_dir):
    res = runner.invoke(main, ["crop", str(faces_dir / "dogs_no_face.jpg"), "--spec", "1102", "-o", "-"])
    assert res.exit_code == 2 and "NO_FACE_DETECTED" in res.stderr and res.stdout_bytes == b""


# --- the older verbs with - and formats -----------------------------------------------------------
def test_fix_to_stdout_and_its_format_from_the_name(runner, faces_dir, tmp_path):
    data = (faces_dir / "hivision_test0.jpg").read_bytes()
    res = runner.invoke(main, ["fix", "-", "--spec", "us-passport", "-o", "-", "--layout", "6inch",
                               "--sheet-out", str(tmp_path / "sheet.jpg")], input=data)
    assert res.exit_code in (0, 1), res.stderr
    assert res.stdout_bytes.startswith(JPEG_MAGIC)  # the spec's format; the report went to stderr
    assert load_photo(res.stdout_bytes).width == 600 and "wrote <stdout>" in res.stderr
    assert load_photo((tmp_path / "sheet.jpg").read_bytes()).format == "JPEG"
    png = runner.invoke(main, ["fix", "-", "--spec", "us-passport", "-o", str(tmp_path / "us.png"), "--json"],
                        input=data)
    body = json.loads(png.stdout)
    assert body["format"] == "PNG" and load_photo((tmp_path / "us.png").read_bytes()).format == "PNG"


@pytest.mark.parametrize(("args", "message"), [
    (["-o", "-", "--json"], "cannot both go to stdout"),
    (["-o", "-", "--layout", "6inch"], "give --sheet-out"),
    (["-o", "x.webp"], ".webp is not an output format here"),
    (["-o", "x.jpg", "--param", "bg_colr=blue"], "unknown parameter 'bg_colr'; did you mean bg_color"),
    (["-o", "x.jpg", "--param", "auto_smoth=1"], "did you mean auto_smooth"),
    (["-o", "x.jpg", "--sheet-out", "s.jpg"], "--sheet-out needs --layout"),
])
def test_fix_usage_errors(runner, faces_dir, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(main, ["fix", str(faces_dir / "hivision_test0.jpg"), "--spec", "us-passport", *args])
    assert res.exit_code == 2 and message in res.stderr, res.output
    assert list(tmp_path.iterdir()) == []


def test_fix_params_cover_generation_options_and_thresholds():
    names = set(checker.fix_params())
    assert {"bg_color", "auto_smooth", "max_file_size", "layout_size", "kb"} <= names
    # face_center is check-only: id-photo-verify lists it with no effect; fix refuses it like any unknown name
    assert set(checker.threshold_names()) - {"face_center"} <= names and "face_center" not in names


def test_batch_refuses_a_misspelt_param_before_starting(runner, faces_dir, tmp_path):
    res = runner.invoke(main, ["batch", str(faces_dir), "--spec", "1102", "--out", str(tmp_path / "o"),
                               "--param", "max_file_sise=40000"])
    assert res.exit_code == 2 and "did you mean max_file_size" in res.stderr and not (tmp_path / "o").exists()


def test_generate_jpeg_without_a_background_is_a_jpeg_on_white(runner, faces_dir, tmp_path):
    out = tmp_path / "std.jpg"
    res = runner.invoke(main, ["generate", str(faces_dir / "hivision_test3.jpg"), "-o", str(out), "--hd-out", "-"])
    assert res.exit_code == 0, res.stderr
    photo = load_photo(out.read_bytes())
    assert photo.format == "JPEG" and (photo.width, photo.height) == (295, 413) and photo.rgb[3, 3].min() > 245
    hd = load_photo(res.stdout_bytes)
    assert hd.format == "PNG" and hd.alpha is not None and hd.width >= 295


def test_layout_to_stdout_as_png(runner, faces_dir):
    res = runner.invoke(main, ["layout", "-", "-o", "-", "--format", "png"],
                        input=(faces_dir / "hivision_idphoto_2.jpg").read_bytes())
    assert res.exit_code == 0, res.stderr
    sheet = load_photo(res.stdout_bytes)
    assert sheet.format == "PNG" and (sheet.width, sheet.height) == (1800, 1200)


# --- HEIC on the command line -----------------------------------------------------------------------
def test_check_a_heic_photo_from_a_file_and_from_stdin(runner, faces_dir, tmp_path):
    from .test_heif import heic_bytes

    img = Image.open(faces_dir / "hivision_idphoto_2.jpg").convert("RGB")
    heic = heic_bytes(img)
    path = tmp_path / "IMG_0001.HEIC"
    path.write_bytes(heic)
    res = runner.invoke(main, ["check", str(path), "--spec", "1102", "--json"])
    report = json.loads(res.stdout)
    assert report["all_check_result"]["format"] == "HEIF" and report["all_check_result"]["size"] == [607, 851]
    assert report["result"]["photo_format"] == 0 and report["result"]["head_length"] == 1
    piped = runner.invoke(main, ["check", "-", "--spec", "1102", "--format", "csv", "-q"], input=heic)
    assert "photo_format" in piped.stdout.splitlines()[1].split(",")[2]
    # A folder walk picks .heic files up.
    walked = runner.invoke(main, ["check", str(tmp_path), "--spec", "1102", "--format", "json", "-q"])
    assert [r["file"] for r in json.loads(walked.stdout)] == [str(path)]
