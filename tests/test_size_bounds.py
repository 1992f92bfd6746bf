"""Issue 12 item 1: no size parameter can make the framing allocate gigabytes.

``/api/fix -F face_width=1`` once asked the crop to shrink the person to a 1 px wide face, and the
same framing "at the source's resolution" (the HD photo) became a 75,649 x 105,908 px canvas: 22 GB.
Face windows the output frame cannot hold are now refused before any work, and the crop itself
bounds its canvas whatever placement it is handed. The sweeps here run under an address-space limit
(so a regression is a MemoryError, not the kernel killing the test run) and assert the peak of
numpy's allocations (tracemalloc sees them, and OpenCV's output arrays, which numpy allocates)."""

from __future__ import annotations

import io
import itertools
import resource
import tracemalloc
from contextlib import contextmanager

import numpy as np
import pytest

from checker.errors import CheckerError
from checker.generate import crop

from .conftest import analysis_of

MB = 1024 * 1024
PEAK_LIMIT = 400 * MB  # a 4096 x 4096 output (the largest allowed) needs about 250 MB


@contextmanager
def bounded_memory(headroom: int = 3 * 1024 * MB):
    """Address space limited to what is mapped now plus ``headroom`` (restored after): a blow-up
    fails fast with MemoryError instead of taking the machine's memory."""
    with open("/proc/self/status") as fh:
        vm = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = vm + headroom if hard == resource.RLIM_INFINITY else min(hard, vm + headroom)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def peak_of(fn, *args, **kwargs) -> int:
    """Peak bytes numpy (and OpenCV through numpy) held while ``fn(*args, **kwargs)`` ran."""
    tracemalloc.start()
    try:
        fn(*args, **kwargs)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def render_both(s: crop.Subject, p: crop.Placement) -> None:
    """The standard photo and the HD one, as fix and /idphoto render them."""
    out = crop.render(s, p)
    assert out.shape == (p.height, p.width, 4)
    crop.render(s, p.at_native(s.alpha.shape))


def frame_windows(s: crop.Subject, width: int, height: int, win: crop.Windows) -> None:
    p = crop.place_for_windows(s, width, height, win)
    assert p.scale > 0 and np.isfinite([p.scale, p.tx, p.ty]).all()
    render_both(s, p)


def frame_hivision(s: crop.Subject, width: int, height: int, **ratios: float) -> None:
    render_both(s, crop.place_hivision(s, width, height, **ratios))


@pytest.fixture(scope="module")
def subject(face_rgb):
    a = analysis_of(face_rgb("hivision_idphoto_2.jpg"))
    return crop.subject_from(a, a.person_mask)


# --- the reproducer, through the API ------------------------------------------------------------------
@pytest.fixture
def no_work(monkeypatch):
    """Any analysis of the photo fails the test: the answer must be decided before any work."""
    def refuse(*args, **kwargs):
        raise AssertionError("the photo was analysed for a request that should have been refused")

    monkeypatch.setattr("checker.autofix.Analysis", refuse)


@pytest.mark.parametrize(("fields", "named"), [
    ({"face_width": "1"}, "face_width"),  # the reproducer
    ({"max_face_width": "3"}, "face_width"),
    ({"min_face_width": "296"}, "face_width"),  # wider than the 295 px photo
    ({"min_face_width": "200", "max_face_width": "100"}, "face_width"),
    ({"face_height": "2"}, "face_height"),
    ({"min_face_height": "414"}, "face_height"),  # taller than the 413 px photo
    ({"head_top": "410"}, "head_top"),  # no room for a head below it
    ({"chin_top": "1"}, "chin_top"),
    ({"min_eyes_top": "414"}, "eyes_top"),
    ({"facial_width_max_p": "1"}, "facial_width"),  # the check API's threshold, passed through
    ({"head_length_max_p": "1"}, "head_length"),
])
def test_fix_refuses_face_windows_the_frame_cannot_hold(client, face_bytes, no_work, fields, named):
    data = {"spec_id": "1102", "file": (io.BytesIO(face_bytes("hivision_idphoto_2.jpg")), "p.jpg"), **fields}
    resp = client.post("/api/fix", data=data, content_type="multipart/form-data")
    body = resp.get_json()
    assert resp.status_code == 400 and body["status"] == "INVALID_ARGUMENT", body
    assert named in body["message"], body


