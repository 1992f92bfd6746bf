"""The optional face detectors (face_detect_model): mtcnn and yunet on the real photos in ../shared/faces,
RetinaFace's decoding through FAKE ONNX models (its weights cannot be downloaded here), Face++ against a
fake Face++ server on loopback."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import math
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from checker import models
from checker.context import Analysis
from checker.errors import CheckerError
from checker.models import face_detectors as fd
from checker.models.types import FaceBox

from . import transforms as tf
from .conftest import SHARED, need_shared, photo_of

MODELS = SHARED / "models"
SINGLE = ["hivision_idphoto_0.jpg", "hivision_idphoto_2.jpg", "hivision_test0.jpg", "hivision_test2_png.jpg",
          "hivision_test3.jpg", "astronaut.png", "obama.jpg"]


def iou(a: FaceBox, b: FaceBox) -> float:
    iw = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    ih = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = iw * ih
    return inter / (a.w * a.h + b.w * b.h - inter)


def reference_faces(rgb: np.ndarray) -> list[FaceBox]:
    """The embedded mediapipe detector's answer, the yardstick for the others."""
    return models.get("face_detector").detect(rgb)


def assert_keypoints_plausible(face: FaceBox) -> None:
    """Five keypoints in the box: eyes image-left first and above the nose, the nose above the mouth."""
    kps = face.keypoints
    assert kps is not None and kps.shape == (5, 2)
    assert np.all(kps[:, 0] > face.x - 0.05 * face.w) and np.all(kps[:, 0] < face.x + 1.05 * face.w)
    assert np.all(kps[:, 1] > face.y) and np.all(kps[:, 1] < face.y + 1.05 * face.h)
    left_eye, right_eye, nose, mouth_l, mouth_r = kps
    assert left_eye[0] < right_eye[0] and mouth_l[0] < mouth_r[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_l[1], mouth_r[1])


def assert_eyes_match_the_mesh(rgb: np.ndarray, face: FaceBox) -> None:
    """The detector's eye keypoints sit on the face mesh's iris centres (within 12% of the box width)."""
    a = Analysis(photo_of(rgb))
    left, right = a.eyes
    assert np.linalg.norm(face.keypoints[0] - left) < 0.12 * face.w
    assert np.linalg.norm(face.keypoints[1] - right) < 0.12 * face.w


def need_shared_models() -> None:
    need_shared(MODELS / "face_detection_yunet_2023mar.onnx", "the optional model weights")


# --- mtcnn and yunet on real photos ------------------------------------------------------------------


@pytest.fixture(scope="module")
def yunet() -> fd.YuNetDetector:
    need_shared_models()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHECKER_MODELS_DIR", str(MODELS))
        return fd.YuNetDetector()  # the path is read once, here


@pytest.fixture(scope="module")
def mtcnn() -> fd.MtcnnDetector:
    return models.get("mtcnn")


@pytest.fixture(params=["mtcnn", "yunet"])
def detector(request):
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("name", SINGLE)
def test_one_face_on_id_photos_and_portraits_where_mediapipe_sees_it(detector, face_rgb, name):
    rgb = face_rgb(name)
    faces = detector.detect(rgb)
    assert len(faces) == 1, faces
    (ref,) = reference_faces(rgb)
    assert iou(faces[0], ref) > 0.55
    assert 0.8 < faces[0].score <= 1.0
    assert_keypoints_plausible(faces[0])


def test_eye_keypoints_sit_on_the_irises(detector, face_rgb):
    rgb = face_rgb("hivision_idphoto_2.jpg")
    assert_eyes_match_the_mesh(rgb, detector.detect(rgb)[0])


def test_two_people_give_two_faces_largest_first(detector, face_rgb):
    rgb = face_rgb("two_people.jpg")
    faces = detector.detect(rgb)
    assert len(faces) == 2
    assert faces[0].w * faces[0].h >= faces[1].w * faces[1].h
    refs = reference_faces(rgb)
    assert len(refs) == 2
    for face in faces:
        assert max(iou(face, r) for r in refs) > 0.55
    assert abs(faces[0].center[0] - faces[1].center[0]) > 400  # two people, not one face twice


