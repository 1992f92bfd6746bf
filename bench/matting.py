"""Matting with known alpha: per-method alpha and foreground-colour errors and speed. Prints figures;
asserts nothing (tests/test_generate_matting.py holds the bounds).

    .venv/bin/python bench/matting.py [--size 600x800] [--slow-every 5] [--sheet /tmp/matting-sheet.png]
                                      [--only "mask alone,no background cap,embedded"]

Methods: the segmentation mask alone; the guided filter as it was before the background cap
(guided_before); the embedded default (checker.generate.matting.guided_alpha); closed-form matting
(embedded, started from the default; and pymatting's on the same trimap); pymatting's KNN, learning-based
and large-kernel matting (slow: every --slow-every-th composite); the ONNX backends whose weights are present.

Ground truth. Five shared photos whose person stands on a plain backdrop (hivision_idphoto_0 red,
_1 blue-to-white gradient, _2 white, _3 grey radial gradient, hivision_test3 light grey; hivision_test0 is left
out: its face is within ~20 RGB units of its textured backdrop, so no colour rule can tell the two apart).
For each, at the benchmark size:

1. the backdrop B(x, y) is a cubic polynomial in x and y per channel, fitted (3 rounds, dropping outliers past
   3 robust sigma) to the pixels the segmentation calls background, at least 15 px from the person;
2. a wide trimap from the colour distance D = |I - B| (RGB units) and the segmentation: person where
   more than 10 px inside its silhouette (or inside the face mesh's oval), except near-backdrop pixels
   (D < 40) within 60 px of the edge above the chin (holes between hair strands); backdrop where D is
   within the fit's noise outside the silhouette, or 70 px and more from it; everything else unknown, so
   flyaway strands the segmentation misses are still solved;
3. alpha by closed-form matting with the backdrop known: minimise a' L a + sum_i c_i (a_i - p_i)^2 over the
   unknown pixels (L the matting Laplacian of Levin et al., eps 1e-6, 3x3 windows, pymatting's), where p is the
   projection of I - B onto F - B for the nearby person colour F and c_i = 0.3 min(1, (|F - B| / 60)^2)
   trusts p where person and backdrop differ; three rounds, F re-estimated each round from the solution
   (I = a F + (1 - a) B solved for F where a > 0.3, spread into thinner parts by normalised blurs);
4. the true foreground F* is that solution (B + (I - B) / a, blended toward the spread colour below a = 0.5).

The matte is inspected in a contact sheet (``--sheet``: the ground truths over green and magenta). As a
consistency check, each ground truth composited over teal and over a yellow-to-purple gradient and derived
again gives back its own alpha within SAD 0.7-6.9 (band MAE 0.03-0.11), the most on hivision_idphoto_1's loose
curls: the ground truth is good to about that, far below the errors of the methods (``--consistency``).

Composites. Each person (alpha, F*) over ten backgrounds: crops of other shared photos (flag and curtains,
two dogs' fur, a street, a room, a wall and a space shuttle), a vertical dark-brown-to-sky gradient, a flat
dark-hair colour, a flat skin colour and a saturated green: C = alpha F* + (1 - alpha) B_new, rounded to
uint8. The composite's alpha and foreground are known exactly.

Metrics (alpha in [0, 1]; sums over pixels; Rhemann et al. 2009, the alphamatting.com conventions):
- SAD = sum |a - a*| / 1000;
- MSE = mean (a - a*)^2, shown x 1000;
- Grad = sum (|grad a| - |grad a*|)^2 / 1000, gradients by first-order Gaussian derivative filters (sigma 1.4);
each over the whole image and within the band: pixels within 10 px (at 600 wide; scaled) of a soft pixel of
the truth (0.01 < a* < 0.99), where all the difficulty is.
Foreground colour at the hair (soft pixels, 0.01 < a* < 0.99, mostly hair): fg err = sum a* |F - F*| / sum a*
(Euclidean RGB, 0-255; weighted by a* because that is how much of F shows in any composite); toward old =
the same weighted mean of (F - F*) . u, u the unit vector from F* toward the background the person was cut
from (positive: the old background shows through); shown = toward old over the pixels the method's alpha
shows at all (a > 0.002: where the matte is 0 the colour is never seen and is left the photo's own, which
toward old counts as the old background); on white = mean |C - C*| in the band for the cut-out put on white
(C = a F + (1 - a) white with the method's a and F, C* with the truth), what a person sees.
Time: median per image (the segmentation mask, shared by every embedded method, timed apart), and the ratio
to a floor measured in the same run: one cv2.GaussianBlur (sigma 2) of the 8-bit image.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
FACES = Path(os.environ.get("CHECKER_SHARED_DIR") or ROOT.parent / "shared") / "faces"

SOURCES = ["hivision_idphoto_0.jpg", "hivision_idphoto_1.jpg", "hivision_idphoto_2.jpg", "hivision_idphoto_3.jpg",
           "hivision_test3.jpg"]
# name -> (photo, crop box as fractions x0, y0, x1, y1) or an RGB colour, or a vertical gradient (top, bottom).
BACKGROUNDS: dict[str, tuple] = {
    "flag": ("obama.jpg", (0.0, 0.0, 0.26, 0.75)),
    "grey fur": ("dogs_no_face.jpg", (0.02, 0.0, 0.48, 0.48)),
    "ginger fur": ("dogs_no_face.jpg", (0.52, 0.5, 0.98, 0.98)),
    "street": ("hivision_test1_webp.jpg", (0.0, 0.0, 0.34, 0.4)),
    "room": ("hivision_test2_png.jpg", (0.0, 0.0, 0.3, 0.45)),
    "shuttle": ("astronaut.png", (0.7, 0.0, 1.0, 0.55)),
    "dusk gradient": ("gradient", (70, 45, 30), (150, 190, 235)),
    "hair colour": ("flat", (45, 35, 32)),
    "skin colour": ("flat", (225, 185, 160)),
    "green": ("flat", (0, 190, 60)),
}


def read_rgb(name: str) -> np.ndarray:
    return np.array(Image.open(FACES / name).convert("RGB"))


def cover(rgb: np.ndarray, size: tuple[int, int], top: bool = True) -> np.ndarray:
    """Resize to cover size (w, h) and crop: horizontally centred, from the top (keeps the hair) or centre."""
    w, h = size
    k = max(w / rgb.shape[1], h / rgb.shape[0])
    img = cv2.resize(rgb, (max(w, round(rgb.shape[1] * k)), max(h, round(rgb.shape[0] * k))),
                     interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC)
    x0 = (img.shape[1] - w) // 2
    y0 = 0 if top else (img.shape[0] - h) // 2
    return np.ascontiguousarray(img[y0:y0 + h, x0:x0 + w])


def analysis(rgb: np.ndarray):  # -> checker.context.Analysis
    from checker.context import Analysis
    from checker.imaging import load_photo

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return Analysis(load_photo(buf.getvalue()))


# --- ground truth --------------------------------------------------------------------------------
def _poly(h: int, w: int) -> np.ndarray:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    x, y = x / w - 0.5, y / h - 0.5
    return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y, x ** 3, y ** 3, x * x * y, x * y * y], -1)


def background_field(rgb: np.ndarray, mask: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
    """The backdrop behind the person: a cubic per channel fitted to clear background; and its noise
    (99th percentile of the fit's residual, RGB units)."""
    h, w = mask.shape
    r = max(3, round(15 * scale))
    far = cv2.erode((mask < 0.02).astype(np.uint8), np.ones((2 * r + 1, 2 * r + 1), np.uint8)).astype(bool)
    p = _poly(h, w)
    x, y = p[far], rgb[far].astype(np.float32)
    keep = np.ones(len(x), bool)
    for _ in range(3):
        coef, *_ = np.linalg.lstsq(x[keep], y[keep], rcond=None)
        res = np.linalg.norm(x @ coef - y, axis=1)
        keep = res < max(3.0, 3 * 1.4826 * float(np.median(res[keep])))
    field = (p.reshape(-1, p.shape[-1]) @ coef).reshape(h, w, 3)
    return np.clip(field, 0, 255).astype(np.float32), float(np.percentile(res[keep], 99))


def wide_trimap(rgb: np.ndarray, mask: np.ndarray, field: np.ndarray, noise: float, oval: np.ndarray,
                scale: float) -> np.ndarray:
    """1 person, 0 backdrop, 0.5 unknown (see the module docstring, step 2)."""
    dist = np.linalg.norm(rgb.astype(np.float32) - field, axis=2)
    core = (mask > 0.5).astype(np.uint8)
    d_in = cv2.distanceTransform(core, cv2.DIST_L2, 5)
    d_out = cv2.distanceTransform(1 - core, cv2.DIST_L2, 5)
    head = np.zeros(mask.shape, bool)
    head[: int(oval[:, 1].max())] = True
    face = np.zeros(mask.shape, np.uint8)
    cv2.fillPoly(face, [oval.round().astype(np.int32)], 1)
    k = max(3, round(9 * scale)) | 1
    face = cv2.erode(face, np.ones((k, k), np.uint8)).astype(bool)
    fg = ((d_in > 10 * scale) & ~((dist < 40) & (d_in < 60 * scale) & head)) | face
    bg = ((dist < max(6.0, 1.5 * noise)) & (d_in < 1)) | (d_out > 70 * scale)
    tri = np.full(mask.shape, 0.5, np.float64)
    tri[fg] = 1.0
    tri[bg & ~fg] = 0.0
    return tri


def _spread(x: np.ndarray, w: np.ndarray, sigmas: tuple[float, ...]) -> np.ndarray:
    """Normalised blur of x weighted by w, at the smallest sigma that has weight nearby."""
    out = np.zeros(x.shape, np.float32)
    done = np.zeros(w.shape, bool)
    for s in sigmas:
        ws = cv2.GaussianBlur(w, (0, 0), s)
        xs = cv2.GaussianBlur(x * w[..., None], (0, 0), s) / np.maximum(ws, 1e-6)[..., None]
        take = ~done & (ws > 0.02)
        out[take] = xs[take]
        done |= take
    return out


def solve_known_background(rgb: np.ndarray, tri: np.ndarray, field: np.ndarray, scale: float,
                           gamma: float = 0.3, rounds: int = 3) -> np.ndarray:
    """Closed-form matting with a data term from the known backdrop (the module docstring, step 3)."""
    import pymatting
    import scipy.sparse

    img = rgb.astype(np.float32)
    h, w = tri.shape
    known = tri != 0.5
    lap = pymatting.cf_laplacian(img.astype(np.float64) / 255.0, epsilon=1e-6, radius=1, is_known=known)
    unk = ~known.ravel()
    l_uu = lap[unk][:, unk]
    rhs0 = -lap[unk][:, ~unk].dot(tri.ravel()[~unk])
    sig = tuple(s * max(scale, 0.25) for s in (6, 18, 54, 162))
    near_fg = _spread(img, (tri == 1).astype(np.float32), sig)
    alpha = None
    for _ in range(rounds):
        d = (near_fg - field) / 255
        nn = (d * d).sum(2)
        proj = np.clip(((img - field) / 255 * d).sum(2) / np.maximum(nn, 1e-6), 0, 1)
        c = (gamma * np.clip(nn / (60 / 255) ** 2, 0, 1)).ravel()[unk]
        a_mat = (l_uu + scipy.sparse.diags(c)).tocsr()
        x = tri.ravel().copy()
        start = proj.ravel()[unk] if alpha is None else alpha.ravel()[unk]
        with contextlib.redirect_stdout(io.StringIO()):  # the preconditioner's retry notices
            pre = pymatting.ichol(a_mat)
        x[unk] = pymatting.cg(a_mat, rhs0 + c * proj.ravel()[unk], x0=start, M=pre, rtol=1e-7, maxiter=3000)
        alpha = np.clip(x, 0, 1).reshape(h, w).astype(np.float32)
        solved = np.clip(field + (img - field) / np.maximum(alpha[..., None], 0.05), 0, 255)
        wgt = np.where(alpha > 0.3, alpha * alpha, 0).astype(np.float32)
        wgt[tri == 1] = 1
        near_fg = _spread(np.where((tri == 1)[..., None], img, solved).astype(np.float32), wgt, sig)
    assert alpha is not None
    return alpha


def true_foreground(rgb: np.ndarray, alpha: np.ndarray, field: np.ndarray, scale: float) -> np.ndarray:
    img = rgb.astype(np.float32)
    a3 = alpha[..., None]
    solved = np.clip(field + (img - field) / np.maximum(a3, 0.05), 0, 255)
    spread = _spread(solved, np.where(alpha > 0.3, alpha * alpha, 0).astype(np.float32),
                     tuple(s * max(scale, 0.25) for s in (3, 9, 27, 81)))
    t = np.clip((a3 - 0.15) / 0.35, 0, 1)
    fg = t * solved + (1 - t) * spread
    fg[alpha >= 0.999] = img[alpha >= 0.999]
    return fg.astype(np.float32)


@dataclass
class Truth:
    name: str
    rgb: np.ndarray  # the source at the benchmark size
    alpha: np.ndarray  # H x W float32
    fg: np.ndarray  # H x W x 3 float32, 0-255
    trimap: np.ndarray
    backdrop: np.ndarray  # the fitted backdrop B


def derive(rgb: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from checker.context import FACE_OVAL

    a = analysis(rgb)
    mask = a.raw_person_mask
    field, noise = background_field(rgb, mask, scale)
    tri = wide_trimap(rgb, mask, field, noise, a.mesh[list(FACE_OVAL), :2].astype(np.float32), scale)
    alpha = solve_known_background(rgb, tri, field, scale)
    return alpha, true_foreground(rgb, alpha, field, scale), tri, field


def ground_truth(name: str, size: tuple[int, int] = (600, 800)) -> Truth:
    rgb = cover(read_rgb(name), size)
    alpha, fg, tri, field = derive(rgb, size[0] / 600)
    return Truth(name, rgb, alpha, fg, tri, field)


def background(name: str, size: tuple[int, int]) -> np.ndarray:
    spec = BACKGROUNDS[name]
    w, h = size
    if spec[0] == "flat":
        return np.broadcast_to(np.array(spec[1], np.float32), (h, w, 3)).copy()
    if spec[0] == "gradient":
        t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
        return np.broadcast_to((1 - t) * np.array(spec[1], np.float32) + t * np.array(spec[2], np.float32),
                               (h, w, 3)).copy()
    src = read_rgb(spec[0])
    x0, y0, x1, y1 = spec[1]
    hh, ww = src.shape[:2]
    crop = src[round(y0 * hh):round(y1 * hh), round(x0 * ww):round(x1 * ww)]
    return cover(crop, size, top=False).astype(np.float32)


@dataclass
class Sample:
    source: str
    background: str
    image: np.ndarray  # the composite, uint8
    alpha: np.ndarray
    fg: np.ndarray
    new_bg: np.ndarray  # the background the person was composited over (what a cut-out must not carry)


def composite(truth: Truth, bg: np.ndarray) -> np.ndarray:
    a = truth.alpha[..., None]
    return np.clip(a * truth.fg + (1 - a) * bg + 0.5, 0, 255).astype(np.uint8)


def samples(size: tuple[int, int] = (600, 800), sources: list[str] | None = None,
            backgrounds: list[str] | None = None) -> list[Sample]:
    out = []
    bgs = {b: background(b, size) for b in (backgrounds or list(BACKGROUNDS))}
    for s in sources or SOURCES:
        t = ground_truth(s, size)
        for b, img in bgs.items():
            out.append(Sample(s, b, composite(t, img), t.alpha, t.fg, img))
    return out


# --- metrics -------------------------------------------------------------------------------------
def band(alpha_true: np.ndarray) -> np.ndarray:
    """Pixels within 10 px (at 600 px wide) of a soft pixel of the truth."""
    r = max(2, round(10 * alpha_true.shape[1] / 600))
    soft = ((alpha_true > 0.01) & (alpha_true < 0.99)).astype(np.uint8)
    return cv2.dilate(soft, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))).astype(bool)


