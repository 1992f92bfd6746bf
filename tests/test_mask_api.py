"""Seed 001: POST /identity/mask_selfie_image. Every error status of the seed's table with its HTTP
code and envelope; the answer changes only pixels around the eyes (and those to black); the three
ways to send the image; auto_rotate on photos turned by known angles."""

from __future__ import annotations

import io
import time
from http.server import BaseHTTPRequestHandler

import numpy as np
import pytest
from PIL import Image

from checker.context import Analysis
from checker.imaging import load_photo

from .conftest import encode, new_key, photo_of
from .servers import http_thread

URL = "/identity/mask_selfie_image"


class Remote(BaseHTTPRequestHandler):
    """/photo answers an image, /slow answers after 3 s, anything else 404."""

    photo = b""

    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path == "/slow":
            time.sleep(3)
        if self.path not in ("/photo", "/slow"):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.photo)))
        self.end_headers()
        self.wfile.write(self.photo)

    def log_message(self, *args):
        pass


@pytest.fixture
def remote(face_bytes):
    Remote.photo = face_bytes("hivision_test3.jpg")
    with http_thread(Remote) as base:
        yield base


@pytest.fixture
def app(tmp_path):
    from checker.web import create_app

    app = create_app({"TESTING": True, "KEYS_DB": str(tmp_path / "keys.sqlite3"), "TASKS_DIR": str(tmp_path / "t"),
                      "ALLOW_PRIVATE_URLS": True, "URL_TIMEOUT": 0.5})
    yield app
    svc = app.extensions.get("idphoto_tasks")
    if svc:
        svc.stop()


def post(client, data: dict, query: str = "", **kw):
    return client.post(URL + (f"?{query}" if query else ""), data=data, content_type="multipart/form-data", **kw)


def upload(data: bytes, name: str = "selfie.jpg", **fields) -> dict:
    return {"selfie_file": (io.BytesIO(data), name), **fields}


def decoded(resp) -> np.ndarray:
    assert resp.status_code == 200, resp.get_json()
    assert resp.mimetype == "image/png" and resp.headers["X-Request-Id"]
    return np.asarray(Image.open(io.BytesIO(resp.data)))


# --- the error table ----------------------------------------------------------------------------------
def _webp(face_bytes) -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(face_bytes("hivision_test3.jpg"))).save(buf, "WEBP")
    return buf.getvalue()


