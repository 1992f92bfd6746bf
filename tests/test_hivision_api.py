"""Every seed 000 curl example, with ../shared/faces photos for its images, through the test client."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from checker.imaging import load_photo


def decode_data_url(value: str, mime: str) -> bytes:
    prefix = f"data:{mime};base64,"
    assert value.startswith(prefix), value[:40]
    return base64.b64decode(value[len(prefix):])


def upload(data: bytes, name: str = "photo.jpg") -> tuple[io.BytesIO, str]:
    return io.BytesIO(data), name


@pytest.fixture(scope="module")
def idphoto_result(face_bytes):
    """The /idphoto example: test0 -> transparent standard and HD photos."""
    from checker.web import create_app

    client = create_app({"TESTING": True}).test_client()
    resp = client.post("/idphoto", data={
        "input_image": upload(face_bytes("hivision_test0.jpg")), "height": "413", "width": "295",
        "human_matting_model": "", "face_detect_model": "mediapipe", "hd": "true", "dpi": "300",
        "face_alignment": "true"}, content_type="multipart/form-data")
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_idphoto(idphoto_result):
    body = idphoto_result
    assert body["status"] is True
    std = load_photo(decode_data_url(body["image_base64_standard"], "image/png"))
    hd = load_photo(decode_data_url(body["image_base64_hd"], "image/png"))
    assert (std.width, std.height) == (295, 413) and std.format == "PNG" and std.alpha is not None
    assert hd.width / hd.height == pytest.approx(295 / 413, abs=0.01) and hd.width >= 295
    assert std.dpi == pytest.approx((300, 300), abs=0.5)
    # Transparent around the person, opaque on the face.
    assert std.alpha[:10, :10].max() < 20 and std.alpha[200, 147] > 240


def test_idphoto_with_base64_input_and_face_align_alias(client, face_bytes):
    b64 = base64.b64encode(face_bytes("hivision_test3.jpg")).decode()
    resp = client.post("/idphoto", data={"input_image_base64": b64, "face_align": "false", "hd": "false"})
    body = resp.get_json()
    assert resp.status_code == 200 and body["status"] is True and body["image_base64_hd"] is None


def test_add_background(client, idphoto_result):
    png = decode_data_url(idphoto_result["image_base64_standard"], "image/png")
    resp = client.post("/add_background", data={"input_image": upload(png, "test.png"), "color": "638cce", "kb": "200",
                                                "render": "0", "dpi": "300"}, content_type="multipart/form-data")
    body = resp.get_json()
    assert resp.status_code == 200 and body["status"] is True
    data = decode_data_url(body["image_base64"], "image/jpeg")
    assert abs(len(data) - 200 * 1024) <= 0.01 * 200 * 1024
    photo = load_photo(data)
    assert (photo.width, photo.height) == (295, 413) and photo.dpi == (300, 300)
    corner = photo.rgb[:8, :8].reshape(-1, 3).mean(axis=0)
    assert np.abs(corner - (0x63, 0x8C, 0xCE)).max() <= 4


@pytest.mark.parametrize("render", [1, 2])
def test_add_background_gradients(client, idphoto_result, render):
    png = decode_data_url(idphoto_result["image_base64_standard"], "image/png")
    resp = client.post("/add_background", data={"input_image": upload(png, "test.png"), "color": "638cce",
                                                "render": str(render)}, content_type="multipart/form-data")
    photo = load_photo(decode_data_url(resp.get_json()["image_base64"], "image/jpeg"))
    alpha = load_photo(png).alpha
    color = np.array([0x63, 0x8C, 0xCE])
    if render == 1:  # the colour at the top row, white at the bottom row, linear between
        for y in (2, 150, 250):
            if alpha[y, 2] == 0:
                want = color + (255 - color) * y / 412
                assert np.abs(photo.rgb[y, 2].astype(int) - want).max() <= 6, y
    else:  # white at the centre, the colour further out: a background corner is darker than white
        assert alpha[2, 2] == 0 and photo.rgb[2, 2].mean() < 235


def test_generate_layout_photos(client, idphoto_result, face_bytes):
    png = decode_data_url(idphoto_result["image_base64_standard"], "image/png")
    jpg = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(jpg, "JPEG", quality=95)
    resp = client.post("/generate_layout_photos", data={"input_image": upload(jpg.getvalue(), "test.jpg"),
                                                        "height": "413", "width": "295", "kb": "200", "dpi": "300"},
                       content_type="multipart/form-data")
    body = resp.get_json()
    assert resp.status_code == 200 and body["status"] is True
    data = decode_data_url(body["image_base64"], "image/jpeg")
    sheet = load_photo(data)
    assert sorted((sheet.width, sheet.height)) == [1200, 1800]  # 4 x 6 in at 300 dpi
    assert abs(len(data) - 200 * 1024) <= 0.01 * 200 * 1024


def test_human_matting(client, face_bytes):
    # The seed's example names its default model; without MODNet's weights the embedded matte runs,
    # and the answer says so.
    resp = client.post("/human_matting", data={"input_image": upload(face_bytes("hivision_test0.jpg")),
                                               "human_matting_model": "modnet_photographic_portrait_matting",
                                               "dpi": "300"}, content_type="multipart/form-data")
    body = resp.get_json()
    assert resp.status_code == 200 and body["human_matting_model"] == "embedded"
    # Any other named model without its file is a clear 400, never a fallback.
    resp = client.post("/human_matting", data={"input_image": upload(face_bytes("hivision_test0.jpg")),
                                               "human_matting_model": "birefnet-v1-lite"},
                       content_type="multipart/form-data")
    bad = resp.get_json()
    assert resp.status_code == 400 and bad == {"status": False, "error": "MODEL_UNAVAILABLE", "message": bad["message"]}
    cut = load_photo(decode_data_url(body["image_base64"], "image/png"))
    assert cut.alpha is not None and (cut.width, cut.height) == (576, 768)
    assert cut.alpha[5, 5] < 10 and cut.alpha[300, 288] > 245


def test_watermark(client, face_bytes):
    resp = client.post("/watermark?size=20&opacity=0.5&angle=30&color=%23000000&space=25",
                       data={"input_image": upload(face_bytes("hivision_test0.jpg")), "text": "Hello", "dpi": "300"},
                       content_type="multipart/form-data")
    body = resp.get_json()
    assert resp.status_code == 200 and body["status"] is True
    marked = load_photo(decode_data_url(body["image_base64"], "image/jpeg"))
    original = load_photo(face_bytes("hivision_test0.jpg"))
    assert marked.rgb.shape == original.rgb.shape
    darker = (marked.rgb.astype(int).sum(axis=2) < original.rgb.astype(int).sum(axis=2) - 60).mean()
    assert 0.005 < darker < 0.5  # black text over part of the photo


def test_set_kb(client, face_bytes):
    resp = client.post("/set_kb", data={"input_image": upload(face_bytes("hivision_test0.jpg")), "kb": "50",
                                        "dpi": "300"}, content_type="multipart/form-data")
    body = resp.get_json()
    data = decode_data_url(body["image_base64"], "image/jpeg")
    assert abs(len(data) - 50 * 1024) <= 512 and load_photo(data).dpi == (300, 300)


def test_idphoto_crop(client, face_bytes):
    matting = client.post("/human_matting", data={"input_image": upload(face_bytes("hivision_test0.jpg"))},
                          content_type="multipart/form-data").get_json()
    png = decode_data_url(matting["image_base64"], "image/png")
    resp = client.post("/idphoto_crop?head_measure_ratio=0.2&head_height_ratio=0.45&top_distance_max=0.12"
                       "&top_distance_min=0.1",
                       data={"input_image": upload(png, "idphoto_matting.png"), "height": "413", "width": "295",
                             "face_detect_model": "mediapipe", "hd": "true", "dpi": "300"},
                       content_type="multipart/form-data")
    body = resp.get_json()
    assert resp.status_code == 200 and body["status"] is True
    std = load_photo(decode_data_url(body["image_base64"], "image/png"))
    assert (std.width, std.height) == (295, 413) and std.alpha is not None


@pytest.mark.parametrize(("path", "data", "status"), [
    ("/idphoto", {}, "EMPTY_IMAGE"),
    ("/idphoto", {"width": "x"}, "INVALID_ARGUMENT"),
    ("/idphoto", {"face_detect_model": "sherlock"}, "INVALID_ARGUMENT"),
    ("/idphoto", {"human_matting_model": "rmbg-1.4"}, "MODEL_UNAVAILABLE"),
    ("/idphoto", {"face_detect_model": "retinaface-resnet50"}, "MODEL_UNAVAILABLE"),
    ("/idphoto", {"head_measure_ratio": "2"}, "INVALID_ARGUMENT"),
    ("/add_background", {}, "INVALID_ARGUMENT"),
    ("/add_background", {"color": "not-a-colour"}, "INVALID_ARGUMENT"),
    ("/add_background", {"color": "fff", "render": "7"}, "INVALID_ARGUMENT"),
    ("/watermark", {}, "INVALID_ARGUMENT"),
    ("/set_kb", {}, "INVALID_ARGUMENT"),
    ("/idphoto_crop", {}, "INVALID_ARGUMENT"),
])
def test_errors_answer_in_the_hivision_envelope(client, face_bytes, path, data, status):
    form = dict(data)
    if status != "EMPTY_IMAGE":
        form["input_image"] = upload(face_bytes("hivision_test0.jpg"))
    resp = client.post(path, data=form, content_type="multipart/form-data")
    body = resp.get_json()
    assert resp.status_code == 400, body
    assert body["status"] is False and body["error"] == status and body["message"]


def test_no_face_is_a_400_in_the_envelope(client, face_bytes):
    resp = client.post("/idphoto", data={"input_image": upload(face_bytes("dogs_no_face.jpg"))},
                       content_type="multipart/form-data")
    assert resp.status_code == 400 and resp.get_json()["error"] == "NO_FACE_DETECTED"


@pytest.mark.parametrize("endpoint", ["/idphoto", "/idphoto_crop", "/human_matting", "/add_background",
                                      "/generate_layout_photos", "/watermark", "/set_kb"])
def test_a_crash_answers_in_the_hivision_envelope(client, monkeypatch, endpoint):
    from checker.web import hivision_api

    def broken(*args, **kwargs):
        raise RuntimeError("simulated fault")

    monkeypatch.setattr(hivision_api, "_read", broken)
    resp = client.post(endpoint, data={"input_image": upload(b"not read")}, content_type="multipart/form-data")
    body = resp.get_json()
    assert resp.status_code == 500, body
    assert body["status"] is False and body["error"] == "INTERNAL_ERROR" and body["message"]
    assert set(body) == {"status", "error", "message"} and "simulated" not in body["message"]