def test_a_task_with_face_width_1_is_refused_at_creation(client, face_bytes, no_work):
    data = {"spec_id": "1102", "image_file": (io.BytesIO(face_bytes("hivision_idphoto_2.jpg")), "p.jpg"),
            "face_width": "1"}
    resp = client.post("/api/tasks/visual/external/idphoto", data=data, content_type="multipart/form-data")
    body = resp.get_json()
    assert resp.status_code == 400 and "face_width" in body["message"], body


def test_a_label_taller_than_half_the_photo_is_refused_before_any_work(client, face_bytes, no_work):
    data = {"spec_id": "1102", "file": (io.BytesIO(face_bytes("hivision_idphoto_2.jpg")), "p.jpg"),
            "add_label": "1", "label_text": "x", "label_height": "300"}
    resp = client.post("/api/fix", data=data, content_type="multipart/form-data")
    assert resp.status_code == 400 and "label_height" in resp.get_json()["message"]


def test_windows_the_frame_can_hold_still_pass():
    from checker.autofix import FixOptions, check_options
    from checker.specs import load_spec

    spec = load_spec(1102)
    for windows in ({"face_width": (30.0, 295.0)}, {"head": (41.0, 413.0)}, {"crown_gap": (0.0, 371.0)},
                    {"eyes_top": (1.0, 412.0)}, {"face_width": (None, 4096.0)}):
        assert check_options(spec, FixOptions(windows=windows)) == (295, 413)


# --- the crop's own bound, whatever it is handed --------------------------------------------------------
EXTREMES = [None, (0.0, 2.0), (1e-9, None), (None, 1.0), (4000.0, None), (1e6, 1e7)]


def test_windows_solver_and_render_stay_bounded_for_any_window(subject):
    sizes = [(9, 9), (295, 413), (1800, 9)]
    cases = list(itertools.product(sizes, EXTREMES, [(1e-9, 2e-9), (1e5, 1e6)], EXTREMES[:4]))
    worst = 0
    with bounded_memory():
        for (w, h), face, head, crown in cases:
            win = crop.Windows(head=head, face_width=face or (None, None), crown_gap=crown or (None, None))
            worst = max(worst, peak_of(frame_windows, subject, w, h, win))
    assert worst < PEAK_LIMIT, f"{worst / MB:.0f} MB"


def test_the_hd_canvas_is_bounded_by_the_source(subject):
    src_h, src_w = subject.alpha.shape
    for scale in (1e-9, 1e-4, 0.004, 0.1, 0.5, 0.99, 1.0, 7.0):
        p = crop.Placement(scale, 10.0, 10.0, 295, 413)
        hd = p.at_native(subject.alpha.shape)
        budget = max(295 * 413, crop.HD_SOURCE_FACTOR * src_w * src_h)
        assert hd.width * hd.height <= budget
        assert hd.width / hd.height == pytest.approx(295 / 413, abs=0.01)
        assert hd == p if scale >= 1 else scale <= hd.scale <= 1.0


def test_render_refuses_a_canvas_beyond_the_bound_instead_of_allocating_it(subject):
    for p in (crop.Placement(1.0, 0, 0, 100_000, 100_000), crop.Placement(0.0, 0, 0, 295, 413),
              crop.Placement(float("nan"), 0, 0, 295, 413), crop.Placement(1.0, float("inf"), 0, 295, 413),
              crop.Placement(1.0, 0, 0, 0, 413)):
        with bounded_memory(), pytest.raises(CheckerError):
            crop.render(subject, p)