def test_no_face_on_the_dogs(detector, face_rgb):
    assert detector.detect(face_rgb("dogs_no_face.jpg")) == []


def test_boxes_are_in_the_pixels_of_the_image_given(detector, face_rgb):
    # The detectors work on a 640 px copy; the same photo at twice the size (1212 x 1702) must give
    # the same face at twice the coordinates.
    rgb = face_rgb("hivision_idphoto_0.jpg")
    big = cv2.resize(rgb, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    (small_face,), (big_face,) = detector.detect(rgb), detector.detect(big)
    scaled = FaceBox(small_face.x * 2, small_face.y * 2, small_face.w * 2, small_face.h * 2, 1.0)
    assert iou(big_face, scaled) > 0.85
    assert np.abs(big_face.keypoints - small_face.keypoints * 2).max() < 0.08 * big_face.w


def test_a_face_shifted_in_the_frame_moves_its_box_by_the_same_amount(detector, face_rgb):
    rgb = face_rgb("hivision_test0.jpg")
    (before,), (after,) = detector.detect(rgb), detector.detect(tf.shift(rgb, 40, 25))
    assert after.x - before.x == pytest.approx(40, abs=8) and after.y - before.y == pytest.approx(25, abs=8)


def test_concurrent_callers_get_the_answers_serial_callers_get(detector, face_rgb):
    photos = [face_rgb(n) for n in ("two_people.jpg", "hivision_test0.jpg", "astronaut.png", "dogs_no_face.jpg")]
    serial = [[(f.x, f.y, f.w, f.h) for f in detector.detect(p)] for p in photos]
    results: dict[int, list] = {}

    def run(i: int) -> None:
        results[i] = [(f.x, f.y, f.w, f.h) for f in detector.detect(photos[i % 4])]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[i] == serial[i % 4] for i in range(12))


def test_mtcnn_survives_a_frame_with_no_candidate_at_all(mtcnn):
    assert mtcnn.detect(np.full((300, 240, 3), 128, np.uint8)) == []
    assert mtcnn.detect(np.full((8, 8, 3), 128, np.uint8)) == []
    assert mtcnn.detect(np.full((12, 400, 3), 128, np.uint8)) == []  # one pyramid level, one window high


def test_mtcnn_runs_on_the_pulled_graphs_not_the_package(mtcnn, face_rgb):
    import sys

    assert mtcnn.detect(face_rgb("hivision_test0.jpg"))
    assert "mtcnnruntime" not in sys.modules


def test_mtcnn_cascade_helpers():
    from checker.models import mtcnn as m

    # The pyramid starts where a 20 px face fills P-Net's 12 px window and stops at a 12 px short side.
    scales = m.pyramid(100, 200, 20)
    assert scales[0] == pytest.approx(0.6) and 100 * scales[-1] >= 12 > 100 * scales[-1] * m.PYRAMID_STEP
    assert m.pyramid(11, 400, 12) == []
    boxes = np.array([[0, 0, 9, 9], [1, 1, 10, 10], [2, 2, 5, 5], [50, 50, 59, 59]], float)
    scores = np.array([0.9, 0.95, 0.8, 0.7])
    # By union the small box inside survives (IoU 0.16); by the smaller box it is absorbed.
    assert m.nms(boxes, scores, 0.5).tolist() == [1, 2, 3]
    assert m.nms(boxes, scores, 0.5, over_smaller=True).tolist() == [1, 3]
    assert m.squared(np.array([[10.0, 20, 19, 59]])).tolist() == [[-5.0, 20.0, 34.0, 59.0]]
    assert m.refine(np.array([[0.0, 0, 9, 19]]), np.array([[0.1, -0.1, 0.2, 0.0]])).tolist() == [[1, -2, 11, 19]]
    rgb = np.full((4, 4, 3), 200, np.uint8)
    crop = m.crops(rgb, np.array([[-4, -4, 3, 3]]), 8)[0]  # the part outside the photo is black
    assert crop[:4, :4].max() == 0 and crop[4:, 4:].min() == 200


