"""Seed 003: /api/v1/matting (PNG), /matting2 (base64 JSON), /mattingAndAnalysis (body parts).
Body parts are checked against the face mesh and the anatomy of real photos, and against known
transforms of them (a mirror swaps left and right, padding moves every point by the padding)."""

from __future__ import annotations

import base64
import io
import time

import numpy as np
import pytest
from PIL import Image

from checker.bodyparts import PARTS
from checker.context import Analysis
from checker.imaging import load_photo

from .conftest import encode

# Parts a head-and-shoulders portrait shows (the rest are guessed outside the frame, with low scores).
VISIBLE = ("top_head", "left_eye", "right_eye", "nose", "left_ear", "right_ear", "left_mouth_corner",
           "right_mouth_corner", "neck", "left_shoulder", "right_shoulder")


def post(client, path: str, data: bytes, name: str = "p.png"):
    return client.post(f"/api/v1/{path}", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def analysis_of_response(client, data: bytes) -> dict:
    resp = post(client, "mattingAndAnalysis", data)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["code"] == 0 and body["msg"] is None
    return body["data"]


def rgba_of(b64_or_bytes) -> np.ndarray:
    raw = base64.b64decode(b64_or_bytes) if isinstance(b64_or_bytes, str) else b64_or_bytes
    img = Image.open(io.BytesIO(raw))
    assert img.format == "PNG" and img.mode == "RGBA"
    return np.asarray(img)


def test_matting_answers_a_transparent_png_of_the_photo(client, face_bytes):
    data = face_bytes("hivision_test3.jpg")
    photo = load_photo(data)
    resp = post(client, "matting", data, "p.jpg")
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    rgba = rgba_of(resp.data)
    assert rgba.shape[:2] == (photo.height, photo.width)
    a = Analysis(photo)
    cx, cy = np.round(a.eye_mid).astype(int)
    assert rgba[cy, cx, 3] == 255  # between the eyes: the person
    assert rgba[5, 5, 3] == 0 and rgba[5, -6, 3] == 0  # the top corners: the plain backdrop
    # the same cut-out through /matting2, base64 in seed 003's envelope
    before = int(time.time() * 1000)
    body = post(client, "matting2", data, "p.jpg").get_json()
    assert body["code"] == 0 and body["msg"] is None and before - 5000 <= body["time"] <= before + 60000
    assert np.array_equal(rgba_of(body["data"]["imageBase64"]), rgba)


@pytest.mark.parametrize("name", ["hivision_test3.jpg", "obama.jpg", "hivision_idphoto_1.jpg", "biden.jpg"])
def test_body_parts_land_on_the_right_places(client, face_bytes, name):
    data = face_bytes(name)
    a = Analysis(load_photo(data))
    found = analysis_of_response(client, data)["bodyAnalysis"]
    assert found["person_num"] == 1 and len(found["person_info"]) == 1
    person = found["person_info"][0]
    parts = person["body_parts"]
    assert tuple(parts) == PARTS
    assert all(parts[p]["score"] > 0.5 for p in VISIBLE), {p: parts[p]["score"] for p in VISIBLE}
    p = {k: np.array([v["x"], v["y"]]) for k, v in parts.items()}
    inter = float(np.linalg.norm(a.eyes[1] - a.eyes[0]))
    # eyes at the mesh's irises; the person's left eye is on the image's right
    assert np.linalg.norm(p["right_eye"] - a.eyes[0]) < 0.1 * inter
    assert np.linalg.norm(p["left_eye"] - a.eyes[1]) < 0.1 * inter
    assert p["right_ear"][0] < p["right_eye"][0] < p["nose"][0] < p["left_eye"][0] < p["left_ear"][0]
    assert p["right_mouth_corner"][0] < p["nose"][0] < p["left_mouth_corner"][0]
    assert p["nose"][1] < p["right_mouth_corner"][1]
    chin, forehead = a.mesh[152, 1], a.mesh[10, 1]
    face_h = chin - forehead
    for side in ("left_shoulder", "right_shoulder"):  # shoulders: below the chin, beside the face
        assert p[side][1] > chin + 0.2 * face_h, side
    assert p["right_shoulder"][0] < p["nose"][0] < p["left_shoulder"][0]  # biden.jpg is turned: not beside
    assert p["left_shoulder"][0] - p["right_shoulder"][0] > a.face.w
    assert chin < p["neck"][1] < max(p["left_shoulder"][1], p["right_shoulder"][1])
    assert p["top_head"][1] < forehead and forehead - p["top_head"][1] < 0.8 * face_h
    loc = person["location"]
    for k in VISIBLE:
        x, y = p[k]
        assert loc["left"] <= x <= loc["left"] + loc["width"] and loc["top"] <= y <= loc["top"] + loc["height"], k


def test_a_mirror_swaps_left_and_right(client, face_rgb):
    rgb = face_rgb("obama.jpg")
    w = rgb.shape[1]
    orig = analysis_of_response(client, encode(rgb))["bodyAnalysis"]["person_info"][0]["body_parts"]
    flip = analysis_of_response(client, encode(rgb[:, ::-1]))["bodyAnalysis"]["person_info"][0]["body_parts"]
    # The mesh points mirror to within 1 %; the pose model's joints to within 3 %.
    for left, right, tol in (("left_eye", "right_eye", 0.01), ("left_mouth_corner", "right_mouth_corner", 0.01),
                             ("left_ear", "right_ear", 0.03), ("left_shoulder", "right_shoulder", 0.03)):
        for a, b in ((left, right), (right, left)):
            assert abs(flip[a]["x"] - (w - 1 - orig[b]["x"])) < tol * w, (a, b)
            assert abs(flip[a]["y"] - orig[b]["y"]) < tol * w, (a, b)


def test_padding_moves_every_point_by_the_padding(client, face_rgb):
    rgb = face_rgb("hivision_test3.jpg")
    dx, dy = 60, 40
    backdrop = rgb[:20, :20].reshape(-1, 3).mean(axis=0).astype(np.uint8)  # plain: pad with its colour
    padded = np.full((rgb.shape[0] + dy, rgb.shape[1] + dx, 3), backdrop, np.uint8)
    padded[dy:, dx:] = rgb
    orig = analysis_of_response(client, encode(rgb))["bodyAnalysis"]["person_info"][0]
    moved = analysis_of_response(client, encode(padded))["bodyAnalysis"]["person_info"][0]
    size = max(rgb.shape)
    for name in VISIBLE:
        a, b = orig["body_parts"][name], moved["body_parts"][name]
        tol = 0.01 * size if name in ("left_eye", "right_eye", "nose") else 0.03 * size
        assert abs(b["x"] - a["x"] - dx) < tol and abs(b["y"] - a["y"] - dy) < tol, name
    # the person mask is resampled at a new size: its box moves by the padding to within 1 %
    assert abs(moved["location"]["left"] - orig["location"]["left"] - dx) <= 0.01 * size
    assert abs(moved["location"]["top"] - orig["location"]["top"] - dy) <= 0.01 * size


def test_two_people_are_two_people(client, face_bytes):
    data = face_bytes("two_people.jpg")
    a = Analysis(load_photo(data))
    found = analysis_of_response(client, data)["bodyAnalysis"]
    assert found["person_num"] == 2 == len(a.faces)
    for person, face in zip(found["person_info"], a.faces, strict=True):
        nose = person["body_parts"]["nose"]
        assert face.x <= nose["x"] <= face.x + face.w and face.y <= nose["y"] <= face.y + face.h
        ls, rs = person["body_parts"]["left_shoulder"], person["body_parts"]["right_shoulder"]
        if min(ls["score"], rs["score"]) > 0.5:  # this person's shoulders, not the neighbour's
            assert rs["x"] < face.x + face.w / 2 < ls["x"]


@pytest.mark.parametrize(("data", "status", "code"), [
    (encode(np.full((300, 240, 3), 128, np.uint8)), "NO_PERSON_DETECTED", 1015),
    (b"definitely not an image", "CORRUPT_IMAGE", 1011),
    (encode(np.zeros((60, 60, 3), np.uint8), "WEBP"), "INVALID_IMAGE_FORMAT_OR_SIZE", 1012),
])
@pytest.mark.parametrize("path", ["matting", "matting2", "mattingAndAnalysis"])
def test_failures_in_seed_003s_envelope(client, path, data, status, code):
    resp = post(client, path, data)
    body = resp.get_json()
    assert resp.status_code == 400
    assert body["code"] == code and body["data"] is None and body["msg"].startswith(status)
    assert isinstance(body["time"], int)


def test_no_file_and_wrong_method(client):
    resp = client.post("/api/v1/matting", data={}, content_type="multipart/form-data")
    assert resp.status_code == 400 and resp.get_json()["code"] == 1010
    resp = client.get("/api/v1/matting2")
    assert resp.status_code == 405 and resp.get_json()["code"] == 1405
