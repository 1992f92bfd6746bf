"""MTCNN face detection (Zhang, Zhang, Li and Qiao, 2016: a cascade of three small networks, P-, R- and
O-Net) on onnxruntime, written here around the three ONNX graphs of the mtcnn-runtime 1.0.0 wheel
(``mtcnn_pnet``, ``mtcnn_rnet``, ``mtcnn_onet`` in :mod:`.files`; the package itself is not installed,
so neither its code nor the opencv-python it declares is used).

What the graphs take and give (read from the graphs, and checked on the photos in ../shared/faces):

- input: N x 3 x H x W float32, RGB, ``(v - 127.5) / 128``;
- P-Net is fully convolutional: for each 12 x 12 window at a stride of 2 it gives four box offsets
  (1 x 4 x h x w) and softmaxed (not face, face) probabilities (1 x 2 x h x w);
- R-Net takes 24 x 24 crops: offsets (N x 4) and probabilities (N x 2);
- O-Net takes 48 x 48 crops: five points (N x 10, the five x then the five y, as fractions of the
  crop), offsets (N x 4) and probabilities (N x 2).

Boxes are inclusive pixel ranges ``x1, y1, x2, y2`` (the width is ``x2 - x1 + 1``), the convention the
networks were trained with; offsets are fractions of that width and height. Outputs are told apart
by their widths (4, 2, 10), not by their names.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from . import files

CELL = 12  # P-Net's window, in pixels of a pyramid level
STRIDE = 2  # P-Net's step between windows
PYRAMID_STEP = math.sqrt(0.5)  # each pyramid level has half the pixels of the one before
NMS_LEVEL = 0.5  # overlap (IoU) above which P-Net windows of one pyramid level are merged
NMS_UNION = (0.7, 0.7)  # after P-Net (all levels) and after R-Net
NMS_FINAL = 0.7  # after O-Net, overlap over the smaller box (a face inside a bigger box is one face)


@dataclass(frozen=True)
class Faces:
    """The cascade's answer: ``boxes`` N x 4 inclusive (x1, y1, x2, y2), ``scores`` N, ``points`` N x 5 x 2
    (image-left eye, image-right eye, nose tip, image-left and image-right mouth corner)."""

    boxes: np.ndarray
    scores: np.ndarray
    points: np.ndarray


def _blob(images: np.ndarray) -> np.ndarray:
    """N x H x W x 3 (uint8 RGB) -> N x 3 x H x W float32, normalised as the networks expect."""
    return np.ascontiguousarray(((images.astype(np.float32) - 127.5) / 128.0).transpose(0, 3, 1, 2))


def pyramid(height: int, width: int, min_face: float) -> list[float]:
    """The scale factors of the image pyramid: the first maps a ``min_face`` face onto P-Net's 12 px
    window, each next one is PYRAMID_STEP smaller, down to the level whose short side is 12 px."""
    scales = []
    scale = CELL / min_face
    while min(height, width) * scale >= CELL:
        scales.append(scale)
        scale *= PYRAMID_STEP
    return scales


def sizes(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Widths and heights of inclusive boxes."""
    return boxes[:, 2] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 1] + 1


def nms(boxes: np.ndarray, scores: np.ndarray, threshold: float, over_smaller: bool = False) -> np.ndarray:
    """Indices of the boxes kept by greedy non-maximum suppression, best score first: a box is dropped
    when its overlap with a better kept one exceeds ``threshold``. Overlap is intersection over union,
    or over the smaller box's area when ``over_smaller``."""
    w, h = sizes(boxes)
    areas = w * h
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        iw = np.minimum(boxes[best, 2], boxes[rest, 2]) - np.maximum(boxes[best, 0], boxes[rest, 0]) + 1
        ih = np.minimum(boxes[best, 3], boxes[rest, 3]) - np.maximum(boxes[best, 1], boxes[rest, 1]) + 1
        inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
        if over_smaller:
            overlap = inter / np.minimum(areas[best], areas[rest])
        else:
            overlap = inter / (areas[best] + areas[rest] - inter)
        order = rest[overlap <= threshold]
    return np.asarray(keep, dtype=np.intp)


def refine(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Boxes moved by a network's offsets (fractions of each box's width and height)."""
    w, h = sizes(boxes)
    return boxes + offsets * np.stack([w, h, w, h], axis=1)


def squared(boxes: np.ndarray) -> np.ndarray:
    """Each box made square about its centre (side: its longer side), corners rounded to pixels."""
    w, h = sizes(boxes)
    side = np.maximum(w, h)
    x1 = boxes[:, 0] + (w - side) / 2
    y1 = boxes[:, 1] + (h - side) / 2
    return np.round(np.stack([x1, y1, x1 + side - 1, y1 + side - 1], axis=1))


def usable(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Mask of the boxes worth cropping: at least 2 px each way and overlapping the image."""
    w, h = sizes(boxes)
    return ((w >= 2) & (h >= 2) & (boxes[:, 0] < width) & (boxes[:, 1] < height)
            & (boxes[:, 2] >= 0) & (boxes[:, 3] >= 0))


