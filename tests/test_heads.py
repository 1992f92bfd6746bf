"""The learned heads of checker/heads: what they were trained on, and that they read what they should."""

from __future__ import annotations

import hashlib
import importlib.util

import numpy as np

from checker import heads

from .conftest import ROOT, analysis_of


def _train_tool():
    spec = importlib.util.spec_from_file_location("train_heads", ROOT / "tools" / "train_heads.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_smile_head_was_trained_on_the_train_split_of_this_manifest():
    head = heads.load("smile")
    manifest = (ROOT / "data" / "manifest.csv").read_bytes()
    # Retrain (tools/train_heads.py) whenever the manifest changes: the head must match what is listed.
    assert head.training["manifest_sha256"] == hashlib.sha256(manifest).hexdigest()
    assert head.training["split"] == "train" and head.training["positives"] >= 50
    assert len(head.features) == 52 and len(head.weights) == 52


def test_more_mouth_smile_means_a_more_likely_smile(face_rgb):
    shapes = dict(analysis_of(face_rgb("hivision_idphoto_2.jpg")).blendshapes)  # a neutral face
    head = heads.load("smile")
    ps = []
    for s in (0.0, 0.3, 0.6, 0.9):
        shapes["mouthSmileLeft"] = shapes["mouthSmileRight"] = s
        ps.append(head.probability(shapes))
    assert ps[0] < 0.5 < ps[-1] and all(b > a for a, b in zip(ps, ps[1:], strict=False)), ps


def test_the_fit_recovers_a_known_rule_and_is_deterministic():
    tool = _train_tool()
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 3))
    y = (x[:, 0] - 0.5 * x[:, 2] > 0).astype(float)  # known weights: +, 0, -
    w = tool.fit(x, y, lam=0.1)
    assert w[0] > 0 > w[2] and abs(w[1]) < 0.3 * abs(w[0])
    assert np.array_equal(w, tool.fit(x, y, lam=0.1))
    assert tool.cross_validated(x, y, 0.1) > 0.9
