"""Every shared face fixed for three documents, viewed the way a person would: a contact sheet per spec is
written to tests/artifacts/contact_sheet/ (green label: fix says passed; red: what it says is left), and
outside checks that do not trust the service's own re-check look at every output it calls passed: the body
reaches the bottom edge under the chin (no floating torso), and nothing of the old photo sits in the top
corners (no remnants, no wedges of a turned frame)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import checker
from checker.context import Analysis
from checker.imaging import load_photo

from .outside import outside_checks

SPECS = ["us-passport", "2102", "schengen-visa"]
TILE = 180  # px, width of one photo on the sheet
NAMED_REFUSALS = {"NO_FACE_DETECTED", "TOO_MANY_FACES", "CORRUPT_IMAGE", "INVALID_IMAGE_FORMAT_OR_SIZE"}


def _photos(faces_dir):
    for path in sorted(faces_dir.iterdir()):
        if path.suffix.lower() in (".csv", ".md"):
            continue
        yield path.name, path.read_bytes()


def _outside_checks(result: checker.FixResult) -> list[str]:
    return outside_checks(result.photo, result.standard)


def _tile(name: str, rgb: np.ndarray, label: str, ok: bool) -> np.ndarray:
    t = cv2.resize(rgb, (TILE, round(TILE * rgb.shape[0] / rgb.shape[1])), interpolation=cv2.INTER_AREA)
    t = cv2.copyMakeBorder(t, 0, 34, 3, 3, cv2.BORDER_CONSTANT, value=(255, 255, 255))
    cv2.putText(t, name[:24], (3, t.shape[0] - 21), cv2.FONT_HERSHEY_SIMPLEX, 0.36, (0, 0, 0), 1)
    cv2.putText(t, label[:32], (3, t.shape[0] - 6), cv2.FONT_HERSHEY_SIMPLEX, 0.32,
                (0, 140, 0) if ok else (200, 0, 0), 1)
    return t


def _sheet(tiles: list[np.ndarray], per_row: int = 6) -> np.ndarray:
    hmax = max(t.shape[0] for t in tiles)
    padded = [cv2.copyMakeBorder(t, 0, hmax - t.shape[0], 0, 0, cv2.BORDER_CONSTANT, value=(255, 255, 255))
              for t in tiles]
    blank = np.full_like(padded[0], 255)
    rows = [np.hstack((padded[i:i + per_row] + [blank] * per_row)[:per_row]) for i in range(0, len(padded), per_row)]
    return np.vstack(rows)


@pytest.mark.parametrize("spec_id", SPECS)
def test_contact_sheet_of_every_shared_face(faces_dir, artifacts_dir, spec_id):
    tiles, passed, wrong = [], [], {}
    for name, data in _photos(faces_dir):
        try:
            result = checker.fix(data, spec_id)
        except checker.CheckerError as exc:  # no face, several faces, not an image: named, never a crash
            assert exc.status in NAMED_REFUSALS, name
            continue
        left = [u["check"] for u in result.unfixable]
        tiles.append(_tile(name, np.asarray(load_photo(result.photo).rgb), "passed" if result.passed
                           else ",".join(c[:10] for c in left), result.passed))
        if result.passed:
            passed.append(name)
            if found := _outside_checks(result):
                wrong[name] = found
    out = artifacts_dir / "contact_sheet"
    out.mkdir(exist_ok=True)
    cv2.imwrite(str(out / f"{spec_id}.png"), cv2.cvtColor(_sheet(tiles), cv2.COLOR_RGB2BGR))
    assert len(tiles) >= 15
    assert passed, "no shared face came out passed: the outside checks looked at nothing"
    assert wrong == {}, wrong


def test_the_outside_checks_see_a_floating_torso_and_a_wedge(face_rgb):
    """They can fail: a photo cut under the chin floats in the US passport's frame, and a corner of old
    photo put into the cut-out is seen."""
    from .conftest import encode

    rgb = face_rgb("hivision_idphoto_2.jpg")
    a = Analysis(load_photo(encode(rgb)))
    short = np.ascontiguousarray(rgb[: int(a.chin_y + 0.5 * a.face_width)])
    floating = checker.fix(encode(short, "JPEG", quality=95), "us-passport")
    assert "floating torso" in _outside_checks(floating)
    whole = checker.fix(encode(rgb, "JPEG", quality=95), "us-passport")
    assert _outside_checks(whole) == []
    whole.standard[:20, :20, 3] = 255  # a wedge of the old photo in the top-left corner
    assert _outside_checks(whole) == ["old photo in a top corner"]
