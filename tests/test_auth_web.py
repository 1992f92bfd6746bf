"""API keys through the web layer: every way the seeds send a key, 401/403/429 in each family's
envelope, the open (keyless) server answering only its own machine, rate limits with Retry-After,
and credits taken exactly once under concurrent requests and given back for work that made nothing."""

from __future__ import annotations

import io
import json
import threading

import cv2
import pytest

from checker.keys import KeyStore, split_key

from .conftest import encode, new_key

# (family, method, path): a request that passes authorization and then fails cheaply (no image).
FAMILIES = {
    "check": ("/api/check_pic", "code"),
    "hivision": ("/set_kb", "error"),
    "tasks": ("/api/tasks/visual/external/idphoto", "message"),
    "mask": ("/identity/mask_selfie_image", "reason"),
    "matting": ("/api/v1/matting2", "msg"),
}


def status_of(family: str, body: dict) -> str:
    """The machine status in each family's envelope."""
    if family == "check":
        return body["status"]
    if family == "hivision":
        assert body["status"] is False
        return body["error"]
    if family == "tasks":
        return body["message"].split(":")[0]
    if family == "mask":
        assert body["request_id"]
        return body["status"]
    assert body["code"] != 0 and body["data"] is None and isinstance(body["time"], int)
    return body["msg"].split(":")[0]


def call(client, family: str, *, headers=None, data=None, query: str = "", **kw):
    path = FAMILIES[family][0] + (f"?{query}" if query else "")
    return client.post(path, headers=headers or {}, data=data if data is not None else {},
                       content_type="multipart/form-data", **kw)


@pytest.mark.parametrize("family", FAMILIES)
def test_no_key_and_wrong_key_are_401_in_the_family_envelope(app, client, family):
    key = new_key(app)
    for headers in ({}, {"APIKEY": key + "x"}, {"X-API-KEY": "k123.nope"}, {"APIKEY": "not-a-key"}):
        resp = call(client, family, headers=headers)
        assert resp.status_code == 401, (headers, resp.get_json())
        assert status_of(family, resp.get_json()) == "UNAUTHORIZED"
    resp = call(client, family, headers={"APIKEY": key})
    assert resp.status_code == 400  # authorized; then refused for the missing image


def test_every_way_the_seeds_send_a_key(app, client):
    key = new_key(app)
    key_id, secret = split_key(key)
    ways = [
        ("check", {"headers": {"APIKEY": key}}),  # seed 003
        ("tasks", {"headers": {"X-API-KEY": key}}),  # seed 002
        ("mask", {"query": f"api_id={key_id}&api_secret={secret}"}),  # seed 001's curl
        ("mask", {"data": {"api_id": key_id, "api_secret": secret}}),  # seed 001's Python
        ("hivision", {"data": {"app_key": key}}),
    ]
    for family, kw in ways:
        assert call(client, family, **kw).status_code == 400, (family, kw)
    # seed 004 sends app_key inside its JSON body
    resp = client.post("/api/check_pic", json={"app_key": key, "spec_id": 1102})
    assert resp.status_code == 400 and resp.get_json()["status"] == "EMPTY_IMAGE"
    resp = client.post("/api/check_pic", json={"app_key": key + "x", "spec_id": 1102})
    assert resp.status_code == 401
    half = call(client, "mask", data={"api_id": key_id})
    assert half.status_code == 401 and "together" in half.get_json()["reason"]


def test_expired_revoked_and_scoped_keys(app, client, monkeypatch):
    store = KeyStore(app.config["KEYS_DB"])
    expiring = store.create(expires_in_days=1)
    masking_only = store.create(scopes=["mask"])
    revoked = store.create()
    store.revoke(split_key(revoked)[0])
    later = __import__("time").time() + 2 * 86400
    monkeypatch.setattr("checker.keys.time.time", lambda: later)
    resp = call(client, "check", headers={"APIKEY": expiring})
    assert (resp.status_code, resp.get_json()["status"]) == (401, "KEY_EXPIRED")
    resp = call(client, "mask", headers={"APIKEY": revoked})
    assert (resp.status_code, resp.get_json()["status"]) == (401, "UNAUTHORIZED")
    for family in ("check", "hivision", "tasks", "matting"):
        resp = call(client, family, headers={"APIKEY": masking_only})
        assert resp.status_code == 403 and status_of(family, resp.get_json()) == "NO_PERMISSION", family
    assert call(client, "mask", headers={"APIKEY": masking_only}).status_code == 400


@pytest.mark.parametrize(("family", "http"), [("check", 429), ("tasks", 429), ("matting", 429), ("mask", 403)])
def test_rate_limit(app, client, monkeypatch, family, http):
    """Seed 001 answers RATE_LIMIT_EXCEEDED with 403, the others with 429; all say when to retry."""
    now = [2_000_000.5]
    monkeypatch.setattr("checker.keys.time.time", lambda: now[0])
    key = new_key(app, rate_per_second=2)
    codes = [call(client, family, headers={"APIKEY": key}) for _ in range(3)]
    assert [r.status_code for r in codes[:2]] == [400, 400]
    assert codes[2].status_code == http
    assert status_of(family, codes[2].get_json()) == "RATE_LIMIT_EXCEEDED"
    assert codes[2].headers["Retry-After"] == "1"
    now[0] += 1
    assert call(client, family, headers={"APIKEY": key}).status_code == 400


