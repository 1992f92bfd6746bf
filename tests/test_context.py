"""The Analysis context computes each artefact once, and only when a detector needs it; a failing
detector costs only its own checks."""

from __future__ import annotations

import pytest

import checker
from checker import detectors, models
from checker.errors import CheckerError

from .conftest import ROOT


class Counting:
    """Wraps a model method and counts its calls."""

    def __init__(self, monkeypatch, model_name: str, method: str) -> None:
        self.calls = 0
        model = models.get(model_name)
        original = getattr(model, method)

        def counted(*a, **k):
            self.calls += 1
            return original(*a, **k)

        monkeypatch.setattr(model, method, counted)


def test_each_model_runs_once_per_check_and_the_pose_model_only_when_asked(monkeypatch, face_bytes):
    data = face_bytes("hivision_idphoto_2.jpg")
    det = Counting(monkeypatch, "face_detector", "detect")
    mesh = Counting(monkeypatch, "face_landmarker", "analyse")
    seg = Counting(monkeypatch, "person_segmenter", "mask")
    pose = Counting(monkeypatch, "pose", "landmarks")
    checker.check(data, 1102)
    assert (det.calls, mesh.calls, seg.calls, pose.calls) == (1, 1, 1, 0)
    checker.check(data, 1102, body_posture=50)
    assert (det.calls, mesh.calls, seg.calls, pose.calls) == (2, 2, 2, 1)


def test_a_failing_detector_costs_only_its_own_checks(monkeypatch, face_bytes):
    det = detectors._BY_MEASURE["sight_line"]

    def broken(a):
        raise RuntimeError("simulated crash")

    monkeypatch.setitem(detectors._BY_MEASURE, "sight_line", detectors.Detector(det.name, det.produces, broken))
    report = checker.check(face_bytes("hivision_idphoto_2.jpg"), 1102)
    (row,) = [n for n in report["not_check_result"] if n["check_param"] == "sight_line"]
    assert "simulated crash" in row["param_message"]
    assert report["result"]["sight_line"] == 0 and report["check_result"] == 0
    assert report["result"]["head_length"] == 1 and report["result"]["headpose_roll"] == 1


def test_unknown_model_names_fail_loudly():
    with pytest.raises(CheckerError) as info:
        models.get("no-such-model")
    assert info.value.status == "MODEL_UNAVAILABLE" and "face_landmarker" in info.value.message


def test_an_analysis_is_freed_without_the_cycle_collector(face_rgb):
    """Detectors must not make reference cycles through the Analysis: a cycle keeps a request's
    arrays alive until a full garbage collection, and a server's memory creeps up meanwhile."""
    import gc
    import weakref

    from checker.pipeline import run_check
    from checker.specs import load_spec

    from .conftest import photo_of

    photo = photo_of(face_rgb("hivision_idphoto_2.jpg"))
    gc.collect()
    gc.disable()
    try:
        from checker.context import Analysis

        a = Analysis(photo)
        run_check(photo, load_spec(1102), {"body_posture": 50, "glasses": 50, "head_pose": 50}, analysis=a)
        ref = weakref.ref(a)
        del a
        assert ref() is None, "something the detectors cached refers back to the Analysis"
    finally:
        gc.enable()


def test_no_detector_imports_another_detector_module():
    # Shared views live in checker/views.py (and on the Analysis); a detector module stands alone.
    import ast

    folder = ROOT / "checker" / "detectors"
    modules = {p.stem for p in folder.glob("*.py")} - {"__init__"}
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                names = {node.module} if node.module else {a.name for a in node.names}
                assert not names & modules, (path.name, names & modules)