def crops(rgb: np.ndarray, boxes: np.ndarray, side: int) -> np.ndarray:
    """N x side x side x 3 uint8: each (integer) box cut out of ``rgb``, black where it leaves the image,
    shrunk or enlarged to ``side``."""
    height, width = rgb.shape[:2]
    out = np.zeros((len(boxes), side, side, 3), np.uint8)
    for k, (x1, y1, x2, y2) in enumerate(boxes.astype(np.int64)):
        patch = np.zeros((y2 - y1 + 1, x2 - x1 + 1, 3), np.uint8)
        cx1, cy1, cx2, cy2 = max(x1, 0), max(y1, 0), min(x2, width - 1), min(y2, height - 1)
        patch[cy1 - y1:cy2 - y1 + 1, cx1 - x1:cx2 - x1 + 1] = rgb[cy1:cy2 + 1, cx1:cx2 + 1]
        out[k] = cv2.resize(patch, (side, side), interpolation=cv2.INTER_AREA)
    return out


class Net:
    """One of the three graphs, its outputs named by their widths."""

    def __init__(self, name: str) -> None:
        self.session = files.onnx_session(name)  # MODEL_UNAVAILABLE when the file is missing
        self.input = self.session.get_inputs()[0].name
        self.outputs = {o.shape[1]: o.name for o in self.session.get_outputs()}

    def __call__(self, blob: np.ndarray) -> dict[int, np.ndarray]:
        names = list(self.outputs.values())
        got = self.session.run(names, {self.input: blob})  # onnxruntime's run() is thread-safe
        return dict(zip(self.outputs, got, strict=True))


class Mtcnn:
    """The three-stage cascade. Stateless between calls."""

    def __init__(self) -> None:
        self.pnet, self.rnet, self.onet = Net("mtcnn_pnet"), Net("mtcnn_rnet"), Net("mtcnn_onet")

    def detect(self, rgb: np.ndarray, min_face: float, thresholds: Sequence[float]) -> Faces:
        """Faces in ``rgb`` (H x W x 3 uint8 RGB) at least ``min_face`` px wide; ``thresholds`` are the
        face probabilities each stage needs."""
        none = Faces(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2)))
        height, width = rgb.shape[:2]
        boxes, scores = self._proposals(rgb, min_face, thresholds[0])
        if not len(boxes):
            return none
        boxes, scores = self._second_stage(rgb, boxes, thresholds[1])
        if not len(boxes):
            return none
        boxes = squared(boxes)
        keep = usable(boxes, height, width)
        boxes = boxes[keep]
        if not len(boxes):
            return none
        got = self.onet(_blob(crops(rgb, boxes, 48)))
        face = got[2][:, 1]
        keep = face > thresholds[2]
        boxes, scores, marks, offsets = boxes[keep], face[keep], got[10][keep], got[4][keep]
        w, h = sizes(boxes)
        points = np.stack([boxes[:, :1] + w[:, None] * marks[:, :5], boxes[:, 1:2] + h[:, None] * marks[:, 5:]],
                          axis=2)
        boxes = refine(boxes, offsets)
        keep = nms(boxes, scores, NMS_FINAL, over_smaller=True)
        return Faces(boxes[keep], scores[keep], points[keep])

    def _proposals(self, rgb: np.ndarray, min_face: float, threshold: float) -> tuple[np.ndarray, np.ndarray]:
        """P-Net over the pyramid: candidate boxes (refined by its offsets, squared) and their scores."""
        height, width = rgb.shape[:2]
        found_boxes, found_scores, found_offsets = [], [], []
        for scale in pyramid(height, width, min_face):
            size = (math.ceil(width * scale), math.ceil(height * scale))
            level = cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR)
            got = self.pnet(_blob(level[None]))
            face = got[2][0, 1]
            rows, cols = np.nonzero(face > threshold)
            if not rows.size:
                continue
            # Window (col, row) covers level pixels [STRIDE*col, STRIDE*col + CELL - 1]; back in the photo:
            x1, y1 = np.round(STRIDE * cols / scale), np.round(STRIDE * rows / scale)
            x2, y2 = np.round((STRIDE * cols + CELL) / scale) - 1, np.round((STRIDE * rows + CELL) / scale) - 1
            boxes = np.stack([x1, y1, x2, y2], axis=1)
            scores = face[rows, cols]
            offsets = got[4][0][:, rows, cols].T
            keep = nms(boxes, scores, NMS_LEVEL)
            found_boxes.append(boxes[keep])
            found_scores.append(scores[keep])
            found_offsets.append(offsets[keep])
        if not found_boxes:
            return np.zeros((0, 4)), np.zeros(0)
        boxes, scores = np.concatenate(found_boxes), np.concatenate(found_scores)
        keep = nms(boxes, scores, NMS_UNION[0])  # windows are merged, then moved by their offsets
        boxes, scores = squared(refine(boxes[keep], np.concatenate(found_offsets)[keep])), scores[keep]
        ok = usable(boxes, height, width)
        return boxes[ok], scores[ok]

    def _second_stage(self, rgb: np.ndarray, boxes: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
        """R-Net on the proposals: those it scores above ``threshold``, merged, then refined."""
        got = self.rnet(_blob(crops(rgb, boxes, 24)))
        face = got[2][:, 1]
        keep = face > threshold
        boxes, scores, offsets = boxes[keep], face[keep], got[4][keep]
        keep = nms(boxes, scores, NMS_UNION[1])
        return refine(boxes[keep], offsets[keep]), scores[keep]
