"""The one generation pipeline: fix, seed 000's /idphoto and `idphoto crop` run the same Creator; its
framing stage is swappable and found by name; what it knows is wrong with its output it names."""

from __future__ import annotations

import numpy as np
import pytest

import checker
from checker.errors import CheckerError
from checker.generate import creator, crop
from checker.imaging import load_photo

from .conftest import analysis_of


def test_framing_stages_are_found_by_name_and_unknown_names_fail_loudly():
    assert isinstance(creator.framing("ratios", head_measure_ratio=0.3), creator.RatioFraming)
    assert isinstance(creator.framing("spec", windows=crop.Windows(head=(200, 250))), creator.SpecFraming)
    with pytest.raises(CheckerError) as info:
        creator.framing("golden-ratio")
    assert info.value.status == "INVALID_ARGUMENT" and "ratios" in info.value.message


class FixedFraming:
    """A fake framing stage (for this test only): the whole photo at half size, top-left."""

    def __init__(self) -> None:
        self.calls = 0

    def place(self, s: crop.Subject, width: int, height: int) -> crop.Placement:
        self.calls += 1
        return crop.Placement(0.5, 0.0, 0.0, width, height)


def test_a_swapped_framing_stage_is_the_one_that_frames(face_bytes):
    stage = FixedFraming()
    made = creator.Creator(stage, align=False).create(load_photo(face_bytes("hivision_idphoto_2.jpg")), 200, 300)
    assert stage.calls == 1 and made.placement == crop.Placement(0.5, 0.0, 0.0, 200, 300)
    assert made.standard.shape == (300, 200, 4)
    # The real person, matted, at half size: found again in the output, its eye line lands where the fake
    # stage put it.
    assert made.standard[:, :, 3].max() == 255
    a = made.standard[:, :, 3:].astype(np.float32) / 255
    shown = (made.standard[:, :, :3] * a + 255 * (1 - a)).astype(np.uint8)
    assert analysis_of(shown).eye_mid[1] == pytest.approx(0.5 * made.subject.eye_y, abs=3)


def test_fix_idphoto_and_crop_all_run_the_one_creator(face_bytes, monkeypatch):
    seen: list[str] = []
    real = creator.Creator.create

    def spy(self, photo, width, height, analysis=None):
        seen.append(type(self.framing).__name__)
        return real(self, photo, width, height, analysis=analysis)

    monkeypatch.setattr(creator.Creator, "create", spy)
    data = face_bytes("hivision_idphoto_2.jpg")
    checker.fix(data, "us-passport")
    checker.idphoto(data)
    checker.crop(data, "us-passport")
    checker.crop(data, width=295, height=413)
    assert seen == ["SpecFraming", "RatioFraming", "SpecFraming", "RatioFraming"]


def test_frame_problems_name_a_floating_body_and_the_photos_edge(face_rgb):
    rgb = face_rgb("hivision_idphoto_2.jpg")
    a = analysis_of(rgb)
    s = crop.subject_from(a, a.person_mask)
    h, w = s.alpha.shape
    # Half size, centred, the photo's bottom 60 px above the frame's: the body floats.
    floating = crop.Placement(0.5, 150 - 0.5 * s.face_cx, 600 - 60 - 0.5 * h, 300, 600)
    assert [p.reason for p in creator.frame_problems(s, floating)] == ["BODY_ENDS_ABOVE_FRAME"]
    # The photo's top 80 px below the frame's top, through the hair: the cut shows.
    s_cut = crop.subject_from(a, np.vstack([np.ones((1, w), np.float32), a.person_mask[1:]]))
    high = crop.Placement(1.0, 0.0, 80.0, w, h)
    reasons = {p.reason: p for p in creator.frame_problems(s_cut, high)}
    assert "PHOTO_EDGE_IN_FRAME" in reasons and "top" in reasons["PHOTO_EDGE_IN_FRAME"].message
    # The same framing of the uncut matte: nothing of the person touches the photo's top edge.
    assert "PHOTO_EDGE_IN_FRAME" not in {p.reason for p in creator.frame_problems(s, high)}


def test_idphoto_carries_the_problems_it_knows_of(face_rgb):
    from .conftest import encode

    rgb = face_rgb("hivision_idphoto_2.jpg")
    a = analysis_of(rgb)
    short = np.ascontiguousarray(rgb[: int(a.chin_y + 0.3 * a.face_width)])
    made = checker.idphoto(encode(short), width=295, height=413, head_measure_ratio=0.1)
    assert "BODY_ENDS_ABOVE_FRAME" in {p.reason for p in made.problems}


def test_one_model_registry_serves_face_detectors_and_matting():
    """The matting backends are models of the same registry as the face detectors: the same get(), the
    same instance, the same loud failure for an unknown name."""
    from checker import models
    from checker.generate import matting

    assert matting.backend("embedded") is models.get(models.MATTING["embedded"])
    assert models.face_detector_for("mtcnn") == "mtcnn" and models.MATTING["rmbg-1.4"] == "matting:rmbg-1.4"
    with pytest.raises(CheckerError) as info:
        models.get("matting:photoshop")
    assert info.value.status == "MODEL_UNAVAILABLE" and "matting:embedded" in info.value.message
