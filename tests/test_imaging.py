"""Image intake: sniffing, base64, limits, EXIF orientation, alpha, and every error status."""

from __future__ import annotations

import base64
import io
import struct
import time
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image

from checker.errors import CheckerError
from checker.imaging import Limits, decode_base64, load_photo, sniff_format

from .conftest import encode


def _gradient(w: int = 64, h: int = 48) -> np.ndarray:
    x = np.linspace(0, 255, w, dtype=np.float32)
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None]
    return np.stack([np.broadcast_to(x, (h, w)), np.broadcast_to(y, (h, w)), np.full((h, w), 90.0)], -1).astype(
        np.uint8
    )


def _status(fn, *args, **kw) -> str:
    with pytest.raises(CheckerError) as info:
        fn(*args, **kw)
    return info.value.status


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "BMP", "GIF", "TIFF", "WEBP"])
def test_every_supported_format_is_sniffed_and_decoded(fmt):
    rgb = _gradient()
    photo = load_photo(encode(rgb, fmt))
    assert photo.format == fmt
    assert (photo.width, photo.height) == (64, 48)
    if fmt in ("PNG", "BMP", "TIFF"):  # lossless: the very same pixels
        assert np.array_equal(photo.rgb, rgb)


def test_files_that_lie_about_their_format_are_read_by_their_bytes(face_bytes, labels):
    for name in ("hivision_test1_webp.jpg", "hivision_test2_png.jpg"):
        photo = load_photo(face_bytes(name))
        assert photo.format == labels[name]["format"]
        assert (photo.width, photo.height) == (int(labels[name]["width"]), int(labels[name]["height"]))


def test_every_labelled_photo_decodes_with_its_labelled_format_and_size(face_bytes, labels):
    for name, row in labels.items():
        photo = load_photo(face_bytes(name))
        assert photo.format == row["format"], name
        assert (photo.width, photo.height) == (int(row["width"]), int(row["height"])), name


def test_base64_variants_decode_to_the_same_bytes():
    raw = encode(_gradient(), "PNG")
    b64 = base64.b64encode(raw).decode()
    wrapped = "\n".join(b64[i : i + 76] for i in range(0, len(b64), 76))
    urlsafe = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    for text in (b64, "data:image/png;base64," + b64, "  " + wrapped + "\r\n", urlsafe, b64.encode()):
        assert decode_base64(text) == raw


@pytest.mark.parametrize(("text", "status"), [
    ("", "EMPTY_IMAGE"),
    ("   \n ", "EMPTY_IMAGE"),
    ("data:image/png;base64,", "EMPTY_IMAGE"),
    ("not base64 at all!", "INVALID_ARGUMENT"),
    ("QUJD*", "INVALID_ARGUMENT"),
])
def test_bad_base64_has_its_own_status(text, status):
    assert _status(decode_base64, text) == status


def test_oversized_base64_is_refused_before_decoding():
    text = "A" * (21 * 1024 * 1024)  # 21 M characters carry about 15.75 MB
    assert _status(decode_base64, text) == "IMAGE_FILE_SIZE_TOO_BIG"


@pytest.mark.parametrize(("data", "status"), [
    (b"", "EMPTY_IMAGE"),
    (b"hello, this is plain text and not a picture", "CORRUPT_IMAGE"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "CORRUPT_IMAGE"),
    (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64, "CORRUPT_IMAGE"),  # HEIC brand, no HEIF boxes behind it
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n" + b"\x00" * 64, "INVALID_IMAGE_FORMAT_OR_SIZE"),
    (b"8BPS" + b"\x00" * 64, "INVALID_IMAGE_FORMAT_OR_SIZE"),
])
def test_unreadable_or_unsupported_bytes(data, status):
    assert _status(load_photo, data) == status


