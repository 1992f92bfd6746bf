"""The HTTP API through Flask's test client: the check, the spec catalogue, every error status."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest

import checker

from . import transforms as tf
from .conftest import encode
from .test_imaging import _png_claiming


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def assert_error(resp, status: str, http: int = 400):
    body = resp.get_json()
    assert resp.status_code == http, body
    assert body["status"] == status and body["code"] == http
    assert body["message"] and body["request_id"] == resp.headers["X-Request-Id"]


def test_json_check_of_a_finished_id_photo(client, face_bytes):
    resp = client.post("/api/check_pic", json={"file": b64(face_bytes("hivision_idphoto_2.jpg")), "spec_id": 1102,
                                               "app_key": "ignored-here"}, headers={"X-Request-Id": "req-123"})
    body = resp.get_json()
    assert resp.status_code == 200 and body["code"] == 200
    assert body["request_id"] == "req-123" == resp.headers["X-Request-Id"]
    assert body["spec_id"] == 1102 and body["result"]["spec_id"] == "1102" and body["result"]["name"] == "1 Inch"
    for key in ("check_result", "result", "value_dict", "all_check_result", "not_check_result", "failures"):
        assert key in body
    assert body["all_check_result"]["size"] == [607, 851] and body["all_check_result"]["format"] == "JPEG"
    assert body["result"]["px_and_mm"] == 0 and body["check_result"] == 0
    (px,) = [f for f in body["failures"] if f["check"] == "px_and_mm"]
    assert "295x413" in px["message"] and "295x413" in px["message_zh"]
    assert px["expected"] == {"equals": [295, 413]} and px["value"] == [607, 851]


def test_data_url_multipart_and_raw_body_give_the_same_verdicts(client, face_bytes):
    data = face_bytes("hivision_idphoto_2.jpg")
    a = client.post("/api/check_pic", json={"file": "data:image/jpeg;base64," + b64(data), "spec_id": "1-inch"})
    b = client.post("/api/check_pic", data={"file": (io.BytesIO(data), "x.jpg"), "spec_id": "1102"},
                    content_type="multipart/form-data")
    c = client.post("/api/check_pic?spec_id=1102", data=data, content_type="image/jpeg")
    results = [r.get_json()["result"] for r in (a, b, c)]
    assert all(r.status_code == 200 for r in (a, b, c))
    assert results[0] == results[1] == results[2]


def test_overrides_from_form_fields_reach_the_rules(client, face_bytes):
    data = face_bytes("hivision_idphoto_2.jpg")
    resp = client.post("/api/check_pic", data={"file": (io.BytesIO(data), "x.jpg"), "spec_id": "1102",
                                               "head_length_min_p": "600", "width_px": "607", "height_px": "851"},
                       content_type="multipart/form-data")
    body = resp.get_json()
    assert body["result"]["px_and_mm"] == 1  # the request's size wins over the spec's
    assert body["result"]["head_length"] == 0 and body["expected"]["head_length"]["min"] == 600


def _small_png(w: int, h: int) -> bytes:
    return encode(np.full((h, w, 3), 200, np.uint8), "PNG")


@pytest.mark.parametrize(("payload", "status"), [
    ({"file": "", "spec_id": 1102}, "EMPTY_IMAGE"),
    ({"spec_id": 1102}, "EMPTY_IMAGE"),
    ({"file": b64(b"this is text, not a photo at all"), "spec_id": 1102}, "CORRUPT_IMAGE"),
    ({"file": b64(_small_png(8, 50)), "spec_id": 1102}, "INVALID_IMAGE_FORMAT_OR_SIZE"),
    ({"file": b64(_png_claiming(20000, 20000)), "spec_id": 1102}, "INVALID_IMAGE_FORMAT_OR_SIZE"),
    ({"file": b64(b"\x00\x00\x00\x18ftypheic" + b"\x00" * 99), "spec_id": 1102}, "CORRUPT_IMAGE"),  # HEIC brand only
    ({"file": b64(b"8BPS" + b"\x00" * 99), "spec_id": 1102}, "INVALID_IMAGE_FORMAT_OR_SIZE"),  # PSD: not accepted
    ({"file": "%%%% not base64", "spec_id": 1102}, "INVALID_ARGUMENT"),
    ({"file": b64(_small_png(50, 50))}, "INVALID_ARGUMENT"),
    ({"file": b64(_small_png(50, 50)), "spec_id": 9999}, "UNKNOWN_SPEC"),
    ({"file": b64(_small_png(50, 50)), "spec_id": "no-such-document"}, "UNKNOWN_SPEC"),
    ({"file": b64(_small_png(50, 50)), "spec_id": [1102]}, "INVALID_ARGUMENT"),
])
def test_bad_requests_get_their_status(client, payload, status):
    assert_error(client.post("/api/check_pic", json=payload), status)


def test_a_file_over_15_mb_is_too_big(client):
    big = b"\xff\xd8\xff" + b"\x00" * (15 * 1024 * 1024)
    assert_error(client.post("/api/check_pic", json={"file": b64(big), "spec_id": 1102}), "IMAGE_FILE_SIZE_TOO_BIG")
    huge = b"\xff\xd8\xff" + b"\x00" * (22 * 1024 * 1024)  # beyond the request size limit itself
    assert_error(client.post("/api/check_pic?spec_id=1102", data=huge, content_type="image/jpeg"),
                 "IMAGE_FILE_SIZE_TOO_BIG")


def test_malformed_json_and_odd_content_types(client):
    assert_error(client.post("/api/check_pic", data="{not json", content_type="application/json"), "INVALID_ARGUMENT")
    assert_error(client.post("/api/check_pic", json=[1, 2]), "INVALID_ARGUMENT")
    assert_error(client.post("/api/check_pic", data="x", content_type="text/plain"), "INVALID_ARGUMENT")
    assert_error(client.post("/api/check_pic"), "EMPTY_IMAGE")


def test_a_bad_threshold_names_the_parameter(client, face_bytes):
    resp = client.post("/api/check_pic", json={"file": b64(face_bytes("hivision_idphoto_2.jpg")), "spec_id": 1102,
                                               "eyes_close": "very"})
    assert_error(resp, "INVALID_ARGUMENT")
    assert "eyes_close" in resp.get_json()["message"]


def test_face_count_statuses(client, face_bytes, face_rgb):
    assert_error(client.post("/api/check_pic", json={"file": b64(face_bytes("dogs_no_face.jpg")), "spec_id": 1102}),
                 "NO_FACE_DETECTED")
    pair = encode(tf.side_by_side(face_rgb("hivision_idphoto_2.jpg"), face_rgb("hivision_idphoto_0.jpg")), "JPEG")
    assert_error(client.post("/api/check_pic", json={"file": b64(pair), "spec_id": 1102}), "TOO_MANY_FACES")
    assert_error(client.post("/api/check_pic", json={"file": b64(face_bytes("two_people.jpg")), "spec_id": 1102}),
                 "TOO_MANY_FACES")


def test_unknown_routes_and_methods_answer_in_json(client):
    assert_error(client.get("/api/nothing-here"), "NOT_FOUND", 404)
    assert_error(client.get("/api/check_pic"), "METHOD_NOT_ALLOWED", 405)


def test_spec_catalogue_endpoints(client):
    body = client.get("/api/specs").get_json()
    assert body["count"] == len(body["specs"]) == len(checker.list_specs())
    found = client.get("/api/specs?search=schengen").get_json()["specs"]
    assert [s["slug"] for s in found] == ["schengen-visa"]
    assert all(s["category"] == "passport" for s in client.get("/api/specs?category=passport").get_json()["specs"])
    one = client.get("/api/specs/7601").get_json()["spec"]
    assert one["slug"] == "china-visa" and one["checks"]["file_size"] == {"min": 40960, "max": 120000}
    assert client.get("/api/specs/china-visa").get_json()["spec"]["id"] == 7601
    assert_error(client.get("/api/specs/nope"), "UNKNOWN_SPEC", 404)


def test_healthz(client):
    body = client.get("/healthz").get_json()
    assert body["status"] == "ok" and body["specs"] == len(checker.list_specs()) and body["rules"] >= 50


# --- issue 12 weak points: strict JSON, the request id in the log, Allow on 405 --------------------------
def _strict_json(data: bytes):
    import json

    def refuse(constant: str):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(data, parse_constant=refuse)


def test_a_measurement_that_is_nan_still_answers_valid_json(client, monkeypatch):
    from checker.web import check_api

    def report(photo, spec, params, request_id=""):
        return {"code": 200, "check_result": 0, "value_dict": {"ppi": float("nan"), "face_blur": 12.5},
                "all_check_result": {"dpi": [float("inf"), -float("inf")], "nested": [{"x": float("nan")}]},
                "request_id": request_id}

    monkeypatch.setattr(check_api, "run_check", report)
    resp = client.post("/api/check_pic", json={"file": b64(_small_png(60, 80)), "spec_id": 1102})
    assert resp.status_code == 200
    body = _strict_json(resp.data)
    assert body["value_dict"] == {"ppi": None, "face_blur": 12.5}
    assert body["all_check_result"] == {"dpi": [None, None], "nested": [{"x": None}]}


def test_a_crash_is_logged_with_the_request_id_the_answer_names(client, monkeypatch, caplog):
    from checker.web import check_api

    def broken(*args, **kwargs):
        raise RuntimeError("simulated fault 4711")

    monkeypatch.setattr(check_api, "run_check", broken)
    with caplog.at_level("ERROR"):
        resp = client.post("/api/check_pic", json={"file": b64(_small_png(60, 80)), "spec_id": 1102},
                           headers={"X-Request-Id": "crash-req-42"})
    assert_error(resp, "INTERNAL_ERROR", 500)
    body = resp.get_json()
    assert "4711" not in body["message"] and "crash-req-42" in body["message"]
    logged = [r for r in caplog.records if "crash-req-42" in r.getMessage()]
    assert logged and logged[0].exc_info and "simulated fault 4711" in str(logged[0].exc_info[1])


@pytest.mark.parametrize(("path", "allowed", "family"), [
    ("/api/check_pic", {"POST"}, "check"), ("/api/specs", {"GET", "HEAD"}, "check"),
    ("/idphoto", {"POST"}, "hivision"), ("/api/tasks/visual/external/idphoto", {"POST"}, "tasks"),
    ("/identity/mask_selfie_image", {"POST"}, "mask"), ("/api/v1/matting2", {"POST"}, "matting"),
])
def test_a_405_names_the_allowed_methods_in_the_family_envelope(client, path, allowed, family):
    resp = client.delete(path)
    assert resp.status_code == 405
    assert allowed <= {m.strip() for m in resp.headers["Allow"].split(",")}
    body = resp.get_json()
    status = {"check": lambda b: b["status"], "hivision": lambda b: b["error"],
              "tasks": lambda b: b["message"].split(":")[0], "mask": lambda b: b["status"],
              "matting": lambda b: b["msg"].split(":")[0]}[family](body)
    assert status == "METHOD_NOT_ALLOWED"
    if family == "hivision":
        assert body["status"] is False
