"""Body analysis for seed 003's ``mattingAndAnalysis``: per person, 21 named body parts as
``{score, x, y}`` (pixels) and a bounding box ``{score, top, left, width, height}``.

Face points (eyes, nose, mouth corners) come from the face mesh where a face is found, since it is
far more precise on a portrait; the rest come from the body-pose model. "left" and "right" are the
person's own, as in the seed's example (a frontal face has its left eye on the image's right).
The pose model sees one person per image, so with several faces it runs on a crop around each.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from . import models
from .context import Analysis
from .models.types import FaceBox

# The seed's 21 names, in the order the answer lists them.
PARTS = ("top_head", "left_eye", "right_eye", "nose", "left_ear", "right_ear", "left_mouth_corner",
         "right_mouth_corner", "neck", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
         "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")

# BlazePose landmark indices (the model's left is the person's left).
POSE = {"nose": 0, "left_eye": 2, "right_eye": 5, "left_ear": 7, "right_ear": 8, "left_mouth_corner": 9,
        "right_mouth_corner": 10, "left_shoulder": 11, "right_shoulder": 12, "left_elbow": 13, "right_elbow": 14,
        "left_wrist": 15, "right_wrist": 16, "left_hip": 23, "right_hip": 24, "left_knee": 25, "right_knee": 26,
        "left_ankle": 27, "right_ankle": 28}
# Face-mesh landmarks for the face points (iris centres, nose tip, mouth corners).
MESH = {"left_eye": 473, "right_eye": 468, "nose": 1, "left_mouth_corner": 291, "right_mouth_corner": 61}
MESH_FOREHEAD, MESH_CHIN = 10, 152

# The pose crop around one face of several, in face widths / heights: people in group photos stand
# shoulder to shoulder, so a crop wider than this takes in a neighbour's body.
CROP_SIDE, CROP_UP = 2.2, 1.0


def analyse(a: Analysis) -> dict[str, Any]:
    """``{"person_num": n, "person_info": [...]}`` for everyone in the photo, largest face first."""
    faces = list(a.faces)
    people: list[dict[str, Any]] = []
    if not faces:
        pose = _pose(a.rgb, (0, 0))  # a person seen from behind, or too small for the face detector
        if pose is not None:
            people.append(_person(a, None, pose))
    elif len(faces) == 1:
        people.append(_person(a, faces[0], _pose_of(a.rgb, faces[0], whole=True)))
    else:
        for face in faces:
            people.append(_person(a, face, _pose_of(a.rgb, face), clip=_crop(face, a.rgb.shape, CROP_SIDE)[::2]))
    return {"person_num": len(people), "person_info": people}


def _pose(rgb: np.ndarray, offset: tuple[int, int]) -> np.ndarray | None:
    pts = models.get("pose").landmarks(np.ascontiguousarray(rgb))
    if pts is not None:
        pts = pts.copy()
        pts[:, 0] += offset[0]
        pts[:, 1] += offset[1]
    return pts


def _pose_of(rgb: np.ndarray, face: FaceBox, whole: bool = False) -> np.ndarray | None:
    """The body pose that belongs to ``face``: the pose model follows one person, not necessarily
    the one whose face we mean, so its nose must land in the face box; narrower crops are tried
    before giving up (body parts then score 0 rather than belong to a neighbour)."""
    attempts = ([None] if whole else []) + [CROP_SIDE, CROP_SIDE / 2]
    for side in attempts:
        if side is None:
            pose = _pose(rgb, (0, 0))
        else:
            x0, y0, x1, y1 = _crop(face, rgb.shape, side)
            pose = _pose(rgb[y0:y1, x0:x1], (x0, y0))
        if pose is not None and _inside(pose[POSE["nose"], :2], face):
            return pose
    return None


def _inside(point: np.ndarray, face: FaceBox) -> bool:
    return face.x <= point[0] <= face.x + face.w and face.y <= point[1] <= face.y + face.h


def _crop(face: FaceBox, shape: tuple[int, ...], side: float) -> tuple[int, int, int, int]:
    h, w = shape[:2]
    cx = face.x + face.w / 2
    x0, x1 = int(max(0, cx - side * face.w)), int(min(w, cx + side * face.w))
    y0 = int(max(0, face.y - CROP_UP * face.h))
    return x0, y0, x1, h


def _point(x: float, y: float, score: float, shape: tuple[int, ...]) -> dict[str, float]:
    h, w = shape[:2]
    # The pose model also guesses joints outside the frame (with a low score); keep them on the image.
    return {"score": round(float(score), 4), "x": round(float(np.clip(x, 0, w - 1)), 2),
            "y": round(float(np.clip(y, 0, h - 1)), 2)}


def _person(a: Analysis, face: FaceBox | None, pose: np.ndarray | None,
            clip: tuple[int, int] | None = None) -> dict[str, Any]:
    shape = a.rgb.shape
    mesh = models.get("face_landmarker").landmarks(a.rgb, face) if face is not None else None
    parts: dict[str, dict[str, float]] = {}
    for name, index in POSE.items():
        if mesh is not None and face is not None and name in MESH:
            x, y = mesh[MESH[name], :2]
            parts[name] = _point(x, y, face.score, shape)
        elif pose is not None:
            x, y, _, vis = pose[index]
            parts[name] = _point(x, y, vis, shape)
        else:
            parts[name] = _point(0, 0, 0.0, shape)
    parts["top_head"] = _top_head(a, face, mesh, parts)
    parts["neck"] = _neck(mesh, pose, parts, shape)
    return {"body_parts": {name: parts[name] for name in PARTS}, "location": _location(a, face, parts, clip)}


def _top_head(a: Analysis, face: FaceBox | None, mesh: np.ndarray | None,
              parts: dict[str, dict[str, float]]) -> dict[str, float]:
    """The top of the hair above the face: the first person-mask row in a band the face's width
    (a low percentile over the band, so one stray hair does not lift it)."""
    shape = a.rgb.shape
    if face is None:
        nose, eye_l, eye_r = parts["nose"], parts["left_eye"], parts["right_eye"]
        span = abs(eye_l["x"] - eye_r["x"]) * 2.5
        cx, y_face, score = nose["x"], nose["y"], min(nose["score"], eye_l["score"])
    else:
        span, cx, y_face, score = face.w, face.x + face.w / 2, face.y, face.score
    if mesh is not None:
        cx = float(mesh[MESH_FOREHEAD, 0])
        y_face = float(mesh[MESH_FOREHEAD, 1])
    person = a.person
    x0, x1 = int(max(0, cx - span / 4)), int(min(shape[1], cx + span / 4))
    y0, y1 = int(max(0, y_face - 1.5 * span)), int(min(shape[0], max(y_face, 1)))
    band = person[y0:y1, x0:x1]
    if band.size == 0 or not band.any():
        return _point(cx, y_face, 0.0, shape)
    has = band.any(axis=0)
    tops = np.argmax(band, axis=0)[has]
    return _point(cx, y0 + float(np.percentile(tops, 10)), score * float(has.mean()), shape)


def _neck(mesh: np.ndarray | None, pose: np.ndarray | None, parts: dict[str, dict[str, float]],
          shape: tuple[int, ...]) -> dict[str, float]:
    """Halfway between the chin and the middle of the shoulders."""
    ls, rs = parts["left_shoulder"], parts["right_shoulder"]
    shoulders = np.array([(ls["x"] + rs["x"]) / 2, (ls["y"] + rs["y"]) / 2])
    score = min(ls["score"], rs["score"])
    if mesh is not None:
        chin = mesh[MESH_CHIN, :2]
    else:
        ml, mr = parts["left_mouth_corner"], parts["right_mouth_corner"]
        chin = np.array([(ml["x"] + mr["x"]) / 2, (ml["y"] + mr["y"]) / 2])
        score = min(score, ml["score"], mr["score"])
    if pose is None:
        return _point(chin[0], chin[1], 0.0, shape)
    x, y = (chin + shoulders) / 2
    return _point(x, y, score, shape)


def _location(a: Analysis, face: FaceBox | None, parts: dict[str, dict[str, float]],
              clip: tuple[int, int] | None) -> dict[str, float]:
    """The bounding box of the person mask's region around this person's head (within its crop
    when the photo has several faces)."""
    person = a.person
    if clip is not None:
        person = person.copy()
        person[:, : clip[0]] = False
        person[:, clip[1]:] = False
    _, labels = cv2.connectedComponents(person.astype(np.uint8), connectivity=8)
    seeds = [(parts[n]["x"], parts[n]["y"]) for n in ("nose", "top_head", "neck") if parts[n]["score"] > 0]
    ids = {int(labels[int(y), int(x)]) for x, y in seeds} - {0}
    if not ids:
        if face is None:
            return {"score": 0.0, "top": 0.0, "left": 0.0, "width": 0.0, "height": 0.0}
        return {"score": round(face.score, 4), "top": round(face.y, 2), "left": round(face.x, 2),
                "width": round(face.w, 2), "height": round(face.h, 2)}
    ys, xs = np.nonzero(np.isin(labels, list(ids)))
    score = face.score if face is not None else parts["nose"]["score"]
    return {"score": round(float(score), 4), "top": float(ys.min()), "left": float(xs.min()),
            "width": float(xs.max() - xs.min() + 1), "height": float(ys.max() - ys.min() + 1)}