def test_truncated_jpeg_is_corrupt():
    data = encode(_gradient(200, 150), "JPEG", quality=90)
    assert _status(load_photo, data[: len(data) // 2]) == "CORRUPT_IMAGE"


def test_file_over_15_mb_is_too_big():
    data = encode(_gradient(), "PNG")
    padded = data + b"\x00" * (15 * 1024 * 1024)
    assert _status(load_photo, padded) == "IMAGE_FILE_SIZE_TOO_BIG"
    assert _status(load_photo, data, limits=Limits(max_bytes=len(data) - 1)) == "IMAGE_FILE_SIZE_TOO_BIG"


@pytest.mark.parametrize(("w", "h", "ok"), [(8, 100, False), (100, 8, False), (9, 9, True), (4096, 16, True),
                                            (4097, 16, False), (16, 4097, False)])
def test_side_limits(w, h, ok):
    data = encode(np.zeros((h, w, 3), np.uint8), "PNG")
    if ok:
        assert load_photo(data).width == w
    else:
        assert _status(load_photo, data) == "INVALID_IMAGE_FORMAT_OR_SIZE"


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG whose header claims width x height pixels (a decompression bomb)."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_from_the_header_without_decoding(monkeypatch):
    data = _png_claiming(20000, 20000)
    assert len(data) < 200

    def no_decoding(self, *a, **k):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(Image.Image, "load", no_decoding)
    monkeypatch.setattr("PIL.ImageFile.ImageFile.load", no_decoding)
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        status = _status(load_photo, data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == "INVALID_IMAGE_FORMAT_OR_SIZE"
    assert peak < 5 * 1024 * 1024  # 20000 x 20000 x 3 would be 1.2 GB
    assert time.perf_counter() - t0 < 1.0


def test_exif_orientation_is_applied():
    rgb = _gradient(80, 40)  # wide
    img = Image.fromarray(rgb)
    exif = img.getexif()
    exif[0x0112] = 6  # stored rotated: display needs a 90 degree clockwise turn
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=95, exif=exif.tobytes())
    photo = load_photo(buf.getvalue())
    assert (photo.width, photo.height) == (40, 80)
    expected = np.rot90(rgb, k=-1)  # clockwise
    assert np.abs(photo.rgb.astype(int) - expected.astype(int)).mean() < 6


def test_alpha_is_flattened_onto_white_and_kept():
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:, :15, 3] = 255  # left half opaque red, right half fully transparent
    photo = load_photo(encode(rgba, "PNG"))
    assert photo.mode == "RGBA"
    assert photo.rgb[:, :15].tolist() == [[[200, 0, 0]] * 15] * 20
    assert (photo.rgb[:, 15:] == 255).all()
    assert photo.alpha is not None and photo.alpha[:, 15:].max() == 0


def test_opaque_rgba_keeps_no_alpha(face_bytes):
    photo = load_photo(face_bytes("hivision_test2_png.jpg"))
    assert photo.mode == "RGBA" and photo.alpha is None


def test_sixteen_bit_grey_and_cmyk_become_8_bit_rgb():
    grey16 = (np.linspace(0, 65535, 50 * 40).reshape(40, 50)).astype(np.uint16)
    buf = io.BytesIO()
    Image.fromarray(grey16).save(buf, format="PNG")
    photo = load_photo(buf.getvalue())
    assert photo.bits == 16 and photo.rgb.dtype == np.uint8
    assert abs(int(photo.rgb[-1, -1, 0]) - 255) <= 1 and photo.rgb[0, 0, 0] == 0

    buf = io.BytesIO()
    Image.fromarray(_gradient()).convert("CMYK").save(buf, format="JPEG", quality=95)
    photo = load_photo(buf.getvalue())
    assert photo.mode == "CMYK" and photo.rgb.shape == (48, 64, 3)


def test_density_is_read_from_the_file():
    assert load_photo(encode(_gradient(), "JPEG", dpi=(300, 300))).dpi == (300, 300)
    assert load_photo(encode(_gradient(), "PNG", dpi=(350, 350))).dpi == pytest.approx((350, 350), abs=0.1)
    assert load_photo(encode(_gradient(), "PNG")).dpi is None


def test_sniff_format_names():
    assert sniff_format(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "WEBP"
    assert sniff_format(b"GIF89a....") == "GIF"
    assert sniff_format(b"MM\x00*....") == "TIFF"
    assert sniff_format(b"nothing") is None


def _tiff(rgb: np.ndarray, xres: tuple[int, int], yres: tuple[int, int], unit: int = 2) -> bytes:
    """A baseline RGB TIFF written byte by byte, so that its resolution can be any rational (1/0)."""
    h, w = rgb.shape[:2]
    pixels = np.ascontiguousarray(rgb, dtype=np.uint8).tobytes()
    entries = 12
    extra = 8 + 2 + entries * 12 + 4  # after the header and the one IFD
    xres_at, yres_at, bits_at, data_at = extra, extra + 8, extra + 16, extra + 22

    def entry(tag: int, kind: int, count: int, value: bytes) -> bytes:
        return struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\0")

    def short(v: int) -> bytes:
        return struct.pack("<H", v)

    def long(v: int) -> bytes:
        return struct.pack("<I", v)

    ifd = [entry(256, 3, 1, short(w)), entry(257, 3, 1, short(h)), entry(258, 3, 3, long(bits_at)),
           entry(259, 3, 1, short(1)), entry(262, 3, 1, short(2)), entry(273, 4, 1, long(data_at)),
           entry(277, 3, 1, short(3)), entry(278, 3, 1, short(h)), entry(279, 4, 1, long(len(pixels))),
           entry(282, 5, 1, long(xres_at)), entry(283, 5, 1, long(yres_at)), entry(296, 3, 1, short(unit))]
    assert len(ifd) == entries
    return (b"II*\0" + long(8) + short(entries) + b"".join(ifd) + long(0) + struct.pack("<II", *xres)
            + struct.pack("<II", *yres) + struct.pack("<HHH", 8, 8, 8) + pixels)


@pytest.mark.parametrize(("xres", "yres"), [((1, 0), (1, 0)), ((0, 0), (0, 0)), ((300, 1), (1, 0))])
def test_a_tiff_resolution_over_zero_means_no_density(xres, yres):
    rgb = _gradient()
    assert load_photo(_tiff(rgb, (300, 1), (300, 1))).dpi == (300.0, 300.0)  # the writer is right
    photo = load_photo(_tiff(rgb, xres, yres))
    assert photo.format == "TIFF" and photo.dpi is None
    assert np.array_equal(photo.rgb, rgb)


def test_a_tiff_resolution_over_zero_is_checked_without_an_exception_text(client, face_rgb):
    data = _tiff(face_rgb("hivision_test3.jpg"), (1, 0), (1, 0))
    resp = client.post("/api/check_pic", data={"file": (io.BytesIO(data), "p.tif"), "spec_id": "1102"},
                       content_type="multipart/form-data")
    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    assert "NaN" not in text and "failed:" not in text and "convert" not in text
    body = resp.get_json()
    assert body["all_check_result"]["format"] == "TIFF"
    assert "photo_format" in body["result"] and "px_and_mm" in body["result"]