def test_analysis_with_mtcnn_finds_the_face_and_fits_the_mesh(face_rgb):
    rgb = face_rgb("hivision_idphoto_2.jpg")
    a = Analysis(photo_of(rgb), face_detector="mtcnn")
    assert a.face_detector == "mtcnn" and a.face_count == 1
    x0, y0, x1, y1 = a.face_rect
    fx, fy = a.face.center
    assert x0 < fx < x1 and y0 < fy < y1
    assert a.mesh.shape == (478, 3)
    # The mesh fitted from the mtcnn box is the one fitted from mediapipe's box.
    ref = Analysis(photo_of(rgb))
    assert np.abs(a.mesh[:, :2] - ref.mesh[:, :2]).max() < 0.05 * a.face_width
    left, right = a.eyes
    assert x0 < left[0] < right[0] < x1


def test_analysis_with_yunet_finds_the_face(yunet, face_rgb, monkeypatch):
    monkeypatch.setitem(models._INSTANCES, "yunet", yunet)  # the instance built from ../shared/models
    a = Analysis(photo_of(face_rgb("hivision_test3.jpg")), face_detector="yunet")
    assert a.face_count == 1 and a.mesh.shape == (478, 3)


def test_yunet_without_its_weights_is_model_unavailable(monkeypatch, tmp_path):
    monkeypatch.setenv("CHECKER_MODELS_DIR", str(tmp_path))
    with pytest.raises(CheckerError) as info:
        fd.YuNetDetector()
    assert info.value.status == "MODEL_UNAVAILABLE" and "models pull yunet" in info.value.message


# --- RetinaFace: priors, pre-processing, decoding (FAKE models) --------------------------------------


def loop_priors(height: int, width: int) -> np.ndarray:
    """RetinaFace's anchors written as the reference implementation's nested loops."""
    rows = []
    for step, sizes in zip((8, 16, 32), ((16, 32), (64, 128), (256, 512)), strict=True):
        for i in range(math.ceil(height / step)):
            for j in range(math.ceil(width / step)):
                for s in sizes:
                    rows.append([(j + 0.5) * step / width, (i + 0.5) * step / height, s / width, s / height])
    return np.array(rows, np.float32)


def test_priors_match_the_reference_loops_on_an_uneven_size():
    got = fd.retinaface_priors(100, 70)
    want = loop_priors(100, 70)
    assert got.shape == want.shape == (2 * (13 * 9 + 7 * 5 + 4 * 3), 4)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_input_is_bgr_minus_the_mean_in_nchw_padded_to_32(face_rgb):
    rgb = face_rgb("hivision_test3.jpg")  # 512 x 715
    tensor, scale = fd.retinaface_input(rgb, max_side=1000)
    assert scale == 1.0 and tensor.shape == (1, 3, 736, 512) and tensor.dtype == np.float32
    want = rgb[..., ::-1].astype(np.float32) - np.array([104, 117, 123], np.float32)
    np.testing.assert_array_equal(tensor[0, :, :715, :].transpose(1, 2, 0), want)
    assert not tensor[0, :, 715:, :].any()  # padding is the mean: zero after subtraction

    small, scale = fd.retinaface_input(rgb, max_side=358)
    assert scale == pytest.approx(358 / 715, abs=1e-6) and small.shape == (1, 3, 384, 256)


def test_fixed_input_exports_get_a_letterboxed_photo(face_rgb):
    rgb = face_rgb("hivision_idphoto_0.jpg")  # 606 x 851
    tensor, scale = fd.retinaface_input(rgb, max_side=640, fixed=(320, 320))
    assert scale == pytest.approx(320 / 851) and tensor.shape == (1, 3, 320, 320)
    assert tensor[0, :, :, 227].any() and not tensor[0, :, :, 228:].any()  # 606 * 320 / 851 = 227.9 columns


def test_nms_keeps_the_best_of_overlapping_boxes():
    boxes = np.array([[0, 0, 100, 100], [5, 5, 105, 105], [200, 0, 260, 60], [0, 0, 100, 30]], np.float32)
    scores = np.array([0.9, 0.95, 0.8, 0.85], np.float32)
    assert fd.nms(boxes, scores, 0.4).tolist() == [1, 3, 2]  # box 0 overlaps 1 by IoU 0.82; 3 only by 0.22