def test_hivision_ratios_stay_bounded_at_every_extreme(subject):
    sizes = [(9, 9), (4096, 9), (9, 4096), (295, 413)]
    worst = 0
    with bounded_memory():
        for (w, h), measure, height_ratio, (top_min, top_max) in itertools.product(
                sizes, (0.01, 0.0100001, 0.5, 1.0), (0.0, 0.45, 1.0), ((0.0, 0.0), (0.0, 1.0), (1.0, 1.0))):
            worst = max(worst, peak_of(frame_hivision, subject, w, h, head_measure_ratio=measure,
                                       head_height_ratio=height_ratio, top_distance_min=top_min,
                                       top_distance_max=top_max))
    assert worst < PEAK_LIMIT, f"{worst / MB:.0f} MB"


def test_the_largest_output_stays_under_the_bound(subject):
    """4096 x 4096 px (the largest width/height allowed) at the smallest face ratio seed 000 allows."""
    with bounded_memory():
        assert peak_of(frame_hivision, subject, 4096, 4096, head_measure_ratio=0.01) < PEAK_LIMIT


def test_fix_with_the_smallest_face_the_frame_allows_is_bounded(face_bytes):
    """The smallest face width that passes the bound, end to end through the library."""
    from checker.autofix import FixOptions, fix
    from checker.imaging import load_photo
    from checker.specs import load_spec

    photo = load_photo(face_bytes("hivision_idphoto_2.jpg"))
    with bounded_memory():
        result = fix(photo, load_spec(1102), FixOptions(windows={"face_width": (29.5, 31.5)}))
    src_h, src_w = photo.rgb.shape[:2]
    assert result.hd.shape[0] * result.hd.shape[1] <= crop.HD_SOURCE_FACTOR * src_w * src_h * 1.01


# --- the other size parameters ----------------------------------------------------------------------
def _tiled_by_np_tile(mask: np.ndarray, space: int, shape: tuple[int, int], angle: float) -> np.ndarray:
    """The watermark pattern built the direct way (the whole tiling, then rotated): the reference
    for small inputs."""
    import cv2

    h, w = shape
    th, tw = mask.shape
    cell = np.zeros((th + space, tw + space), np.uint8)
    cell[:th, :tw] = mask
    pair = np.vstack([cell, np.roll(cell, (tw + space) // 2, axis=1)])
    side = int(np.ceil(np.hypot(h, w))) + 2 * max(pair.shape)
    big = np.tile(pair, (side // pair.shape[0] + 1, side // pair.shape[1] + 1))
    cy, cx = big.shape[0] / 2, big.shape[1] / 2
    m = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
    m[:, 2] += (w / 2 - cx, h / 2 - cy)
    return cv2.warpAffine(big, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=(0,)).astype(np.float32) / 255.0


@pytest.mark.parametrize(("text", "size", "space", "angle", "shape"), [
    ("ID photo", 20, 25, 30, (413, 295)), ("水印 x", 37, 0, -75, (120, 400)), ("W", 5, 3, 0, (64, 64)),
    ("PREVIEW", 46, 46, 30, (531, 413)), ("long watermark text", 60, 200, 200, (300, 300)),
])
def test_the_watermark_pattern_is_the_full_tiling_seen_through_the_photo(text, size, space, angle, shape):
    from checker.generate import watermark

    mask = watermark._text_mask(text, size)[0]
    got = watermark._tiled(mask, space, shape, angle)
    want = _tiled_by_np_tile(mask, space, shape, angle)
    assert np.abs(got - want).max() <= 1 / 255 + 1e-6


def test_the_largest_watermark_stays_bounded():
    """/watermark with the largest font (1000 px), 200 characters and a 2000 px space on a
    4096 x 4096 photo once tiled a 60 GB pattern."""
    from checker.generate import watermark

    rgb = np.full((4096, 4096, 3), 200, np.uint8)
    with bounded_memory():
        for text, size, space in (("W" * 200, 1000, 2000), ("W" * 200, 1000, 0), ("W", 1, 0)):
            peak = peak_of(watermark.add_watermark, rgb, text, size=size, space=space, angle=30)
            assert peak < PEAK_LIMIT, (size, space, f"{peak / MB:.0f} MB")
