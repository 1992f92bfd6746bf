"""HEIC/HEIF (pillow-heif) and AVIF (Pillow) uploads: sniffing by ftyp brands, decoding, orientation,
limits, and the HTTP status of damaged files."""

from __future__ import annotations

import base64
import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from checker.errors import CheckerError
from checker.imaging import Limits, load_photo, sniff_format

SOURCE = "hivision_test0.jpg"  # 576 x 768 JPEG


def heic_bytes(img: Image.Image, **kw) -> bytes:
    """HEIC (HEVC in HEIF) made by pillow-heif's encoder."""
    import pillow_heif

    buf = io.BytesIO()
    pillow_heif.from_pillow(img).save(buf, quality=kw.pop("quality", 92), **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def source(faces_dir) -> Image.Image:
    img = Image.open(faces_dir / SOURCE)
    img.load()
    return img.convert("RGB")


@pytest.fixture(scope="module")
def heic(source) -> bytes:
    return heic_bytes(source)


def _status(data: bytes, **kw) -> str:
    with pytest.raises(CheckerError) as info:
        load_photo(data, **kw)
    return info.value.status


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body + b"\x00\x00\x00\x08free"


def test_heic_from_a_real_photo_decodes_to_the_same_size_and_pixels(source, heic):
    assert heic[4:12] == b"ftypheic"
    photo = load_photo(heic)
    assert photo.format == "HEIF"
    assert (photo.width, photo.height) == source.size == (576, 768)
    diff = np.abs(photo.rgb.astype(int) - np.asarray(source, dtype=int))
    assert diff.mean() < 3.0  # lossy HEVC at quality 92: close, not equal
    assert np.percentile(diff, 99) < 25


@pytest.mark.parametrize(("head", "fmt"), [
    (_ftyp(b"heic", b"mif1", b"heic"), "HEIF"),
    (_ftyp(b"heix", b"mif1"), "HEIF"),
    (_ftyp(b"hevc", b"msf1"), "HEIF"),
    (_ftyp(b"mif1", b"miaf", b"heic"), "HEIF"),  # generic major brand, HEVC named among the compatible
    (_ftyp(b"mif1"), "HEIF"),
    (_ftyp(b"msf1", b"iso8"), "HEIF"),
    (_ftyp(b"avif", b"mif1", b"miaf"), "AVIF"),
    (_ftyp(b"mif1", b"avif"), "AVIF"),
    (_ftyp(b"avis", b"msf1"), "AVIF"),
    (_ftyp(b"isom", b"iso2", b"mp41"), None),  # MP4 video
    (_ftyp(b"qt  "), None),  # QuickTime
    (_ftyp(b"crx ", b"isom"), None),  # Canon raw
    (b"\x00\x00\x00\x04ftypheic", None),  # a box too short to hold its own brand
    (b"\x7f\x00\x00\x00ftypheic" + b"\x00" * 40, None),  # a 2 GB ftyp box: not a real one
])
def test_iso_media_files_are_told_apart_by_their_ftyp_brands(head, fmt):
    assert sniff_format(head) == fmt


def test_a_heic_name_with_jpeg_bytes_is_read_as_the_jpeg_it_is(faces_dir, tmp_path):
    import checker

    path = tmp_path / "IMG_0001.HEIC"
    path.write_bytes((faces_dir / SOURCE).read_bytes())
    photo = checker.read_photo(path)
    assert photo.format == "JPEG" and (photo.width, photo.height) == (576, 768)


def test_and_heic_bytes_behind_a_jpg_name_are_heif(heic, tmp_path):
    import checker

    path = tmp_path / "upload.jpg"
    path.write_bytes(heic)
    assert checker.read_photo(path).format == "HEIF"


def test_heic_orientation_is_applied_once(source):
    exif = source.getexif()
    exif[0x0112] = 6  # display needs a quarter turn clockwise
    photo = load_photo(heic_bytes(source, exif=exif.tobytes()))
    assert (photo.width, photo.height) == (768, 576)
    expected = np.rot90(np.asarray(source), k=-1)
    assert np.abs(photo.rgb.astype(int) - expected.astype(int)).mean() < 3.0


def test_avif_is_decoded_by_pillow(source):
    buf = io.BytesIO()
    source.save(buf, format="AVIF", quality=90)
    assert sniff_format(buf.getvalue()) == "AVIF"
    photo = load_photo(buf.getvalue())
    assert photo.format == "AVIF" and (photo.width, photo.height) == (576, 768)
    assert np.abs(photo.rgb.astype(int) - np.asarray(source, dtype=int)).mean() < 4.0


def test_heic_alpha_is_kept_and_flattened():
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[..., 1] = 180
    rgba[:, :32, 3] = 255
    photo = load_photo(heic_bytes(Image.fromarray(rgba, "RGBA"), quality=-1))  # -1: lossless
    assert photo.alpha is not None and photo.alpha[:, 40:].max() < 10 and photo.alpha[:, :24].min() > 245
    assert (photo.rgb[:, 40:] > 245).all()  # transparent onto white, as for PNG


def test_heic_side_limits_are_read_from_the_header_without_decoding(monkeypatch):
    wide = heic_bytes(Image.new("RGB", (4160, 32), (90, 120, 150)), quality=10)

    def no_decoding(self, *a, **k):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", no_decoding)
    monkeypatch.setattr("pillow_heif.as_plugin._LibHeifImageFile.load", no_decoding)
    assert _status(wide) == "INVALID_IMAGE_FORMAT_OR_SIZE"


def test_an_endpoint_limited_to_other_formats_refuses_heic(heic):
    assert _status(heic, limits=Limits(formats=("JPEG", "PNG"))) == "INVALID_IMAGE_FORMAT_OR_SIZE"


@pytest.mark.parametrize("cut", [0.5, 0.97])
def test_truncated_heic_is_corrupt(heic, cut):
    assert _status(heic[: int(len(heic) * cut)]) == "CORRUPT_IMAGE"


def test_an_ftyp_header_with_nothing_behind_it_is_corrupt():
    assert _status(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64) == "CORRUPT_IMAGE"


def test_pillow_heif_is_loaded_only_when_a_heif_file_arrives(faces_dir):
    code = (
        "import sys; import checker; from checker.imaging import load_photo; "
        f"load_photo(open({str(faces_dir / SOURCE)!r}, 'rb').read()); "
        "print('pillow_heif' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "False"


# --- through the check API ------------------------------------------------------------------------


def test_check_pic_accepts_a_heic_upload(client, heic):
    resp = client.post("/api/check_pic", json={"file": base64.b64encode(heic).decode(), "spec_id": 1102})
    body = resp.get_json()
    assert resp.status_code == 200, body
    assert body["all_check_result"]["format"] == "HEIF" and body["all_check_result"]["size"] == [576, 768]
    assert body["result"]["photo_format"] == 0  # a 1-inch photo must be JPEG: HEIC is read, then judged
    multipart = client.post("/api/check_pic", data={"file": (io.BytesIO(heic), "IMG_0001.HEIC"), "spec_id": "1102"},
                            content_type="multipart/form-data")
    assert multipart.status_code == 200 and multipart.get_json()["result"] == body["result"]


def test_check_pic_reads_jpeg_bytes_sent_as_heic(client, faces_dir):
    data = (faces_dir / SOURCE).read_bytes()
    resp = client.post("/api/check_pic?spec_id=1102", data=data, content_type="image/heic")
    assert resp.status_code == 200 and resp.get_json()["all_check_result"]["format"] == "JPEG"


def test_check_pic_answers_truncated_heic_with_a_4xx(client, heic):
    resp = client.post("/api/check_pic", json={"file": base64.b64encode(heic[: len(heic) // 2]).decode(),
                                               "spec_id": 1102})
    body = resp.get_json()
    assert resp.status_code == 400, body
    assert body["status"] == "CORRUPT_IMAGE" and "HEIF" in body["message"]