def encode_box(box: tuple[float, float, float, float], prior: np.ndarray, width: int, height: int) -> np.ndarray:
    """The inverse of RetinaFace's box decoding, for pixel box (x1, y1, x2, y2) on prior (cx, cy, w, h)."""
    x1, y1, x2, y2 = box
    cx, cy, bw, bh = (x1 + x2) / 2 / width, (y1 + y2) / 2 / height, (x2 - x1) / width, (y2 - y1) / height
    return np.array([(cx - prior[0]) / (0.1 * prior[2]), (cy - prior[1]) / (0.1 * prior[3]),
                     math.log(bw / prior[2]) / 0.2, math.log(bh / prior[3]) / 0.2], np.float32)


def encode_points(points: np.ndarray, prior: np.ndarray, width: int, height: int) -> np.ndarray:
    rel = points / np.array([width, height])
    return ((rel - prior[:2]) / (0.1 * prior[2:])).astype(np.float32).reshape(-1)


def nearest_prior(priors: np.ndarray, box: tuple[float, float, float, float], anchor: int, width: int,
                  height: int) -> int:
    """Index of the anchor of size ``anchor`` px closest to the box centre (as training assigns them)."""
    cx, cy = (box[0] + box[2]) / 2 / width, (box[1] + box[3]) / 2 / height
    d = (priors[:, 0] - cx) ** 2 + (priors[:, 1] - cy) ** 2
    d[np.abs(priors[:, 2] * width - anchor) > 0.5] = np.inf
    return int(np.argmin(d))


