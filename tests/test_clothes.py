"""Outfit change (seed 002's clothes_id, and a garment the user brings) on real photos: every built-in
garment covers the shoulders, leaves every point of the face mesh uncovered and comes out of fix with the
spec's geometry and background; a contact sheet of all 50 on two photos goes to tests/artifacts/clothes/."""

from __future__ import annotations

import base64
import hashlib
import io
import json

import cv2
import numpy as np
import pytest

import checker
from checker.cli import main
from checker.context import CHIN
from checker.generate import clothes
from checker.imaging import load_photo
from checker.params.generation import CLOTHES, STANDARD, TABLE

from .conftest import analysis_of, encode

PHOTOS = ["hivision_idphoto_2.jpg", "hivision_test3.jpg", "hivision_idphoto_0.jpg"]
SPEC = "4401"  # graduation photo, 480 x 640 on blue or white: the shoulders and chest are in it
GEOMETRY = ["face_center", "head_length", "hairline_top", "eyes_space_bottom", "lower_body_hanging"]
BACKGROUND = ["background_color", "uniformity", "bg_shadow", "bg_remnants"]


def test_the_catalogue_has_seed_002s_fifty_ids_each_drawn_differently():
    ids = [g["id"] for g in clothes.catalogue()]
    assert ids == [f"man_{i}" for i in range(1, 21)] + [f"woman_{i}" for i in range(1, 21)] + \
        [f"child_{i}" for i in range(1, 11)]
    assert all(g["name"] and g["name_zh"] and g["thumbnail"] == f"/api/clothes/{g['id']}.png"
               for g in clothes.catalogue())
    looks = {hashlib.sha256(clothes.render_template(gid).tobytes()).hexdigest() for gid in ids}
    assert len(looks) == 50


def test_an_unknown_id_is_refused_by_name():
    with pytest.raises(checker.CheckerError) as info:
        clothes.garment("man_21")
    assert info.value.status == "INVALID_ARGUMENT" and "man_1..man_20" in info.value.message


@pytest.fixture(scope="module")
def people(face_rgb):
    return {n: (face_rgb(n), analysis_of(face_rgb(n))) for n in PHOTOS}


def _worn_right(a, d) -> list[str]:
    """What is wrong with how a garment sits (empty: nothing)."""
    found = []
    fw, chin = a.face_width, a.point(CHIN)
    h = d.garment.shape[0]
    y0, y1 = int(chin[1] + 0.8 * fw), int(min(h, chin[1] + 1.3 * fw))
    x0, x1 = int(chin[0] - 0.9 * fw), int(chin[0] + 0.9 * fw)
    cut = (slice(y0, y1), slice(max(0, x0), x1))
    person = d.alpha[cut] > 0.5
    worn = d.garment[cut][person] > 0.5
    hair = d.hair[cut][person] if d.hair is not None else np.zeros_like(worn)
    if (worn | hair).mean() < 0.95:  # the shoulders are the garment's, or long hair lying over it
        found.append(f"covers {(worn | hair).mean():.0%} of the shoulders (hair {hair.mean():.0%})")
    if worn.mean() < 0.4:  # hair never hides most of the garment
        found.append(f"the garment shows on {worn.mean():.0%} of the shoulders")
    pts = np.round(a.mesh[:, :2]).astype(int)
    inside = (pts[:, 0] >= 0) & (pts[:, 0] < d.garment.shape[1]) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
    covered = d.garment[pts[inside, 1], pts[inside, 0]] > 0.05
    if covered.any():
        found.append(f"covers {int(covered.sum())} points of the face mesh")
    return found


@pytest.mark.parametrize("gid", clothes.IDS)
def test_every_garment_sits_on_the_shoulders_and_off_the_face(people, gid):
    g = clothes.garment(gid)
    for name, (rgb, a) in people.items():
        d = clothes.dress_layers(a, rgb, a.person_mask, g)
        assert _worn_right(a, d) == [], (name, gid)


def test_a_garment_that_covered_the_face_would_be_seen(people):
    """The check above can fail: the same garment fitted a face width higher covers the chin."""
    rgb, a = people["hivision_idphoto_2.jpg"]
    g = clothes.garment("man_1")
    anchors = clothes.anchors_of(a, a.person_mask)
    up = clothes.Anchors(*((x, y - 0.6 * a.face_width) for x, y in (anchors.collar, anchors.left, anchors.right)))
    worn = clothes.fit(g, up, rgb.shape[:2])
    d = clothes.Dressed(rgb, a.person_mask, worn[:, :, 3], up)
    assert any("face mesh" in f for f in _worn_right(a, d))