def _gauss_grad(a: np.ndarray, sigma: float = 1.4) -> np.ndarray:
    r = int(np.ceil(3 * sigma))
    x = np.arange(-r, r + 1, dtype=np.float64)
    g = np.exp(-x * x / (2 * sigma * sigma))
    g /= g.sum()
    dg = -x * g
    dg /= -(x * dg).sum()  # a unit ramp has derivative 1
    a64 = a.astype(np.float64)
    gx = cv2.sepFilter2D(a64, -1, dg[::-1], g, borderType=cv2.BORDER_REPLICATE)
    gy = cv2.sepFilter2D(a64, -1, g, dg[::-1], borderType=cv2.BORDER_REPLICATE)
    return np.hypot(gx, gy)


def alpha_errors(alpha: np.ndarray, truth: np.ndarray, where: np.ndarray | None = None) -> dict[str, float]:
    """SAD (/1000), MSE (x1000) and Grad (/1000), over ``where`` (default: the whole image)."""
    sel = np.ones(truth.shape, bool) if where is None else where
    d = alpha.astype(np.float64) - truth
    g = (_gauss_grad(alpha) - _gauss_grad(truth)) ** 2
    return {"sad": float(np.abs(d)[sel].sum() / 1000), "mse": float((d * d)[sel].mean() * 1000),
            "grad": float(g[sel].sum() / 1000)}


