"""Person matting: an alpha matte of the person, and the person's own colours at its soft edges.

Backends are models of checker.models' one registry (seed 000's ``human_matting_model`` names,
``models.MATTING``; checker/models/matting_backends.py). The embedded
default refines mediapipe's selfie segmentation (already computed by the Analysis for the checks)
to hair-level edges; the ONNX models run when their weight files are in CHECKER_MODELS_DIR and
are MODEL_UNAVAILABLE otherwise. docs/generation/matting.md has the measured comparison of the two
refinements (colour guided filter, closed-form matting).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from .. import models
from ..context import Analysis
from ..errors import CheckerError
from ..models import files

# --- refinements ---------------------------------------------------------------------------------
# Guided filter: window radius as a share of the photo's short side, regularisation, and the
# working scale (coefficients are solved at 1/GF_SCALE and applied at full resolution).
GF_RADIUS = 1 / 24
GF_EPS = 1e-3
GF_SCALE = 4
# Where the photo's colours cannot explain the mask inside a window (the filter would only blur it
# into a wide translucent ramp), the mask itself is taken, steepened by SHARP_GAIN about 0.5.
SHARP_GAIN = 4.0
# Closed-form matting (Levin et al. 2008) on a trimap from the mask, solved matrix-free with
# conjugate gradients (He, Sun and Tang 2010) at a working size of CF_SIDE px on the long side.
CF_SIDE = 480
CF_RADIUS = 1
CF_EPS = 1e-5
CF_LAMBDA = 100.0
CF_ITERATIONS = 80
# Trimap: mask >= TRI_FG is foreground, <= TRI_BG background, the rest (and a band around the
# silhouette of TRI_BAND of the short side) unknown.
TRI_FG, TRI_BG, TRI_BAND = 0.95, 0.05, 1 / 120
# The old background's colours (background_cap). The segmentation mask is loose near hair and
# shoulders: it spreads over the backdrop there, soft in the unknown band and sometimes solid a few
# pixels beyond the person, and the filter alone keeps that as a translucent fringe of old background.
# So every pixel outside the mask's 0.5 level or less than BG_REACH trimap bands inside it is compared
# with two local palettes: the colours of the clear background (trimap 0) and of the deep foreground
# (the trimap's foreground deeper than that) nearest to it and to its 8 neighbours BG_OFFSET of the
# short side away (a window, its frame and the curtain beside it are all "the background here").
# With db (less BG_NOISE, RGB units) and df its distances to the nearest colour of each palette,
# r = db / (db + df) is 0 on the background, 1 on the person and about alpha on a mixed pixel. Only
# where the two palette colours are at least BG_SEP apart and the pixel lies within BG_LINE x that
# distance of the line between them (a mix of the two, not a third colour such as an ear next to dark
# hair) does r tell anything: there alpha may not exceed (r - BG_CAP[0]) / BG_CAP[1], and it is 0 where
# r < BG_CLEAR in a region that reaches the clear background. Read at the filter's working scale, or
# finer where that would leave fewer than BG_SIDE px on the short side.
BG_REACH = 3.0
BG_OFFSET = 1 / 50
BG_NOISE = 6.0
BG_SEP = 30.0
BG_LINE = 0.5
BG_CAP = (0.05, 0.6)
BG_CLEAR = 0.25
BG_SIDE = 150


def _box(x: np.ndarray, r: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)


def guided_alpha(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Colour guided filter (He et al.) of a soft mask, guided by the photo: the mask's blurry
    edge snaps to the photo's edges, hair strands included. The mask is first held under the
    background cap (background_cap: no alpha where the colour is the old backdrop's), and where a
    window's colours do not explain it the steepened mask replaces the filter's blur."""
    mask = mask.astype(np.float32)
    h, w = mask.shape
    r = max(2, round(min(h, w) * GF_RADIUS))
    s = GF_SCALE
    small = (max(1, w // s), max(1, h // s))
    img_s = cv2.resize(rgb, small, interpolation=cv2.INTER_AREA).astype(np.float32)
    m_s = cv2.resize(mask, small, interpolation=cv2.INTER_AREA)
    band = _band(h, w)
    # The background's colours at the filter's scale, or finer for a small photo (its unknown band is
    # only a few pixels wide).
    e = max(1, min(s, min(h, w) // BG_SIDE))
    if e == s:
        cap_s = cap_e = background_cap(img_s, m_s, band / s, min(h, w) / s)
    else:
        size_e = (max(1, w // e), max(1, h // e))
        cap_e = background_cap(cv2.resize(rgb, size_e, interpolation=cv2.INTER_AREA).astype(np.float32),
                               cv2.resize(mask, size_e, interpolation=cv2.INTER_AREA), band / e, min(h, w) / e)
        cap_s = cv2.resize(cap_e, small, interpolation=cv2.INTER_AREA)
    p = np.minimum(m_s, cap_s)
    a, b, fit = _gf_coefficients(img_s / 255.0, p, max(1, r // s), GF_EPS)
    coef = cv2.resize(np.dstack([a, b, fit, cap_s]), (w, h), interpolation=cv2.INTER_LINEAR)
    if e != s:
        coef[..., 5] = cv2.resize(cap_e, (w, h), interpolation=cv2.INTER_LINEAR)
    # Only the unknown band (and foreground pixels the background cap holds down) are the filter's to
    # decide: inside the body a light face on a light backdrop must not turn translucent, and clear
    # background stays clear.
    tri = trimap(mask)
    held = coef[..., 5] < 0.999
    alpha = ((tri == 1.0) & ~held).astype(np.float32)
    idx = np.flatnonzero((tri == 0.5) | ((tri == 1.0) & held))
    c = coef.reshape(-1, 6)[idx]
    px = rgb.reshape(-1, 3)[idx].astype(np.float32) / 255.0
    q = np.einsum("nc,nc->n", c[:, :3], px) + c[:, 3]
    cap = c[:, 5]
    steep = np.clip((np.minimum(mask.reshape(-1)[idx], cap) - 0.5) * SHARP_GAIN + 0.5, 0.0, 1.0)
    vals = np.clip(np.minimum(c[:, 4] * q + (1.0 - c[:, 4]) * steep, cap), 0.0, 1.0)
    alpha.reshape(-1)[idx] = vals
    return alpha


def _gf_coefficients(guide: np.ndarray, p: np.ndarray, r: int, eps: float
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-pixel linear coefficients a (3) and b of the guided filter, averaged over windows, and how
    far the colours explain p in each window: the share of p's variance the linear fit carries (0-1;
    1 where p is flat), averaged likewise."""
    mean_i = _box(guide, r)
    mean_p = _box(p, r)
    cov_ip = _box(guide * p[:, :, None], r) - mean_i * mean_p[:, :, None]
    a = _solve_sym3(_window_covariance(guide, mean_i, r), eps, cov_ip)
    b = mean_p - np.einsum("hwc,hwc->hw", a, mean_i)
    var_p = _box(p * p, r) - mean_p * mean_p
    fit = np.clip(np.einsum("hwc,hwc->hw", a, cov_ip) / np.maximum(var_p, 1e-6), 0.0, 1.0)
    fit[var_p < 1e-4] = 1.0
    return _box(a, r), _box(b, r), _box(fit, r)


def _solve_sym3(cov: np.ndarray, eps: float, y: np.ndarray) -> np.ndarray:
    """(cov + eps I)^-1 y per pixel for symmetric 3 x 3 cov (H x W x 3 x 3) by cofactors: a batched
    np.linalg.solve costs 5x more."""
    s00, s01, s02 = cov[..., 0, 0] + eps, cov[..., 0, 1], cov[..., 0, 2]
    s11, s12, s22 = cov[..., 1, 1] + eps, cov[..., 1, 2], cov[..., 2, 2] + eps
    c00, c01, c02 = s11 * s22 - s12 * s12, s02 * s12 - s01 * s22, s01 * s12 - s02 * s11
    c11, c12, c22 = s00 * s22 - s02 * s02, s01 * s02 - s00 * s12, s00 * s11 - s01 * s01
    det = s00 * c00 + s01 * c01 + s02 * c02
    y0, y1, y2 = y[..., 0], y[..., 1], y[..., 2]
    out = np.stack([c00 * y0 + c01 * y1 + c02 * y2, c01 * y0 + c11 * y1 + c12 * y2,
                    c02 * y0 + c12 * y1 + c22 * y2], axis=-1)
    return (out / det[..., None]).astype(np.float32)


def _window_covariance(guide: np.ndarray, mean_i: np.ndarray, r: int) -> np.ndarray:
    h, w, _ = guide.shape
    cov = np.empty((h, w, 3, 3), np.float32)
    for i in range(3):
        for j in range(i, 3):
            v = _box(guide[:, :, i] * guide[:, :, j], r) - mean_i[:, :, i] * mean_i[:, :, j]
            cov[:, :, i, j] = v
            cov[:, :, j, i] = v
    return cov


def _band(h: int, w: int) -> int:
    return max(2, round(min(h, w) * TRI_BAND))


def trimap(mask: np.ndarray) -> np.ndarray:
    """1 foreground, 0 background, 0.5 unknown (the soft edge plus a band around the silhouette)."""
    band = _band(*mask.shape)
    kernel = np.ones((2 * band + 1, 2 * band + 1), np.uint8)
    fg = cv2.erode((mask >= TRI_FG).astype(np.uint8), kernel)
    bg = cv2.erode((mask <= TRI_BG).astype(np.uint8), kernel)
    tri = np.full(mask.shape, 0.5, np.float32)
    tri[fg == 1] = 1.0
    tri[bg == 1] = 0.0
    return tri


def background_cap(img: np.ndarray, mask: np.ndarray, band: float, side: float) -> np.ndarray:
    """The most alpha each pixel's colour allows (1 where it tells nothing), from the local palettes of
    the clear background and of the deep foreground (see BG_REACH). img: float RGB 0-255 and mask at
    one working scale; band: the full-resolution trimap band and side: the photo's short side, both in
    working pixels."""
    tri = trimap(mask)
    # The segmentation's own edge (its 0.5 level) is wrong by a few pixels at most: only pixels outside
    # it or within BG_REACH bands inside it can be the backdrop, the deeper ones are the person.
    inside = (mask >= 0.5).astype(np.uint8)
    near = cv2.distanceTransform(inside, cv2.DIST_L2, 3) <= max(1.0, band * BG_REACH)
    deep = (tri == 1.0) & ~near
    clear = tri == 0.0
    cap = np.ones(mask.shape, np.float32)
    if not deep.any() or not clear.any():
        return cap
    ys, xs = np.nonzero(near & ~clear)
    colour = img[ys, xs]
    palettes = cv2.GaussianBlur(img, (0, 0), 1.0)  # one working pixel: JPEG noise and single specks out
    d = max(1, round(side * BG_OFFSET))
    db, bg = _palette_distance(palettes, clear, colour, ys, xs, d)
    df, fg = _palette_distance(palettes, deep, colour, ys, xs, d)
    db = np.maximum(db - BG_NOISE, 0.0)
    share = db / np.maximum(db + df, 1e-3)
    fb = fg - bg
    sep2 = np.maximum(np.einsum("nc,nc->n", fb, fb), 1e-6)
    t = np.clip(np.einsum("nc,nc->n", colour - bg, fb) / sep2, 0.0, 1.0)
    off = colour - bg - t[:, None] * fb  # from the line between the two palette colours
    telling = (sep2 > BG_SEP ** 2) & (np.einsum("nc,nc->n", off, off) < BG_LINE ** 2 * sep2)
    cap[ys, xs] = np.where(telling, np.clip((share - BG_CAP[0]) / BG_CAP[1], 0.0, 1.0), 1.0)
    # Clear background only where it reaches the photo's clear background: a patch of the person's own
    # colours that happens to match the backdrop (a highlight in the hair) keeps its matte.
    seed = np.zeros(mask.shape, np.uint8)
    seed[ys, xs] = telling & (share < BG_CLEAR)
    n, labels = cv2.connectedComponents(seed | clear.astype(np.uint8), connectivity=8)
    reach = np.zeros(n, bool)
    reach[np.unique(labels[clear])] = True
    reach[0] = False
    cap[(seed == 1) & reach[labels]] = 0.0
    return cap


def _palette_distance(img: np.ndarray, known: np.ndarray, colour: np.ndarray, ys: np.ndarray, xs: np.ndarray,
                      d: int) -> tuple[np.ndarray, np.ndarray]:
    """For each point (ys, xs) with colour (N x 3): the distance to the nearest of the colours of the
    known pixels nearest to it and to its 8 neighbours d px away, and that colour."""
    _, labels = cv2.distanceTransformWithLabels((~known).astype(np.uint8), cv2.DIST_L2, 3,
                                                labelType=cv2.DIST_LABEL_PIXEL)
    ky, kx = np.nonzero(known)  # DIST_LABEL_PIXEL numbers the zero pixels in row-major order from 1
    table = np.zeros((len(ky) + 1, 3), np.float32)
    table[1:] = img[ky, kx]
    h, w = known.shape
    steps = np.array([-d, 0, d])
    yy = np.clip(ys[None, :] + np.repeat(steps, 3)[:, None], 0, h - 1)
    xx = np.clip(xs[None, :] + np.tile(steps, 3)[:, None], 0, w - 1)
    cand = table[labels[yy, xx]]  # 9 x N x 3
    diff = cand - colour[None]
    dist2 = np.einsum("knc,knc->kn", diff, diff)
    k = np.argmin(dist2, axis=0)
    n = np.arange(len(ys))
    return np.sqrt(dist2[k, n]), cand[k, n]


def closed_form_alpha(rgb: np.ndarray, mask: np.ndarray, iterations: int = CF_ITERATIONS) -> np.ndarray:
    """Closed-form matting on the mask's trimap: minimise alpha' L alpha + lambda * (constraints),
    with L the matting Laplacian, applied without building it (box filters), by conjugate
    gradients from the guided-filter matte. Solved at CF_SIDE px and upsampled."""
    h, w = mask.shape
    k = min(1.0, CF_SIDE / max(h, w))
    size = (max(8, round(w * k)), max(8, round(h * k)))
    img = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    m = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    tri = trimap(m)
    known = (tri != 0.5).astype(np.float32)
    start = guided_alpha((img * 255).astype(np.uint8), m)
    lap = _MattingLaplacian(img, CF_RADIUS, CF_EPS)

    def apply(x: np.ndarray) -> np.ndarray:
        return lap(x) + CF_LAMBDA * known * x

    rhs = CF_LAMBDA * known * tri
    x = start.copy()
    r = rhs - apply(x)
    d = r.copy()
    rr = float((r * r).sum())
    for _ in range(iterations):
        ad = apply(d)
        step = rr / max(float((d * ad).sum()), 1e-20)
        x += step * d
        r -= step * ad
        rr_new = float((r * r).sum())
        if rr_new < 1e-10:
            break
        d = r + (rr_new / rr) * d
        rr = rr_new
    alpha = cv2.resize(np.clip(x, 0, 1), (w, h), interpolation=cv2.INTER_LINEAR)
    return alpha.astype(np.float32)


class _MattingLaplacian:
    """y = L x for the matting Laplacian of an image (He, Sun and Tang 2010), via box filters."""

    def __init__(self, img: np.ndarray, r: int, eps: float) -> None:
        self.img, self.r = img, r
        self.n = float((2 * r + 1) ** 2)
        self.mean_i = _box(img, r)
        cov = _window_covariance(img, self.mean_i, r) + (eps / self.n) * np.eye(3, dtype=np.float32)
        self.inv = np.linalg.inv(cov)
        # Windows that run off the image are counted in box-filter sums as reflections; the
        # Laplacian stays symmetric positive semi-definite, which is all CG needs.

    def __call__(self, p: np.ndarray) -> np.ndarray:
        r, img = self.r, self.img
        mean_p = _box(p, r)
        mean_ip = _box(img * p[:, :, None], r)
        a = np.einsum("hwij,hwj->hwi", self.inv, mean_ip - self.mean_i * mean_p[:, :, None])
        b = mean_p - np.einsum("hwc,hwc->hw", a, self.mean_i)
        return self.n * (p - (np.einsum("hwc,hwc->hw", _box(a, r), img) + _box(b, r)))


# --- backends ------------------------------------------------------------------------------------
# The backends are models of the one registry (checker/models/matting_backends.py), by the
# human_matting_model names of checker.models.MATTING.
REFINEMENTS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "guided": guided_alpha,
    "closed_form": closed_form_alpha,
}
BACKENDS = models.MATTING  # human_matting_model name -> registry name
ALIASES = {"": "embedded", "mediapipe": "embedded", "default": "embedded"}


# Seed 000's default human_matting_model: its clients send it whether or not they care which
# network runs (the seed's own examples do), so it means MODNet when the weights are installed and
# the embedded matte otherwise; the name actually used is reported (resolve()). Every other named
# ONNX model is MODEL_UNAVAILABLE without its file.
SEED_DEFAULT = "modnet_photographic_portrait_matting"


def resolve(name: str | None) -> str:
    """The backend a human_matting_model value runs; INVALID_ARGUMENT for unknown names."""
    key = ALIASES.get((name or "").strip().lower(), (name or "").strip().lower())
    if key not in BACKENDS:
        raise CheckerError("INVALID_ARGUMENT",
                           f"human_matting_model {name!r} is not one of {', '.join(sorted(BACKENDS))}")
    if key == SEED_DEFAULT:
        try:
            files.locate(SEED_DEFAULT)
        except CheckerError:
            return "embedded"
    return key


def backend(name: str | None) -> Any:
    """The matting backend for a human_matting_model value (see resolve()): the registry's instance."""
    return models.get(BACKENDS[resolve(name)])


def person_alpha(a: Analysis, model: str | None = None) -> np.ndarray:
    """The person's alpha matte (H x W float32, 1 = person), once per Analysis and model."""
    impl = backend(model)
    return a.memo(f"matting.alpha.{id(impl)}", lambda: impl.alpha(a))


# --- foreground colours ----------------------------------------------------------------------------
# Multi-level foreground estimation (Germer et al. 2020, pymatting's estimate_foreground_ml) runs at a
# working size of FG_SIDE px on the long side (half of 600 x 800); the full-resolution edge colours are
# then solved against its background.
# bench/matting.py measured the choice (docs/generation/matting.md): at the hair the cut-out's colours moved
# 9.7 RGB units toward the old background with the local-colour estimate this replaced, 1.3 with this one.
FG_SIDE = 400
FG_SOLVE = (0.3, 0.7)  # alpha from which the solved colour starts to count, and where it counts alone


def _multilevel(img: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """pymatting's multi-level F and B (float32 0-1 in, 0-1 out), its numba kernels on one thread: its
    parallel resampling steps cost more in thread hand-offs than they save, 5x at 600 x 800 on 2 busy cores."""
    import numba
    import pymatting  # type: ignore[import-untyped]

    threads = numba.get_num_threads()
    numba.set_num_threads(1)  # thread-local: other threads keep their setting
    try:
        fg, bg = pymatting.estimate_foreground_ml(img, alpha, return_background=True)
    finally:
        numba.set_num_threads(threads)
    return np.asarray(fg, np.float32), np.asarray(bg, np.float32)


def _bilinear(img: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """img (H x W x 3 float32) sampled at float pixel coordinates (N,), edges clamped: N x 3. The points go
    through cv2.remap as rows of _ROW (remap's sides stay under 32767)."""
    n = x.size
    rows = -(-n // _ROW)
    mx = np.zeros(rows * _ROW, np.float32)
    my = np.zeros(rows * _ROW, np.float32)
    mx[:n], my[:n] = x, y
    out = cv2.remap(img, mx.reshape(rows, _ROW), my.reshape(rows, _ROW), cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(-1, img.shape[2])[:n]


_ROW = 4096


def warm_up() -> None:
    """Import pymatting and run it once (its numba kernels load from their cache; compiled on the very
    first import after an install, ~45 s on 2 cores): a server calls this before it serves."""
    _multilevel(np.zeros((8, 8, 3), np.float32), np.full((8, 8), 0.5, np.float32))


def estimate_foreground(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The person's colours with the old background taken out of the soft edge.

    An edge pixel is I = a F + (1 - a) B. Multi-level foreground estimation gives smooth F and B for
    the whole photo (at FG_SIDE px); at each full-resolution edge pixel F is solved from I with that B
    where the matte is solid enough and taken from the estimate where it is thin, so hair keeps its own
    detail and carries no trace of the old backdrop (a person cut from red shows no red rim on white).
    Opaque pixels are unchanged."""
    h, w = alpha.shape
    edge = (alpha > 0.002) & (alpha < 0.998)
    ys, xs = np.nonzero(edge)
    if ys.size == 0:
        return rgb.copy()
    k = max(1.0, max(h, w) / FG_SIDE)
    small = (max(1, round(w / k)), max(1, round(h / k)))
    img_s = cv2.resize(rgb, small, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    a_s = cv2.resize(alpha.astype(np.float32), small, interpolation=cv2.INTER_AREA)
    fg_s, bg_s = _multilevel(img_s, a_s)
    sx, sy = (xs + 0.5) * (small[0] / w) - 0.5, (ys + 0.5) * (small[1] / h) - 0.5
    fg, bg = _bilinear(fg_s, sx, sy) * 255.0, _bilinear(bg_s, sx, sy) * 255.0
    a = alpha[ys, xs].astype(np.float32)[:, None]
    img = rgb[ys, xs].astype(np.float32)
    solved = (img - (1.0 - a) * bg) / np.maximum(a, 0.05)
    lo, hi = FG_SOLVE
    trust = np.clip((a - lo) / (hi - lo), 0.0, 1.0)
    out = rgb.copy()
    out[ys, xs] = np.clip(trust * solved + (1 - trust) * fg + 0.5, 0, 255).astype(np.uint8)
    return out


def cutout(a: Analysis, model: str | None = None) -> np.ndarray:
    """RGBA uint8: the person with straight alpha, edge colours cleaned."""
    alpha = person_alpha(a, model)
    fg = estimate_foreground(a.rgb, alpha)
    return np.dstack([fg, np.clip(alpha * 255 + 0.5, 0, 255).astype(np.uint8)])