# (status, HTTP code, whether the seed adds "image": "selfie", how to provoke it)
ERRORS = [
    ("ENCODING_ERROR", 400, False, lambda c, ctx: post(c, upload(ctx.photo), query="mask_eye=%FF%FE")),
    ("ENCODING_ERROR", 400, False, lambda c, ctx: c.post(URL, data=b"selfie_url=%C3%28",
                                                         content_type="application/x-www-form-urlencoded")),
    ("ENCODING_ERROR", 400, False, lambda c, ctx: c.post(
        URL, data=b'--b\r\nContent-Disposition: form-data; name="mask_eye"\r\n\r\n\xff\xfe\r\n--b--\r\n',
        content_type="multipart/form-data; boundary=b")),
    ("DOWNLOAD_TIMEOUT", 400, True, lambda c, ctx: post(c, {"selfie_url": ctx.remote + "/slow"})),
    ("DOWNLOAD_ERROR", 400, True, lambda c, ctx: post(c, {"selfie_url": ctx.remote + "/missing"})),
    ("DOWNLOAD_ERROR", 400, True, lambda c, ctx: post(c, {"selfie_url": "ftp://example.com/x.jpg"})),
    ("IMAGE_FILE_SIZE_TOO_BIG", 400, True,
     lambda c, ctx: post(c, upload(b"\xff\xd8\xff" + b"\0" * (5 * 1024 * 1024)))),
    ("IMAGE_ID_NOT_EXIST", 400, True, lambda c, ctx: post(c, {"selfie_image_id": "no-such-image"})),
    ("NO_FACE_DETECTED", 400, True, lambda c, ctx: post(c, upload(ctx.face_bytes("dogs_no_face.jpg")))),
    ("TOO_MANY_FACES", 400, True, lambda c, ctx: post(c, upload(ctx.face_bytes("two_people.jpg")))),
    ("CORRUPT_IMAGE", 400, True, lambda c, ctx: post(c, upload(b"this is not an image at all"))),
    ("CORRUPT_IMAGE", 400, True, lambda c, ctx: post(c, upload(ctx.photo[: len(ctx.photo) // 3]))),
    ("INVALID_IMAGE_FORMAT_OR_SIZE", 400, True, lambda c, ctx: post(c, upload(_webp(ctx.face_bytes)))),
    ("INVALID_IMAGE_FORMAT_OR_SIZE", 400, True,
     lambda c, ctx: post(c, upload(encode(np.zeros((40, 8, 3), np.uint8)), "thin.png"))),
    ("INVALID_IMAGE_FORMAT_OR_SIZE", 400, True,
     lambda c, ctx: post(c, upload(encode(np.zeros((12, 4001, 3), np.uint8)), "wide.png"))),
    ("INVALID_ARGUMENT", 400, False, lambda c, ctx: post(c, {"mask_eye": "true"})),
    ("INVALID_ARGUMENT", 400, False, lambda c, ctx: post(c, upload(ctx.photo, selfie_image_id="x"))),
    ("INVALID_ARGUMENT", 400, False, lambda c, ctx: post(c, upload(ctx.photo, mask_eye="maybe"))),
    ("INVALID_ARGUMENT", 400, False, lambda c, ctx: post(c, upload(ctx.photo, mask_eyes="true"))),
    ("INVALID_ARGUMENT", 400, False, lambda c, ctx: post(c, upload(b""))),
    ("NOT_FOUND", 404, False, lambda c, ctx: c.post("/identity/mask_selfie", data=upload(ctx.photo),
                                                    content_type="multipart/form-data")),
]


class Ctx:
    def __init__(self, face_bytes, remote):
        self.face_bytes, self.remote = face_bytes, remote
        self.photo = face_bytes("hivision_test3.jpg")


@pytest.mark.parametrize(("status", "http", "image", "provoke"), ERRORS,
                         ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)])
def test_error_table(client, face_bytes, remote, status, http, image, provoke):
    resp = provoke(client, Ctx(face_bytes, remote))
    body = resp.get_json()
    assert resp.status_code == http, body
    assert body["status"] == status, body
    assert ("image" in body) == image and body.get("image", "selfie") == "selfie"
    assert body["request_id"] == resp.headers["X-Request-Id"] and body["request_id"]
    assert isinstance(body["reason"], str) and body["reason"]


def test_key_statuses(app, client, face_bytes, monkeypatch):
    """UNAUTHORIZED / KEY_EXPIRED 401; RATE_LIMIT_EXCEEDED, NO_PERMISSION, OUT_OF_QUOTA 403."""
    from checker.keys import KeyStore, split_key

    store = KeyStore(app.config["KEYS_DB"])
    photo = face_bytes("hivision_test3.jpg")

    def as_key(key: str, **fields):
        key_id, secret = split_key(key)
        resp = post(client, upload(photo, api_id=key_id, api_secret=secret, **fields))
        return resp.status_code, (resp.get_json() or {}).get("status")

    good = store.create(rate_per_second=1)
    assert post(client, upload(photo)).status_code == 401
    assert as_key(good.replace(".", ".x", 1)) == (401, "UNAUTHORIZED")
    expired = store.create(expires_in_days=0.5)
    now = time.time() + 86400
    monkeypatch.setattr("checker.keys.time.time", lambda: now)
    assert as_key(expired) == (401, "KEY_EXPIRED")
    assert as_key(store.create(scopes=["check"])) == (403, "NO_PERMISSION")
    assert as_key(store.create(credits=0)) == (403, "OUT_OF_QUOTA")
    assert as_key(good)[0] == 200
    assert as_key(good) == (403, "RATE_LIMIT_EXCEEDED")


def test_internal_error_is_a_500_in_the_envelope(client, face_bytes, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("simulated fault")

    monkeypatch.setattr("checker.web.mask_api.mask_eyes", broken)
    resp = post(client, upload(face_bytes("hivision_test3.jpg"), mask_eye="true"))
    body = resp.get_json()
    assert resp.status_code == 500 and body["status"] == "INTERNAL_ERROR" and body["request_id"]
    assert "simulated" not in body["reason"]  # internals stay in the log


# --- what the mask changes ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["hivision_test3.jpg", "obama.jpg", "mask_pair106_without.jpg", "biden.jpg"])
def test_only_the_eyes_change(client, face_bytes, name):
    data = face_bytes(name)
    before = load_photo(data).rgb
    after = decoded(post(client, upload(data, mask_eye="true")))
    assert after.shape == before.shape
    changed = (after != before).any(axis=2)
    assert changed.any()
    assert (after[changed] == 0).all()  # the bar is black, drawn without anti-aliasing
    a = Analysis(load_photo(data))
    mesh = a.mesh
    for eye in a.eyes:  # both iris centres are under the bar
        x, y = np.round(eye).astype(int)
        assert (after[y, x] == 0).all()
    ys, xs = np.nonzero(changed)
    # Nothing changes above the brows' top or below the nose tip, nor beyond the face's sides.
    brow_top = mesh[[70, 63, 105, 66, 107, 300, 293, 334, 296, 336], 1].min()
    assert ys.min() >= brow_top - 0.05 * a.face.h
    assert ys.max() < mesh[1, 1]
    assert xs.min() >= a.face.x - 0.05 * a.face.w and xs.max() <= a.face.x + 1.05 * a.face.w
    assert changed.mean() < 0.1


def test_mask_eye_defaults_to_false_as_in_the_seed(client, face_bytes):
    data = face_bytes("hivision_test3.jpg")
    resp = post(client, upload(data))
    assert resp.headers["X-Eyes-Masked"] == "false"
    assert np.array_equal(decoded(resp), load_photo(data).rgb)


def test_alpha_and_other_formats_are_kept_pixel_for_pixel(client, face_rgb):
    rgb = face_rgb("hivision_test3.jpg")
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 200, np.uint8)])
    out = decoded(post(client, upload(encode(rgba), "a.png", mask_eye="true")))
    assert out.shape[2] == 4
    changed = (out != rgba).any(axis=2)
    assert (out[~changed][:, 3] == 200).all() and (out[changed] == [0, 0, 0, 255]).all()
    reference = decoded(post(client, upload(encode(rgb), "p.png", mask_eye="true")))
    for fmt in ("BMP", "TIFF"):
        assert np.array_equal(decoded(post(client, upload(encode(rgb, fmt), "p." + fmt.lower(), mask_eye="true"))),
                              reference), fmt
    gif = encode(rgb, "GIF")  # palette: compare with its own decoded pixels
    out = decoded(post(client, upload(gif, "p.gif", mask_eye="true")))
    changed = (out != load_photo(gif).rgb).any(axis=2)
    assert changed.any() and (out[changed] == 0).all()


