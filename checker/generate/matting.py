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


def _box(x: np.ndarray, r: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)


def guided_alpha(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Colour guided filter (He et al.) of a soft mask, guided by the photo: the mask's blurry
    edge snaps to the photo's edges, hair strands included."""
    h, w = mask.shape
    r = max(2, round(min(h, w) * GF_RADIUS))
    s = GF_SCALE
    small = (max(1, w // s), max(1, h // s))
    guide = cv2.resize(rgb, small, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    p = cv2.resize(mask.astype(np.float32), small, interpolation=cv2.INTER_AREA)
    rs = max(1, r // s)
    a, b = _gf_coefficients(guide, p, rs, GF_EPS)
    full = rgb.astype(np.float32) / 255.0
    a = cv2.resize(a, (w, h), interpolation=cv2.INTER_LINEAR)
    b = cv2.resize(b, (w, h), interpolation=cv2.INTER_LINEAR)
    alpha = np.clip(np.einsum("hwc,hwc->hw", a, full) + b, 0.0, 1.0).astype(np.float32)
    # Only the unknown band is the filter's to decide: inside the body a light face on a light
    # backdrop must not turn translucent, and clear background stays clear.
    tri = trimap(mask)
    alpha[tri == 1.0] = 1.0
    alpha[tri == 0.0] = 0.0
    return alpha


def _gf_coefficients(guide: np.ndarray, p: np.ndarray, r: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel linear coefficients a (3) and b of the guided filter, averaged over windows."""
    mean_i = _box(guide, r)
    mean_p = _box(p, r)
    cov_ip = _box(guide * p[:, :, None], r) - mean_i * mean_p[:, :, None]
    sigma = _window_covariance(guide, mean_i, r) + eps * np.eye(3, dtype=np.float32)
    a = np.linalg.solve(sigma, cov_ip[..., None])[..., 0]
    b = mean_p - np.einsum("hwc,hwc->hw", a, mean_i)
    return _box(a, r), _box(b, r)


def _window_covariance(guide: np.ndarray, mean_i: np.ndarray, r: int) -> np.ndarray:
    h, w, _ = guide.shape
    cov = np.empty((h, w, 3, 3), np.float32)
    for i in range(3):
        for j in range(i, 3):
            v = _box(guide[:, :, i] * guide[:, :, j], r) - mean_i[:, :, i] * mean_i[:, :, j]
            cov[:, :, i, j] = v
            cov[:, :, j, i] = v
    return cov


def trimap(mask: np.ndarray) -> np.ndarray:
    """1 foreground, 0 background, 0.5 unknown (the soft edge plus a band around the silhouette)."""
    h, w = mask.shape
    band = max(2, round(min(h, w) * TRI_BAND))
    kernel = np.ones((2 * band + 1, 2 * band + 1), np.uint8)
    fg = cv2.erode((mask >= TRI_FG).astype(np.uint8), kernel)
    bg = cv2.erode((mask <= TRI_BG).astype(np.uint8), kernel)
    tri = np.full(mask.shape, 0.5, np.float32)
    tri[fg == 1] = 1.0
    tri[bg == 1] = 0.0
    return tri


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