def test_open_server_answers_only_its_own_machine(client):
    assert call(client, "check").status_code == 400  # loopback, no key needed
    resp = call(client, "check", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert resp.status_code == 401 and "no API keys" in resp.get_json()["message"]
    assert call(client, "check", environ_base={"REMOTE_ADDR": "::1"}).status_code == 400
    assert client.get("/api/specs", environ_base={"REMOTE_ADDR": "192.0.2.7"}).status_code == 200  # not keyed


@pytest.fixture(scope="module")
def small_portrait(face_rgb) -> bytes:
    rgb = face_rgb("hivision_test3.jpg")
    return encode(cv2.resize(rgb, (256, 357), interpolation=cv2.INTER_AREA), "JPEG", quality=92)


def test_credits_under_concurrent_requests(app, small_portrait):
    """25 matting calls at once on 10 credits: exactly 10 answered, 15 OUT_OF_QUOTA (seed 003's 1001)."""
    key = new_key(app, credits=10)
    app.config["ADMISSION_SLOTS"] = 25  # all 25 run at once: the credits decide, not the server's queue
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def one() -> None:
        resp = app.test_client().post("/api/v1/matting2", headers={"APIKEY": key},
                                      data={"file": (io.BytesIO(small_portrait), "p.jpg")},
                                      content_type="multipart/form-data")
        with lock:
            results.append((resp.status_code, resp.get_json()))

    threads = [threading.Thread(target=one) for _ in range(25)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [b for s, b in results if s == 200]
    refused = [(s, b) for s, b in results if s != 200]
    assert len(ok) == 10 and all(b["code"] == 0 for b in ok)
    assert len(refused) == 15 and {(s, b["code"]) for s, b in refused} == {(403, 1001)}
    assert KeyStore(app.config["KEYS_DB"]).get(split_key(key)[0]).remaining == 0


def test_work_that_makes_nothing_costs_nothing(app, client, face_bytes):
    key = new_key(app, credits=20)
    store = KeyStore(app.config["KEYS_DB"])
    key_id = split_key(key)[0]
    grey = encode(__import__("numpy").full((300, 240, 3), 128, "uint8"))
    resp = client.post("/api/v1/matting", headers={"APIKEY": key}, data={"file": (io.BytesIO(grey), "g.png")},
                       content_type="multipart/form-data")
    assert resp.status_code == 400 and resp.get_json()["msg"].startswith("NO_PERSON_DETECTED")
    resp = client.post("/api/fix", headers={"APIKEY": key}, data={
        "file": (io.BytesIO(face_bytes("dogs_no_face.jpg")), "d.jpg"), "spec_id": "1102"},
        content_type="multipart/form-data")
    assert resp.status_code == 400 and resp.get_json()["status"] == "NO_FACE_DETECTED"
    assert store.get(key_id).remaining == 20
    resp = client.post("/api/fix", headers={"APIKEY": key}, data={
        "file": (io.BytesIO(face_bytes("hivision_test3.jpg")), "p.jpg"), "spec_id": "1102", "layout": "1"},
        content_type="multipart/form-data")
    assert resp.status_code == 200
    assert store.get(key_id).remaining == 20 - 11  # standard 6 + layout 5
    resp = client.post("/api/fix", headers={"APIKEY": key}, data={
        "file": (io.BytesIO(face_bytes("hivision_test3.jpg")), "p.jpg"), "spec_id": "1102", "layout": "1",
        "auto_bright": "1"}, content_type="multipart/form-data")
    assert (resp.status_code, resp.get_json()["status"]) == (403, "OUT_OF_QUOTA")  # 19 > 9 left
    assert "19 credits" in resp.get_json()["message"]


def test_tasks_charge_refund_and_belong_to_their_key(app, client, face_bytes):
    url = "/api/tasks/visual/external/idphoto"
    key = new_key(app, credits=12)
    other = new_key(app)
    store = KeyStore(app.config["KEYS_DB"])
    key_id = split_key(key)[0]

    def create(photo: str, **fields) -> dict:
        resp = client.post(url, headers={"X-API-KEY": key}, content_type="multipart/form-data",
                           data={"image_file": (io.BytesIO(face_bytes(photo)), "p.jpg"), "sync": "1", **fields})
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()["data"]

    failed = create("dogs_no_face.jpg")
    assert failed["state"] == -1
    assert store.get(key_id).remaining == 12  # the failed task gave its 6 credits back
    done = create("hivision_test3.jpg")
    assert done["state"] == 1
    assert store.get(key_id).remaining == 6
    assert create("hivision_test3.jpg", preview="1")["state"] == 1  # a watermarked preview is free
    assert store.get(key_id).remaining == 6
    mine = client.get(f"{url}/{done['task_id']}", headers={"X-API-KEY": key})
    assert mine.status_code == 200 and mine.get_json()["data"]["state"] == 1
    theirs = client.get(f"{url}/{done['task_id']}", headers={"X-API-KEY": other})
    assert theirs.status_code == 404 and json.loads(theirs.data)["status"] == 404