@pytest.mark.parametrize(("turn", "back"), [(90, 270), (180, 180), (270, 90)])
def test_auto_rotate_finds_the_upright_photo(client, face_rgb, turn, back):
    """A photo turned clockwise by a known angle comes back upright, masked exactly as the upright one."""
    rgb = face_rgb("obama.jpg")
    upright = decoded(post(client, upload(encode(rgb), "u.png", mask_eye="true", auto_rotate="true")))
    turned = np.rot90(rgb, -turn // 90)
    resp = post(client, upload(encode(turned), "t.png", mask_eye="true", auto_rotate="true"))
    assert resp.headers["X-Rotation"] == str(back)
    assert np.array_equal(decoded(resp), upright)


def test_the_three_sources_give_the_same_answer(client, face_bytes, remote):
    data = face_bytes("hivision_test3.jpg")
    first = post(client, upload(data, mask_eye="true"))
    reference = decoded(first)
    image_id = first.headers["X-Image-Id"]
    by_id = post(client, {"selfie_image_id": image_id, "mask_eye": "true"})
    assert by_id.headers["X-Image-Id"] == image_id and np.array_equal(decoded(by_id), reference)
    by_url = post(client, {"selfie_url": remote + "/photo", "mask_eye": "1"})
    assert np.array_equal(decoded(by_url), reference)
    # seed 002's task inputs are the same store: an image_id from a task works here too
    assert post(client, {"selfie_image_id": by_url.headers["X-Image-Id"], "mask_eye": "1"}).status_code == 200


# Private selfie_url addresses: tests/test_outbound.py (inside a network namespace).


def test_a_key_in_the_query_as_in_the_seeds_curl(app, client, face_bytes):
    from checker.keys import split_key

    key_id, secret = split_key(new_key(app))
    resp = post(client, upload(face_bytes("hivision_test3.jpg"), mask_eye="true"),
                query=f"api_id={key_id}&api_secret={secret}")
    assert resp.status_code == 200
    assert photo_of(decoded(resp)).width == 512