def fake_retinaface(path: Path, loc: np.ndarray, conf: np.ndarray, landms: np.ndarray,
                    input_hw: tuple[int, int] | None = None) -> None:
    """Write a FAKE RetinaFace ONNX model: it ignores the pixels (multiplies their mean by 0) and
    answers the given raw outputs, as the real export's loc [1,N,4], conf [1,N,2], landms [1,N,10]."""
    h, w = input_hw or ("height", "width")
    inp = helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, h, w])
    nodes = [helper.make_node("ReduceMean", ["input"], ["mean"], keepdims=0),
             helper.make_node("Mul", ["mean", "zero"], ["nothing"])]
    inits = [numpy_helper.from_array(np.zeros((), np.float32), "zero")]
    outs = []
    # Named as exports name them (only the first has a chosen name), in the export's order.
    for name, arr in (("output0", loc), ("586", conf), ("585", landms)):
        inits.append(numpy_helper.from_array(arr[None].astype(np.float32), f"{name}_value"))
        nodes.append(helper.make_node("Add", [f"{name}_value", "nothing"], [name]))
        outs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, arr.shape[0], arr.shape[1]]))
    graph = helper.make_graph(nodes, "fake_retinaface", [inp], outs, initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def fake_outputs(height: int, width: int, faces: list[dict], logits: bool = False):
    """Raw outputs encoding ``faces`` (each: box, score, anchor, optional points) on every other
    anchor a confident 'no face'."""
    priors = loop_priors(height, width)
    n = len(priors)
    loc, landms = np.zeros((n, 4), np.float32), np.zeros((n, 10), np.float32)
    conf = np.tile(np.array([0.999, 0.001], np.float32), (n, 1))
    for f in faces:
        i = nearest_prior(priors, f["box"], f["anchor"], width, height)
        loc[i] = encode_box(f["box"], priors[i], width, height)
        conf[i] = (1 - f["score"], f["score"])
        if "points" in f:
            landms[i] = encode_points(np.asarray(f["points"], np.float64), priors[i], width, height)
    if logits:  # an export without its final softmax: log-probabilities are valid logits
        conf = np.log(conf)
    return loc, conf, landms


@pytest.fixture
def fake_models_dir(monkeypatch, tmp_path) -> Path:
    monkeypatch.setenv("CHECKER_MODELS_DIR", str(tmp_path))
    return tmp_path


POINTS_A = [(160.0, 170.0), (240.0, 172.0), (200.0, 220.0), (170.0, 275.0), (232.0, 276.0)]


def test_fake_retinaface_boxes_are_decoded_thresholded_and_suppressed(fake_models_dir):
    # A 640 x 480 photo is fed as is (640 = MAX_SIDE, both sides multiples of 32).
    face_a = {"box": (100.0, 80.0, 300.0, 330.0), "score": 0.99, "anchor": 256, "points": POINTS_A}
    twin_a = {"box": (108.0, 86.0, 306.0, 338.0), "score": 0.90, "anchor": 128}  # IoU 0.89 with A: suppressed
    face_b = {"box": (450.0, 200.0, 510.0, 270.0), "score": 0.95, "anchor": 64}
    weak = {"box": (20.0, 20.0, 60.0, 70.0), "score": 0.5, "anchor": 32}  # under the 0.8 threshold
    fake_retinaface(fake_models_dir / "retinaface-resnet50.onnx", *fake_outputs(480, 640, [face_a, twin_a, face_b,
                                                                                             weak]))
    faces = fd.RetinaFaceDetector().detect(np.zeros((480, 640, 3), np.uint8))  # the fake ignores pixels
    assert len(faces) == 2
    a, b = faces
    np.testing.assert_allclose([a.x, a.y, a.x + a.w, a.y + a.h], face_a["box"], atol=1e-2)
    np.testing.assert_allclose([b.x, b.y, b.x + b.w, b.y + b.h], face_b["box"], atol=1e-2)
    assert a.score == pytest.approx(0.99, abs=1e-5) and b.score == pytest.approx(0.95, abs=1e-5)
    np.testing.assert_allclose(a.keypoints, POINTS_A, atol=1e-2)


def test_fake_fixed_size_export_with_logits_maps_boxes_back_to_the_photo(fake_models_dir):
    # A 320 x 320 export: a 1280 x 960 photo is shrunk by 4 (to 320 x 240) and padded below.
    face = {"box": (40.0, 30.0, 120.0, 130.0), "score": 0.97, "anchor": 128, "points": np.array(POINTS_A) / 2.5}
    fake_retinaface(fake_models_dir / "retinaface-resnet50.onnx", *fake_outputs(320, 320, [face], logits=True),
                    input_hw=(320, 320))
    (got,) = fd.RetinaFaceDetector().detect(np.zeros((960, 1280, 3), np.uint8))
    np.testing.assert_allclose([got.x, got.y, got.x + got.w, got.y + got.h], np.array(face["box"]) * 4, atol=0.05)
    assert got.score == pytest.approx(0.97, abs=1e-4)
    np.testing.assert_allclose(got.keypoints, np.array(POINTS_A) / 2.5 * 4, atol=0.05)


def test_a_model_whose_outputs_do_not_fit_the_anchors_is_model_unavailable(fake_models_dir):
    fake_retinaface(fake_models_dir / "retinaface-resnet50.onnx", *fake_outputs(480, 640, []))
    with pytest.raises(CheckerError) as info:
        fd.RetinaFaceDetector().detect(np.zeros((320, 320, 3), np.uint8))  # 4200 anchors, not 12600
    assert info.value.status == "MODEL_UNAVAILABLE" and "anchors" in info.value.message


def test_retinaface_without_its_weights_is_model_unavailable(monkeypatch, tmp_path, face_rgb):
    monkeypatch.setenv("CHECKER_MODELS_DIR", str(tmp_path))
    for build in (fd.RetinaFaceDetector, lambda: models.get("retinaface-resnet50")):
        with pytest.raises(CheckerError) as info:
            build()
        assert info.value.status == "MODEL_UNAVAILABLE" and "retinaface-resnet50.onnx is missing" in info.value.message
    monkeypatch.delenv("CHECKER_MODELS_DIR")
    a = Analysis(photo_of(face_rgb("hivision_test3.jpg")), face_detector="retinaface-resnet50")
    with pytest.raises(CheckerError) as info:
        a.faces  # noqa: B018
    assert info.value.status == "MODEL_UNAVAILABLE" and "CHECKER_MODELS_DIR" in info.value.message


# --- Face++ against a fake Face++ server ---------------------------------------------------------------


class FakeFacePP(BaseHTTPRequestHandler):
    """Answers as Face++'s /facepp/v3/detect does. Mode 'detect' finds the faces in the uploaded JPEG
    with the embedded detector and reports them as Face++ would; the other modes misbehave."""

    mode = "detect"
    status = 200
    body = b""
    seen: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        length = int(self.headers["Content-Length"])
        raw = self.rfile.read(length)
        msg = email.message_from_bytes(b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + raw,
                                       policy=email.policy.HTTP)
        fields = {p.get_param("name", header="content-disposition"): p.get_content() for p in msg.iter_parts()}
        type(self).seen.append(fields)
        if self.mode == "slow":
            time.sleep(1.5)  # past the client's timeout; it has gone, so nothing is written back
            return
        if self.mode == "detect":
            if fields.get("api_key") != "test-key" or fields.get("api_secret") != "test-secret":
                return self.answer(401, {"error_message": "AUTHENTICATION_ERROR", "request_id": "r1"})
            jpeg = np.frombuffer(base64.b64decode(fields["image_base64"]), np.uint8)
            rgb = cv2.cvtColor(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            faces = []
            for f in models.get("face_detector").detect(rgb):
                rect = {"top": round(f.y), "left": round(f.x), "width": round(f.w), "height": round(f.h)}
                eye_r, eye_l = f.keypoints[0], f.keypoints[1]  # image-left is the subject's right eye
                landmark = {"left_eye_center": pt(eye_l), "right_eye_center": pt(eye_r), "nose_tip": pt(f.keypoints[2]),
                            "mouth_left_corner": pt(f.keypoints[3] + (6, 0)),
                            "mouth_right_corner": pt(f.keypoints[3] - (6, 0))}
                faces.append({"face_token": "t", "face_rectangle": rect, "landmark": landmark})
            # Face++ lists faces by its own order, not by size.
            return self.answer(200, {"request_id": "r2", "time_used": 40, "faces": faces[::-1], "image_id": "i",
                                     "face_num": len(faces)})
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def answer(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


def pt(xy) -> dict:
    return {"x": round(float(xy[0])), "y": round(float(xy[1]))}


@pytest.fixture
def facepp(monkeypatch) -> Iterator[type[FakeFacePP]]:
    handler = type("Handler", (FakeFacePP,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CHECKER_FACEPP_KEY", "test-key")
    monkeypatch.setenv("CHECKER_FACEPP_SECRET", "test-secret")
    monkeypatch.setenv("CHECKER_FACEPP_URL", f"http://127.0.0.1:{server.server_port}/facepp/v3/detect")
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


def test_facepp_faces_come_back_in_photo_pixels_largest_first(facepp, face_rgb):
    rgb = face_rgb("two_people.jpg")
    faces = fd.FacePlusPlusDetector().detect(rgb)
    refs = reference_faces(rgb)
    assert len(faces) == 2 and faces[0].w * faces[0].h >= faces[1].w * faces[1].h
    for face, ref in zip(faces, refs, strict=True):
        assert iou(face, ref) > 0.9  # the same faces, through a JPEG round trip
        assert face.score == 1.0
        assert face.keypoints[0][0] < face.keypoints[1][0] and face.keypoints[3][0] < face.keypoints[4][0]
    (sent,) = facepp.seen
    assert sent["api_key"] == "test-key" and sent["return_landmark"] == "1"
    jpeg = base64.b64decode(sent["image_base64"])
    assert jpeg[:3] == b"\xff\xd8\xff" and cv2.imdecode(np.frombuffer(jpeg, np.uint8), 0).shape == rgb.shape[:2]


def test_facepp_uploads_stay_under_2_mb_and_boxes_map_back(facepp, face_rgb):
    # A 3640 x 4548 noisy photo is several MB as a JPEG: it goes smaller and the boxes come back scaled.
    rgb = tf.noise(cv2.resize(face_rgb("obama.jpg"), None, fx=4, fy=4, interpolation=cv2.INTER_LINEAR), 12)
    rgb = rgb[:4096]
    (face,) = fd.FacePlusPlusDetector().detect(rgb)
    sent = base64.b64decode(facepp.seen[0]["image_base64"])
    assert len(sent) <= 2_000_000
    assert cv2.imdecode(np.frombuffer(sent, np.uint8), 0).shape[0] < 4096
    (ref,) = reference_faces(face_rgb("obama.jpg"))
    assert iou(face, FaceBox(ref.x * 4, ref.y * 4, ref.w * 4, ref.h * 4, 1.0)) > 0.8


def test_facepp_through_the_analysis(facepp, face_rgb):
    a = Analysis(photo_of(face_rgb("hivision_idphoto_1.jpg")), face_detector="face_plusplus")
    assert a.face_count == 1 and a.mesh.shape == (478, 3)


def test_facepp_without_keys_says_which_variables_to_set(monkeypatch, face_rgb):
    monkeypatch.delenv("CHECKER_FACEPP_KEY", raising=False)
    monkeypatch.setenv("CHECKER_FACEPP_SECRET", "s")
    with pytest.raises(CheckerError) as info:
        fd.FacePlusPlusDetector().detect(face_rgb("astronaut.png"))
    assert info.value.status == "MODEL_UNAVAILABLE" and info.value.http == 400
    assert "CHECKER_FACEPP_KEY" in info.value.message and "CHECKER_FACEPP_SECRET" in info.value.message


@pytest.mark.parametrize("status, body, words", [
    (401, b'{"error_message": "AUTHENTICATION_ERROR", "request_id": "x"}', ["401", "AUTHENTICATION_ERROR"]),
    (403, b'{"error_message": "CONCURRENCY_LIMIT_EXCEEDED"}', ["403", "CONCURRENCY_LIMIT_EXCEEDED"]),
    (500, b"<html>gateway</html>", ["500"]),
    (200, b"<html>not json</html>", ["not JSON"]),
    (200, b'{"error_message": "INVALID_IMAGE_SIZE: image_base64"}', ["INVALID_IMAGE_SIZE"]),
    (200, b'{"faces": [{"face_rectangle": {"top": 1}}]}', ["face_rectangle"]),
    (200, b'{"request_id": "x"}', ["faces"]),
])
def test_facepp_errors_are_a_clear_bad_gateway(facepp, face_rgb, status, body, words):
    facepp.mode, facepp.status, facepp.body = "canned", status, body
    with pytest.raises(CheckerError) as info:
        fd.FacePlusPlusDetector().detect(face_rgb("astronaut.png"))
    err = info.value
    assert err.status == "REMOTE_DETECTOR_ERROR" and err.http == 502
    assert all(w in err.message for w in words), err.message
    assert "test-secret" not in err.message


def test_facepp_answers_over_the_size_cap_are_refused(facepp, face_rgb, monkeypatch):
    facepp.mode, facepp.status, facepp.body = "canned", 200, b'{"faces": []}' + b" " * 5000
    monkeypatch.setattr(fd.FacePlusPlusDetector, "MAX_RESPONSE", 4096)
    with pytest.raises(CheckerError) as info:
        fd.FacePlusPlusDetector().detect(face_rgb("astronaut.png"))
    assert info.value.status == "REMOTE_DETECTOR_ERROR" and "4096 bytes" in info.value.message


def test_facepp_timeouts_and_unreachable_hosts_are_a_clear_bad_gateway(facepp, face_rgb, monkeypatch):
    facepp.mode = "slow"
    monkeypatch.setattr(fd.FacePlusPlusDetector, "TIMEOUT", 0.3)
    start = time.perf_counter()
    with pytest.raises(CheckerError) as info:
        fd.FacePlusPlusDetector().detect(face_rgb("astronaut.png"))
    assert time.perf_counter() - start < 1.2
    assert info.value.status == "REMOTE_DETECTOR_ERROR" and "did not answer" in info.value.message

    closed = ThreadingHTTPServer(("127.0.0.1", 0), FakeFacePP)
    port = closed.server_port
    closed.server_close()  # nothing listens there now
    monkeypatch.setenv("CHECKER_FACEPP_URL", f"http://127.0.0.1:{port}/facepp/v3/detect")
    with pytest.raises(CheckerError) as info:
        fd.FacePlusPlusDetector().detect(face_rgb("astronaut.png"))
    assert info.value.status == "REMOTE_DETECTOR_ERROR" and f"127.0.0.1:{port}" in info.value.message


def test_every_face_detect_model_value_names_a_registered_detector():
    models._import_backends()
    for value, name in models.FACE_DETECTORS.items():
        assert name in models._REGISTRY, value