def foreground_errors(fg: np.ndarray, alpha: np.ndarray, s: Sample) -> dict[str, float]:
    """fg err, toward old (at the hair: soft pixels of the truth), the same where the method's alpha shows
    the pixel at all (> 0.002: elsewhere its colour is never seen, and is the photo's own) and on white (in
    the band)."""
    soft = (s.alpha > 0.01) & (s.alpha < 0.99)
    w = s.alpha[soft].astype(np.float64)
    d = fg[soft].astype(np.float64) - s.fg[soft]
    u = s.new_bg[soft] - s.fg[soft]
    u /= np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-6)
    white = np.float64(255)
    est = alpha[..., None] * fg + (1 - alpha[..., None]) * white
    ref = s.alpha[..., None] * s.fg + (1 - s.alpha[..., None]) * white
    b = band(s.alpha)
    shown = w * (alpha[soft] > 0.002)  # where the cut-out shows the colour at all
    return {"fg": float((w * np.linalg.norm(d, axis=1)).sum() / w.sum()),
            "toward": float((w * (d * u).sum(1)).sum() / w.sum()),
            "shown": float((shown * (d * u).sum(1)).sum() / max(float(shown.sum()), 1e-9)),
            "white": float(np.linalg.norm(est - ref, axis=2)[b].mean())}