def _tile(rgb: np.ndarray, label: str) -> np.ndarray:
    t = cv2.resize(rgb, (150, round(150 * rgb.shape[0] / rgb.shape[1])), interpolation=cv2.INTER_AREA)
    t = cv2.copyMakeBorder(t, 0, 18, 2, 2, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    cv2.putText(t, label, (3, t.shape[0] - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 0), 1)
    return t


def test_every_garment_comes_out_of_fix_with_the_specs_geometry_and_background(face_bytes, artifacts_dir):
    """Each id fixed on one of three photos in turn (all 50 in two rows of the contact sheet: fix's
    output on one photo, and the dressed photo itself on another)."""
    rows: dict[str, list[np.ndarray]] = {"fix": [], "dressed": []}
    failing = {}
    other_rgb = np.asarray(load_photo(face_bytes("hivision_test3.jpg")).rgb)
    other = analysis_of(other_rgb)
    for i, gid in enumerate(clothes.IDS):
        name = PHOTOS[i % len(PHOTOS)]
        result = checker.fix(face_bytes(name), SPEC, clothes_id=gid)
        bad = {c: result.after["result"][c] for c in GEOMETRY + BACKGROUND
               if c in result.after["result"] and result.after["result"][c] != 1}
        if bad:
            failing[(gid, name)] = [f["message"] for f in result.after["failures"] if f["check"] in bad]
        rows["fix"].append(_tile(np.asarray(load_photo(result.photo).rgb), gid))
        d = clothes.dress_layers(other, other_rgb, other.person_mask, clothes.garment(gid))
        shown = (d.rgb * d.alpha[:, :, None] + 255 * (1 - d.alpha[:, :, None])).astype(np.uint8)
        rows["dressed"].append(_tile(shown, gid))
    out = artifacts_dir / "clothes"
    out.mkdir(exist_ok=True)
    for kind, tiles in rows.items():
        hmax = max(t.shape[0] for t in tiles)
        tiles = [cv2.copyMakeBorder(t, 0, hmax - t.shape[0], 0, 0, cv2.BORDER_CONSTANT, value=(255, 255, 255))
                 for t in tiles]
        sheet = np.vstack([np.hstack(tiles[k:k + 10]) for k in range(0, 50, 10)])
        cv2.imwrite(str(out / f"{kind}.png"), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    assert failing == {}


def _own_garment() -> tuple[bytes, dict[str, list[float]]]:
    """A garment as a user would bring it: a built-in one's drawing at half size, saved as a PNG."""
    rgba = cv2.resize(clothes.render_template("woman_2"), (clothes.T_W // 2, clothes.T_H // 2),
                      interpolation=cv2.INTER_AREA)
    anchors = {"collar": [v / 2 for v in clothes.T_COLLAR], "left_shoulder": [v / 2 for v in clothes.T_LEFT],
               "right_shoulder": [v / 2 for v in clothes.T_RIGHT]}
    return encode(rgba, "PNG"), anchors


def test_a_garment_the_user_brings_is_worn_like_a_built_in_one(people, face_bytes):
    data, anchors = _own_garment()
    g = checker.garment(data, json.dumps(anchors))
    rgb, a = people["hivision_idphoto_2.jpg"]
    assert _worn_right(a, clothes.dress_layers(a, rgb, a.person_mask, g)) == []
    result = checker.fix(face_bytes("hivision_idphoto_2.jpg"), SPEC, garment=g)
    assert result.after["result"]["head_length"] == 1 and result.after["result"]["background_color"] == 1
    before = checker.fix(face_bytes("hivision_idphoto_2.jpg"), SPEC)
    assert load_photo(result.photo).rgb.tobytes() != load_photo(before.photo).rgb.tobytes()


@pytest.mark.parametrize("png, anchors, words", [
    (encode(np.zeros((64, 64, 3), np.uint8), "PNG"), '{"collar": [1, 1], "left_shoulder": [0, 2], '
     '"right_shoulder": [40, 2]}', "alpha channel"),
    (b"not a png", "{}", "alpha channel"),
    (None, "not json", "clothes_anchors must be JSON"),
    (None, '{"collar": [1, 1], "left_shoulder": [900, 2], "right_shoulder": [40, 2]}', "not a point inside"),
    (None, '{"collar": [1, 1], "left_shoulder": [40, 2], "right_shoulder": [20, 2]}', "left of"),
])
def test_a_bad_garment_file_or_bad_anchors_are_refused_clearly(png, anchors, words):
    data = png if png is not None else _own_garment()[0]
    with pytest.raises(checker.CheckerError) as info:
        checker.garment(data, anchors)
    assert info.value.status == "INVALID_ARGUMENT" and words in info.value.message


def test_api_clothes_lists_the_catalogue_with_thumbnails(client):
    body = client.get("/api/clothes").get_json()
    assert len(body["clothes"]) == 50 and body["clothes"][0]["id"] == "man_1"
    thumb = client.get(body["clothes"][0]["thumbnail"])
    assert thumb.status_code == 200 and thumb.mimetype == "image/png"
    assert load_photo(thumb.data).alpha is not None
    assert client.get("/api/clothes/man_99.png").status_code == 404


def _post(client, face_bytes, **fields):
    data = {"file": (io.BytesIO(face_bytes("hivision_idphoto_2.jpg")), "p.jpg"), "spec_id": SPEC, **fields}
    return client.post("/api/fix", data=data, content_type="multipart/form-data")


def test_api_fix_takes_clothes_id_and_a_users_garment(client, face_bytes):
    plain = _post(client, face_bytes).get_json()
    dressed = _post(client, face_bytes, clothes_id="man_3").get_json()
    assert dressed["photo"] != plain["photo"] and dressed["after"]["result"]["head_length"] == 1
    data, anchors = _own_garment()
    own = _post(client, face_bytes, clothes_file=(io.BytesIO(data), "g.png"), clothes_anchors=json.dumps(anchors))
    assert own.status_code == 200, own.get_json()
    assert own.get_json()["photo"] not in (plain["photo"], dressed["photo"])
    as_json = client.post("/api/fix", json={"file": base64.b64encode(face_bytes("hivision_idphoto_2.jpg")).decode(),
                                            "spec_id": SPEC, "clothes_file": base64.b64encode(data).decode(),
                                            "clothes_anchors": json.dumps(anchors)})
    assert as_json.status_code == 200


@pytest.mark.parametrize("fields, words", [
    ({"clothes_id": "suit_1"}, "clothes_id"),
    ({"clothes_anchors": '{"collar": [1, 1]}'}, "needs clothes_file"),
    ({"clothes_file": (io.BytesIO(b"\x89PNG nonsense"), "g.png"), "clothes_anchors": "{}"}, "alpha channel"),
])
def test_api_fix_refuses_a_bad_outfit_request_with_a_400(client, face_bytes, fields, words):
    resp = _post(client, face_bytes, **fields)
    assert resp.status_code == 400 and words in resp.get_json()["message"]


def test_an_outfit_change_costs_seed_002s_fifteen_credits():
    assert TABLE.price(TABLE.parse({})) == STANDARD
    assert TABLE.price(TABLE.parse({"clothes_id": "man_1"})) == CLOTHES
    assert TABLE.price(TABLE.parse({"clothes_id": "man_1", "layout": "1"})) == CLOTHES + 5


def test_cli_fix_with_clothes(runner, faces_dir, tmp_path):
    photo = str(faces_dir / "hivision_idphoto_2.jpg")
    out = tmp_path / "dressed.jpg"
    res = runner.invoke(main, ["fix", photo, "--spec", SPEC, "-o", str(out), "--clothes", "woman_4", "--json"])
    assert res.exit_code in (0, 1), res.output
    assert out.exists() and json.loads(res.output)["after"]["result"]["head_length"] == 1
    data, anchors = _own_garment()
    (tmp_path / "g.png").write_bytes(data)
    (tmp_path / "g.json").write_text(json.dumps(anchors))
    res = runner.invoke(main, ["fix", photo, "--spec", SPEC, "-o", str(tmp_path / "own.jpg"), "--clothes",
                               str(tmp_path / "g.png"), "--clothes-anchors", str(tmp_path / "g.json")])
    assert res.exit_code in (0, 1), res.output
    listed = runner.invoke(main, ["clothes"])
    assert listed.exit_code == 0 and len(listed.output.strip().splitlines()) == 50
    bad = runner.invoke(main, ["fix", photo, "--spec", SPEC, "-o", str(tmp_path / "x.jpg"), "--clothes", "hat_1"])
    assert bad.exit_code == 2 and "clothes_id" in bad.output


def test_the_task_api_takes_clothes_id(tmp_path, face_bytes):
    from checker.params.generation import TASKS

    from .test_tasks import create, fetch_result, make_app, upload

    app = make_app(tmp_path)
    client = app.test_client()
    try:
        _, plain = create(client, sync="1", **upload(face_bytes("hivision_idphoto_2.jpg")))
        _, dressed = create(client, sync="1", clothes_id="child_1", **upload(face_bytes("hivision_idphoto_2.jpg")))
        assert dressed["data"]["state"] == 1, dressed
        assert fetch_result(client, dressed["data"]["image"]) != fetch_result(client, plain["data"]["image"])
        _, bad = create(client, sync="1", clothes_id="child_11", **upload(face_bytes("hivision_idphoto_2.jpg")))
        assert bad["status"] == 400 and "clothes_id" in bad["message"], bad
    finally:
        app.extensions["idphoto_tasks"].stop()
    assert TASKS.price(TASKS.parse({"clothes_id": "child_1"})) == CLOTHES
