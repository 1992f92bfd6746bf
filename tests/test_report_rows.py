"""The report as a person reads it (``checks`` rows), the overlay geometry, and /api/fix's cut-out:
what the page at / draws from, checked here without a browser."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from checker import detectors
from checker.imaging import load_photo
from checker.pipeline import run_check
from checker.specs import load_spec

from .conftest import encode
from .transforms import shift

SPEC = "schengen-visa"


def check(rgb: np.ndarray, spec: str = SPEC, **overrides) -> dict:
    return run_check(load_photo(encode(rgb)), load_spec(spec), overrides)


@pytest.mark.parametrize("name", ["hivision_test3.jpg", "hivision_test0.jpg", "obama.jpg"])
def test_one_row_per_check_with_the_engines_verdict(monkeypatch, face_rgb, name):
    detectors.known_measures()  # loads every detector module
    det = detectors._BY_MEASURE["decoration_occlusion"]

    def broken(a):
        raise RuntimeError("simulated crash")

    # one requested check whose detector fails: its row must say not assessed
    monkeypatch.setitem(detectors._BY_MEASURE, "decoration_occlusion",
                        detectors.Detector(det.name, det.produces, broken))
    report = check(face_rgb(name), eyes_close=99, decoration_occlusion=1)
    rows = {r["check"]: r for r in report["checks"]}
    assert len(rows) == len(report["checks"])
    judged = {k: v for k, v in report["result"].items() if k not in ("name", "spec_id")}
    assert set(rows) == set(judged) | {n["check"] for n in report["not_applicable"]}
    not_assessed = {n["check_param"] for n in report["not_check_result"]}
    assert "decoration_occlusion" in not_assessed
    failures = {f["check"]: f for f in report["failures"]}
    for check_name, row in rows.items():
        want = ("not_applicable" if check_name not in judged else "not_assessed" if check_name in not_assessed
                else "pass" if judged[check_name] == 1 else "fail")
        assert row["status"] == want, check_name
        assert row["expected"] == report["expected"][check_name]
        assert row["title"] and row["title_zh"] and row["expected_text"] and row["expected_text_zh"]
        if want == "fail":
            assert (row["message"], row["message_zh"]) == (failures[check_name]["message"],
                                                           failures[check_name]["message_zh"])
            assert row["value"] == failures[check_name]["value"]
        elif want == "pass":
            assert row["value"] == report["value_dict"][check_name] and row["message"] == ""
        else:
            assert row["value"] is None and row["message"]


def test_overlay_follows_the_head(face_rgb):
    """Move the head by known pixels: every drawn line moves with it; the windows stay the spec's."""
    rgb = face_rgb("hivision_test3.jpg")
    h = rgb.shape[0]
    a, b = check(rgb), check(shift(rgb, 30, 40))
    oa, ob = a["overlay"], b["overlay"]
    assert oa["size"] == ob["size"] == [rgb.shape[1], h]
    # The detector's box is coarser than the mesh (anchor grid): within 3% of its size.
    assert np.allclose(np.array(ob["face_box"][:2]) - oa["face_box"][:2], [30, 40], atol=0.03 * oa["face_box"][2])
    assert np.allclose(np.array(ob["eyes"]) - oa["eyes"], [[30, 40], [30, 40]], atol=2)
    assert ob["chin_y"] - oa["chin_y"] == pytest.approx(40, abs=2)
    assert ob["crown_y"] - oa["crown_y"] == pytest.approx(40, abs=4)
    for o, r in ((oa, a), (ob, b)):
        head, eyes = r["expected"]["head_length"], r["expected"]["eyes_space_bottom"]
        assert o["crown_window"] == pytest.approx([o["chin_y"] - head["max"], o["chin_y"] - head["min"]], abs=0.1)
        assert o["eye_window"] == pytest.approx([h - eyes["max"], h - eyes["min"]], abs=0.1)
        # The measured values the rules judged are the overlay's distances.
        assert r["all_check_result"]["head_length"] == pytest.approx(o["chin_y"] - o["crown_y"], abs=1)
        eye_y = np.mean([e[1] for e in o["eyes"]])
        assert r["all_check_result"]["eyes_space_bottom"] == pytest.approx(h - eye_y, abs=2)


def test_a_spec_without_framing_windows_has_open_windows(face_rgb):
    report = check(face_rgb("hivision_test3.jpg"), head_length_min_p="", head_length_max_p="")
    o = report["overlay"]
    assert o["face_box"] and o["eyes"] and o["chin_y"] is not None
    assert o["eye_window"] is not None  # the rule default still applies


def test_fix_answers_the_transparent_cut_out(client, face_bytes):
    resp = client.post("/api/fix", data={"file": (io.BytesIO(face_bytes("hivision_test3.jpg")), "p.jpg"),
                                         "spec_id": SPEC, "transparent": "1", "bg_color": "8EC5E9"},
                       content_type="multipart/form-data")
    body = resp.get_json()
    assert resp.status_code == 200, body
    assert body["transparent"].startswith("data:image/png;base64,")
    cut = np.asarray(Image.open(io.BytesIO(base64.b64decode(body["transparent"].split(",", 1)[1]))))
    photo = load_photo(base64.b64decode(body["photo"].split(",", 1)[1])).rgb.astype(float)
    assert cut.shape == (531, 413, 4)
    alpha = cut[..., 3:] / 255.0
    assert alpha[0, 0, 0] == 0 and alpha[5, -5, 0] == 0  # background corners are transparent
    eyes = body["after"]["overlay"]["eyes"]
    x, y = np.mean(eyes, axis=0).astype(int)
    assert alpha[y, x, 0] == 1  # the face is opaque
    # The cut-out over the background the photo used is the photo (JPEG's error aside).
    composed = cut[..., :3] * alpha + np.array([0x8E, 0xC5, 0xE9]) * (1 - alpha)
    assert np.abs(composed - photo).mean() < 3
    plain = client.post("/api/fix", data={"file": (io.BytesIO(face_bytes("hivision_test3.jpg")), "p.jpg"),
                                          "spec_id": SPEC}, content_type="multipart/form-data").get_json()
    assert "transparent" not in plain
    bad = client.post("/api/fix", data={"file": (io.BytesIO(face_bytes("hivision_test3.jpg")), "p.jpg"),
                                        "spec_id": SPEC, "transparent": "perhaps"}, content_type="multipart/form-data")
    assert bad.status_code == 400 and bad.get_json()["status"] == "INVALID_ARGUMENT"


def test_the_page_and_its_assets_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    html = page.get_data(as_text=True)
    for asset in ("/static/app.js", "/static/app.css", "/static/icon.svg"):
        assert asset in html
        resp = client.get(asset)
        assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-cache", asset
        resp.close()
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing from elsewhere
    specs = client.get("/api/specs?search=schengen").get_json()["specs"]
    assert specs[0]["background_hex"] == ["FFFFFF", "DCDCDC", "8EC5E9"]