# --- methods -------------------------------------------------------------------------------------
# Each takes (rgb uint8, segmentation mask) and returns an alpha; slow ones run on a subset.
def _pm_trimap(mask: np.ndarray) -> np.ndarray:
    from checker.generate import matting

    return matting.trimap(mask).astype(np.float64)


def _pymatting(fn: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def run(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
        import pymatting

        with contextlib.redirect_stdout(io.StringIO()):  # its preconditioner's retry notices
            return getattr(pymatting, fn)(rgb.astype(np.float64) / 255.0, _pm_trimap(mask)).astype(np.float32)

    return run


def guided_before(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The embedded guided filter as it was before the background cap (kept here to be measured against):
    the segmentation mask itself filtered (radius 1/24, eps 1e-3, coefficients at 1/4), the trimap's
    foreground solid and its background clear."""
    from checker.generate import matting

    h, w = mask.shape
    r = max(2, round(min(h, w) / 24))
    small = (max(1, w // 4), max(1, h // 4))
    guide = cv2.resize(rgb, small, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    p = cv2.resize(mask.astype(np.float32), small, interpolation=cv2.INTER_AREA)
    a, b, _ = matting._gf_coefficients(guide, p, max(1, r // 4), 1e-3)
    a = cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR)
    b = cv2.resize(b, (w, h), interpolation=cv2.INTER_LINEAR)
    alpha = np.clip(np.einsum("hwc,hwc->hw", a, rgb.astype(np.float32) / 255.0) + b, 0.0, 1.0).astype(np.float32)
    tri = matting.trimap(mask)
    alpha[tri == 1.0] = 1.0
    alpha[tri == 0.0] = 0.0
    return alpha


def alpha_methods() -> dict[str, tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], bool]]:
    """name -> (alpha(rgb, mask), slow)."""
    from checker.generate import matting

    methods: dict[str, tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], bool]] = {
        "segmentation mask alone": (lambda rgb, mask: mask.astype(np.float32), False),
        "guided filter, no background cap (before)": (guided_before, False),
        "embedded guided filter": (matting.guided_alpha, False),
        "embedded closed-form (80 CG, 480 px)": (matting.closed_form_alpha, False),
    }
    methods.update({
        "pymatting closed-form": (_pymatting("estimate_alpha_cf"), False),
        "pymatting KNN": (_pymatting("estimate_alpha_knn"), True),
        "pymatting learning-based": (_pymatting("estimate_alpha_lbdm"), True),
        "pymatting large kernel": (_pymatting("estimate_alpha_lkm"), True),
    })
    return methods


def onnx_methods() -> tuple[dict[str, Callable], list[str]]:
    """ONNX backends whose weight files are present, and the names of those that are not."""
    from checker.errors import CheckerError
    from checker.generate import matting
    from checker.models import files

    present, absent = {}, []
    for name in matting.BACKENDS:
        if name.startswith("embedded"):
            continue
        try:
            files.locate(name)
        except CheckerError:
            absent.append(name)
            continue
        present[name] = matting.backend(name).alpha
    return present, absent


def local_colours_before(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The foreground estimate the embedded path used before issue 13 (kept here to be measured against):
    B and F as blurs weighted by (1 - a)^4 and a^4 at 1/4 resolution over 1/60 of the short side, F solved
    from I = a F + (1 - a) B where a > 0.1 and blended toward the nearby F below a = 0.6."""
    h, w = alpha.shape
    edge = (alpha > 0.002) & (alpha < 0.998)
    ys, xs = np.nonzero(edge)
    if ys.size == 0:
        return rgb.astype(np.float32)
    k = 4
    small = (max(1, w // k), max(1, h // k))
    img_s = cv2.resize(rgb, small, interpolation=cv2.INTER_AREA).astype(np.float32)
    a_s = cv2.resize(alpha.astype(np.float32), small, interpolation=cv2.INTER_AREA)
    r = max(2, round(min(h, w) / 60 / k))
    wb, wf = (1.0 - a_s) ** 4, a_s ** 4

    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)

    bg_s = box(img_s * wb[:, :, None]) / np.maximum(box(wb), 1e-4)[:, :, None]
    fg_s = box(img_s * wf[:, :, None]) / np.maximum(box(wf), 1e-4)[:, :, None]
    sy, sx = np.minimum(ys // k, small[1] - 1), np.minimum(xs // k, small[0] - 1)
    a = alpha[ys, xs].astype(np.float32)[:, None]
    img = rgb[ys, xs].astype(np.float32)
    solved = (img - (1.0 - a) * bg_s[sy, sx]) / np.maximum(a, 0.05)
    trust = np.clip((a - 0.1) / 0.5, 0.0, 1.0)
    out = rgb.astype(np.float32)
    out[ys, xs] = np.clip(trust * solved + (1 - trust) * fg_s[sy, sx], 0, 255)
    return out


def foreground_methods() -> dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]]:
    from checker.generate import matting

    def ml(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        fg, _ = matting._multilevel(rgb.astype(np.float32) / 255.0, alpha.astype(np.float32))
        return fg * 255

    return {
        "none (the photo's colour)": lambda rgb, alpha: rgb.astype(np.float32),
        "local colours (before)": local_colours_before,
        "pymatting multi-level, full size": ml,
        "multi-level at 1/2 + edge solve (now)":
            lambda rgb, alpha: matting.estimate_foreground(rgb, alpha).astype(np.float32),
    }


def floor_ms(rgb: np.ndarray, runs: int = 50) -> float:
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        cv2.GaussianBlur(rgb, (0, 0), 2)
        ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1000


def timed(fn: Callable, *args) -> tuple[object, float]:
    t = time.perf_counter()
    out = fn(*args)
    return out, (time.perf_counter() - t) * 1000


# --- report --------------------------------------------------------------------------------------
def consistency(size: tuple[int, int]) -> None:
    """Each ground truth over two plain backdrops, derived again: how well the derivation reproduces itself."""
    w, h = size
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    plains = {"teal": np.broadcast_to(np.array([30, 140, 150], np.float32), (h, w, 3)),
              "yellow-purple": (1 - t) * np.array([250, 220, 120], np.float32) + t * np.array([90, 60, 140],
                                                                                            np.float32)}
    for s in SOURCES:
        truth = ground_truth(s, size)
        for pn, p in plains.items():
            again, *_ = derive(composite(truth, p), w / 600)
            soft = (truth.alpha > 0.01) & (truth.alpha < 0.99)
            print(f"  {s:24s} {pn:14s} SAD {np.abs(again - truth.alpha).sum() / 1000:6.2f}  "
                  f"band MAE {np.abs(again - truth.alpha)[soft].mean():.3f}")


def contact_sheet(path: str, truths: list[Truth]) -> None:
    tiles = []
    for t in truths:
        for col in ((0, 200, 50), (230, 40, 160)):
            tiles.append(composite(t, np.broadcast_to(np.array(col, np.float32), t.fg.shape)))
        tiles.append(np.dstack([(t.alpha * 255).astype(np.uint8)] * 3))
        tiles.append(np.dstack([(t.trimap * 255).astype(np.uint8)] * 3))
    rows = [np.hstack(tiles[i:i + 4]) for i in range(0, len(tiles), 4)]
    sheet = np.vstack(rows)
    cv2.imwrite(path, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"contact sheet: {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", default="600x800")
    ap.add_argument("--slow-every", type=int, default=5, help="slow methods run on every Nth composite")
    ap.add_argument("--sheet", help="write the ground truths' contact sheet to this PNG")
    ap.add_argument("--consistency", action="store_true", help="re-derive each ground truth from composites")
    ap.add_argument("--only", help="comma-separated alpha methods (substring match)")
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    assert len(size) == 2
    size = (size[0], size[1])

    import numba

    from checker import models

    numba.set_num_threads(1)  # pymatting's parallel kernels only contend on 2 shared cores
    models.warm_up()
    if args.consistency:
        consistency(size)
        return
    t0 = time.perf_counter()
    all_samples = samples(size)
    print(f"{len(all_samples)} composites ({len(SOURCES)} people x {len(BACKGROUNDS)} backgrounds) at "
          f"{size[0]}x{size[1]}, ground truth in {time.perf_counter() - t0:.0f} s")
    if args.sheet:
        contact_sheet(args.sheet, [ground_truth(s, size) for s in SOURCES])
    floor = floor_ms(all_samples[0].image)
    methods = alpha_methods()
    present, absent = onnx_methods()
    for name, fn in present.items():
        methods[f"ONNX {name}"] = (lambda rgb, mask, fn=fn: fn(analysis(rgb)), False)
    if args.only:
        keys = [k.strip() for k in args.only.split(",")]
        methods = {n: m for n, m in methods.items() if any(k in n for k in keys)}
    # warm-up (JIT compilation of pymatting's numba kernels, first-call allocations)
    warm = all_samples[0]
    warm_mask = analysis(warm.image).raw_person_mask
    for fn, _slow in methods.values():
        small = cv2.resize(warm.image, (120, 160), interpolation=cv2.INTER_AREA)
        fn(small, cv2.resize(warm_mask, (120, 160), interpolation=cv2.INTER_AREA))
    fg_methods = foreground_methods()
    for fn in fg_methods.values():
        fn(warm.image, warm.alpha)

    rows: dict[str, list[dict[str, float]]] = {n: [] for n in methods}
    fg_rows: dict[str, list[dict[str, float]]] = {}
    seg_ms = []
    default_alpha: dict[int, np.ndarray] = {}
    before_alpha: dict[int, np.ndarray] = {}
    for i, s in enumerate(all_samples):
        a = analysis(s.image)
        mask, ms = timed(lambda a=a: a.raw_person_mask)
        seg_ms.append(ms)
        b = band(s.alpha)
        for name, (fn, slow) in methods.items():
            if slow and i % args.slow_every:
                continue
            alpha, ms = timed(fn, a.rgb, mask)
            alpha = np.asarray(alpha, np.float32)
            whole, inband = alpha_errors(alpha, s.alpha), alpha_errors(alpha, s.alpha, b)
            rows[name].append({"i": i, "ms": ms, **whole, **{f"b{k}": v for k, v in inband.items()}})
            if name == "embedded guided filter":
                default_alpha[i] = alpha
            elif name.startswith("guided filter, no background cap"):
                before_alpha[i] = alpha
        for fname, ffn in fg_methods.items():
            for which, alpha in (("true alpha", s.alpha), ("guided alpha", default_alpha.get(i)),
                                 ("guided alpha before", before_alpha.get(i))):
                if alpha is None:
                    continue
                fg, ms = timed(ffn, a.rgb, alpha)
                key = f"{fname} | {which}"
                fg_rows.setdefault(key, []).append({"i": i, "ms": ms, **foreground_errors(np.asarray(fg), alpha, s)})
        print(f"  {i + 1}/{len(all_samples)} {s.source} over {s.background}", file=sys.stderr)

    print(f"\nfloor (one cv2.GaussianBlur sigma 2 of the image): {floor:.2f} ms; segmentation mask "
          f"(shared by the embedded methods, not in their times): {statistics.median(seg_ms):.1f} ms")
    if absent:
        print(f"ONNX backends without weights here (not run): {', '.join(absent)}")
    print("\nalpha: mean over composites (n); SAD /1000, MSE x1000, Grad /1000; whole image | band; time median")
    print(f"{'method':40s} {'n':>3s} {'SAD':>7s} {'MSE':>7s} {'Grad':>7s} | {'SAD':>7s} {'MSE':>7s} {'Grad':>7s} |"
          f" {'ms':>8s} {'x floor':>8s}")
    for name, rs in rows.items():
        if not rs:
            continue
        m = {k: statistics.mean(r[k] for r in rs) for k in rs[0] if k not in ("i", "ms")}
        ms = statistics.median(r["ms"] for r in rs)
        print(f"{name:40s} {len(rs):3d} {m['sad']:7.2f} {m['mse']:7.2f} {m['grad']:7.2f} | {m['bsad']:7.2f} "
              f"{m['bmse']:7.2f} {m['bgrad']:7.2f} | {ms:8.1f} {ms / floor:8.0f}")
    slow_ids = {r["i"] for name, (_, slow) in methods.items() if slow for r in rows[name]}
    if slow_ids:
        print(f"\nthe same on the {len(slow_ids)} composites the slow methods ran on (paired):")
        for name, rs in rows.items():
            sub = [r for r in rs if r["i"] in slow_ids]
            if sub:
                print(f"{name:40s} {len(sub):3d} SAD {statistics.mean(r['sad'] for r in sub):7.2f}  "
                      f"band MSE {statistics.mean(r['bmse'] for r in sub):7.2f}")
    print("\nforeground at the hair: fg err and toward old (RGB units, weighted by true alpha; 'shown': where the"
          " method's alpha > 0.002), on white (band)")
    print(f"{'method | alpha':56s} {'fg err':>7s} {'toward':>7s} {'shown':>7s} {'white':>7s} {'ms':>7s}")
    for key, rs in fg_rows.items():
        m = {k: statistics.mean(r[k] for r in rs) for k in ("fg", "toward", "shown", "white")}
        ms = statistics.median(r["ms"] for r in rs)
        print(f"{key:56s} {m['fg']:7.1f} {m['toward']:7.1f} {m['shown']:7.1f} {m['white']:7.1f} {ms:7.1f}")
    print("\nper background, band SAD: guided filter before the background cap | now")
    for bname in BACKGROUNDS:
        cells = []
        for name in ("guided filter, no background cap (before)", "embedded guided filter"):
            vals = [r["bsad"] for r in rows.get(name, []) if all_samples[r["i"]].background == bname]
            cells.append(f"{statistics.mean(vals):6.2f}" if vals else "     -")
        print(f"  {bname:14s} {' | '.join(cells)}")


if __name__ == "__main__":
    main()
