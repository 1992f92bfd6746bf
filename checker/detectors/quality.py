"""Image quality of the face: blur, resolution, noise, exposure, contrast, uneven light and skin colour.

Every measure but noise and resolution works on one shared crop of the face (the face-oval bounds),
scaled so the face is at most ``WORK_FACE_WIDTH`` pixels wide: the figures do not depend on the photo's
resolution and all the measures cost about 2 ms. Blur is judged net of the pixel floor (the sharpest edge
a face of that many pixels can show), so a sharp small face is not "blurry"; too few pixels is the
separate face_resolution measure (inter-eye distance in the upload's own pixels). Noise reads native
pixels (it is a per-pixel property that downscaling would average away), and then only on skin.
Calibration of every constant below: docs/calibration/quality.md.
"""

from __future__ import annotations

import math
from functools import cached_property, lru_cache
from typing import Any

import cv2
import numpy as np

from ..context import (
    CHIN,
    FACE_OVAL,
    FOREHEAD_TOP,
    LEFT_BROW,
    LEFT_EYE,
    LIPS,
    NOSE_BRIDGE,
    NOSE_TIP,
    RIGHT_BROW,
    RIGHT_EYE,
    Analysis,
    MeasureError,
)
from . import Measure, clamp_score, detector

# Working scale: faces wider than this (cheek to cheek) are shrunk to it. 160 px keeps eyelid,
# brow and lip edges several pixels wide, so a blur of ~1% of the face width is still visible.
WORK_FACE_WIDTH = 160
# Below this face width (native pixels) there is too little face to judge its quality.
MIN_FACE_WIDTH = 40
# The skin region is the face oval shrunk toward its centre by this factor (drops hair strands,
# ears and background at the rim), below the brows, minus eyes and lips.
SKIN_SHRINK = 0.85
# Upper arc of the face oval, cheek (234) over the forehead to cheek (454): with the brows it
# bounds the forehead, which bangs often cover.
_UPPER_ARC = FACE_OVAL[28:] + FACE_OVAL[:9]

# --- blur: edge blur sigma by re-blurring (Zhuo & Sim 2011), net of the pixel floor -----------------
# At an edge blurred by sigma, re-blurring by s0 lowers the gradient peak by R = sqrt(sigma^2 + s0^2) /
# sigma, so sigma = s0 / sqrt(R^2 - 1). Measured at the strongest edges of the working crop (the face at
# min(native, WORK_FACE_WIDTH) px). s0 is a fixed share of the working face width, so the re-blur spans
# the same eyelid, lip and iris structure on a 90 px face as on a 160 px one.
REBLUR_FACE_SHARE = 2.0 / 160  # s0 = 1.25 % of the working face width (2 px at 160 px)
EDGE_PERCENTILE = 95.0  # edges = gradient crests above this percentile inside the face oval
MIN_EDGE_POINTS = 20
# What a perfectly sharp face reads in working pixels: the discrete gradient's own spread plus the
# sampling of the edge. Subtracted in quadrature (blurs add as variances), it leaves the blur the face
# itself carries, which is then a share of the face width: the same at any face size.
BLUR_FLOOR_PX = 0.7
# Score: 50 when the net blur is this % of the face width: midway between the sharp calibration faces
# (up to 0.5 % added blur: at most 0.70) and those blurred by 1 % of the face width (at least 0.98), at
# face widths 90-480 px.
BLUR_PCT_AT_50 = 0.85

# --- noise: the flattest skin patches at native resolution --------------------------------------------
# High-pass residual (the green channel minus its Gaussian blur of NOISE_HIGHPASS px), local standard
# deviation over NOISE_WINDOW x NOISE_WINDOW native pixels at the skin points, and the
# NOISE_PERCENTILE-th percentile of those: the flattest patches hold noise and little texture, and
# noise adds to every patch alike. A mid band rather than the pixel-to-pixel differences: JPEG
# quantises the highest frequencies first, so a Laplacian-type estimator loses most of the noise that
# went through an encoder (Immerkaer's estimator read sigma 10 as 4.4-6.3 after quality 85 and 1.7-3.6
# after 75), this band keeps more of it (5.5-7.8 and 3.4-6.1).
NOISE_HIGHPASS = 1.0
NOISE_WINDOW = 5
NOISE_PERCENTILE = 10.0
MIN_NOISE_POINTS = 200
# Score: 50 at this noise reading (0-255 units of per-channel sigma): midway between the clean photos
# (worst 4.9: obama's grainy skin re-encoded at JPEG quality 85) and sigma 10 (at least 5.5 in PNG and
# in JPEG down to quality 85) of the calibration photos.
NOISE_AT_50 = 5.2

# --- exposure -------------------------------------------------------------------------------------
# Too dark: skin L* AND the face's highlights (98th percentile of L* over eyes, nose and mouth:
# sclera, teeth, speculars) must both be low. Dark skin at a normal exposure keeps bright
# highlights; an underexposed photo darkens them too. Each part scores 0 at the first figure and
# 50 at the second (linear); the score is the smaller of the two.
DARK_SKIN_L = (55.0, 40.0)
DARK_HIGHLIGHT_L = (70.0, 55.0)
HIGHLIGHT_PERCENTILE = 98.0
# Overexposed: share of skin with L* >= NEAR_WHITE_L; 25 % scores 50.
NEAR_WHITE_L = 95.0
WHITE_SHARE_AT_50 = 25.0

# --- contrast: RMS contrast (std / mean of luma) over eyes, brows, nose and mouth --------------------
# Unchanged by exposure gain (until clipping). Clean photos measure 22-44 %. Score 0 inside
# CONTRAST_OK, 50 at the figures in CONTRAST_AT_50 (linear outside the band).
CONTRAST_OK = (25.0, 45.0)
CONTRAST_AT_50 = (17.5, 60.0)

# --- uneven light: darker half's skin L* below the brighter half's, % ------------------------------
# Relative, so the same shadow scores alike on light and dark skin. Side-lit clean portraits
# reach 25 %; 32 % scores 50.
UNBALANCE_AT_50 = 32.0
MIN_HALF_PIXELS = 30

# --- skin colour: CIELAB a*b* distance from a natural-skin region -----------------------------------
# Natural skin (all tones, normal white balance) has hue 35-80 degrees and chroma 5-45 in a*b*;
# the measured clean photos sit at hue 42-63, chroma 11-30. Distance 8 (Delta E in a*b*) scores 50.
SKIN_HUE = (35.0, 80.0)
SKIN_CHROMA = (5.0, 45.0)
SKIN_DE_AT_50 = 8.0
MIN_SKIN_PIXELS = 100


def _score(raw: float, zero_at: float, fifty_at: float) -> float:
    """Linear 0-100 score: 0 at ``zero_at``, 50 at ``fifty_at`` (either direction), clamped."""
    return clamp_score(50.0 * (raw - zero_at) / (fifty_at - zero_at))


class FaceCrop:
    """The face crop every quality measure shares (built once per Analysis via ``a.memo``)."""

    def __init__(self, a: Analysis) -> None:
        if a.face_width < MIN_FACE_WIDTH:
            raise MeasureError(f"the face is {a.face_width:.0f} px wide; at least {MIN_FACE_WIDTH} px are needed")
        x0, y0, x1, y1 = a.face_rect
        if x1 - x0 < 8 or y1 - y0 < 8:
            raise MeasureError("the face lies outside the photo")
        # The arrays it needs, not the Analysis: a back-reference would make a reference cycle that
        # keeps every artefact of the request alive until the garbage collector's next full pass.
        self.mesh = a.mesh
        self.face_width = a.face_width
        self.native = a.rgb
        self.box = (x0, y0, x1, y1)
        self.scale = min(1.0, WORK_FACE_WIDTH / a.face_width)
        self.work_face_width = a.face_width * self.scale  # the face's width in working pixels
        self.rgb = _shrink(a.rgb[y0:y1, x0:x1], self.scale)
        self.shape = self.rgb.shape[:2]
        # Exact per-axis factors (sizes are rounded to whole pixels).
        self._xy_scale = np.array([self.shape[1] / (x1 - x0), self.shape[0] / (y1 - y0)])

    def to_work(self, pts: np.ndarray) -> np.ndarray:
        """Native pixel coordinates (N x 2) -> working-crop coordinates."""
        return (pts - np.array(self.box[:2], np.float64)) * self._xy_scale

    def to_native(self, yy: np.ndarray, xx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Working pixel indices -> the native pixel at each one's centre."""
        x0, y0 = self.box[:2]
        return (y0 + ((yy + 0.5) / self._xy_scale[1]).astype(np.intp),
                x0 + ((xx + 0.5) / self._xy_scale[0]).astype(np.intp))

    def _poly(self, idx: tuple[int, ...] | list[int]) -> np.ndarray:
        return self.to_work(self.mesh[list(idx), :2]).round().astype(np.int32)

    @cached_property
    def gray(self) -> np.ndarray:
        return cv2.cvtColor(self.rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)

    @cached_property
    def sobel(self) -> tuple[np.ndarray, np.ndarray]:
        return cv2.Sobel(self.gray, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(self.gray, cv2.CV_32F, 0, 1, ksize=3)

    @cached_property
    def grad(self) -> np.ndarray:
        """Sobel gradient magnitude of the working gray."""
        return cv2.magnitude(*self.sobel)

    @cached_property
    def lab8(self) -> np.ndarray:
        """OpenCV's 8-bit CIELAB (L*255/100, a*+128, b*+128): a table lookup, 7x faster than the
        float conversion and fine to 0.4 L* / 1 a*b* unit, far below what these measures resolve.
        Convert with :func:`_lab` only the pixels a measure reads."""
        return cv2.cvtColor(self.rgb, cv2.COLOR_RGB2LAB)

    def lightness(self, mask: np.ndarray) -> np.ndarray:
        """L* (0-100) of the pixels under ``mask``."""
        return self.lab8[..., 0][mask].astype(np.float32) * (100.0 / 255.0)

    @cached_property
    def oval(self) -> np.ndarray:
        m = np.zeros(self.shape, np.uint8)
        cv2.fillPoly(m, [self._poly(FACE_OVAL)], (1,))
        return m.astype(bool)

    @cached_property
    def skin(self) -> np.ndarray:
        """Cheeks, nose, upper lip and chin: the shrunk oval below the brows, minus eyes and lips."""
        oval = self.to_work(self.mesh[list(FACE_OVAL), :2])
        centre = oval.mean(axis=0)
        m = np.zeros(self.shape, np.uint8)
        cv2.fillPoly(m, [(centre + (oval - centre) * SKIN_SHRINK).round().astype(np.int32)], (1,))
        holes = np.zeros_like(m)
        for part in (RIGHT_EYE, LEFT_EYE, LIPS, _UPPER_ARC + RIGHT_BROW + LEFT_BROW):
            cv2.fillPoly(holes, [cv2.convexHull(self._poly(part))], (1,))
        grow = max(1, round(0.03 * self.face_width * self.scale))
        grown = cv2.dilate(holes, np.ones((2 * grow + 1,) * 2, np.uint8))
        return (m == 1) & (grown == 0)

    @cached_property
    def features(self) -> np.ndarray:
        """Convex hull of brows, eyes, mouth and chin: the face's own contrast, no hair or background."""
        m = np.zeros(self.shape, np.uint8)
        idx = RIGHT_BROW + LEFT_BROW + RIGHT_EYE + LEFT_EYE + LIPS + (CHIN,)
        cv2.fillPoly(m, [cv2.convexHull(self._poly(idx))], (1,))
        return m.astype(bool)

    @cached_property
    def skin_lab(self) -> np.ndarray:
        """N x 3 CIELAB of the skin pixels."""
        pix = self.lab8[self.skin]
        if len(pix) < MIN_SKIN_PIXELS:
            raise MeasureError("too little facial skin is visible to judge its light and colour")
        return (pix.astype(np.float32) - np.array([0, 128, 128], np.float32)) * np.array([100 / 255, 1, 1], np.float32)

    @cached_property
    def skin_median(self) -> np.ndarray:
        return np.median(self.skin_lab, axis=0)


def _shrink(img: np.ndarray, scale: float) -> np.ndarray:
    """Resize by ``scale`` <= 1: Gaussian pyramid halvings while the factor is 1/2 or less, then
    bilinear for the rest. Anti-aliased like INTER_AREA at a fifth of its cost on uint8 colour."""
    if scale >= 1.0:
        return np.ascontiguousarray(img)
    h, w = img.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    while img.shape[1] >= 2 * size[0] and img.shape[0] >= 2 * size[1]:
        img = cv2.pyrDown(img)
    return cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)


def face_crop(a: Analysis) -> FaceCrop:
    return a.memo("quality.crop", lambda: FaceCrop(a))


def _grad(img: np.ndarray) -> np.ndarray:
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3)
    return cv2.magnitude(gx, gy)


# --- blur -----------------------------------------------------------------------------------------
# tan(22.5 deg): splits gradient directions into horizontal, vertical and the two diagonals.
_TAN_22_5 = 0.41421356


def _is_crest(gx: np.ndarray, gy: np.ndarray, mag: np.ndarray, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """Non-maximum suppression across the edge (as in Canny) at the points (yy, xx): one crest
    pixel per edge profile, every pixel along the edge kept, so a wide (blurred) edge still yields
    many points. Points are at least one pixel inside the image."""
    ax, ay = np.abs(gx[yy, xx]), np.abs(gy[yy, xx])
    same_sign = gx[yy, xx] * gy[yy, xx] >= 0
    dy = np.where(ay <= _TAN_22_5 * ax, 0, 1)  # mostly horizontal gradient: compare left/right
    dx = np.where(ax <= _TAN_22_5 * ay, 0, np.where(dy == 0, 1, np.where(same_sign, 1, -1)))
    m = mag[yy, xx]
    return (m >= mag[yy + dy, xx + dx]) & (m >= mag[yy - dy, xx - dx])


def edge_blur_sigma(c: FaceCrop) -> float:
    """Median blur sigma at the face's strongest edges, in working pixels (floor included)."""
    inside = cv2.erode(c.oval.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    inside[:2], inside[-2:], inside[:, :2], inside[:, -2:] = False, False, False, False  # erode keeps the border
    if inside.sum() < 100:
        raise MeasureError("the face is too small to judge its sharpness")
    gx, gy = c.sobel
    g1 = c.grad
    floor = max(float(np.percentile(g1[inside], EDGE_PERCENTILE)), 8.0)  # 8: ~2 grey levels per pixel
    yy, xx = np.nonzero(inside & (g1 > floor))
    crest = _is_crest(gx, gy, g1, yy, xx)
    yy, xx = yy[crest], xx[crest]
    if len(yy) < MIN_EDGE_POINTS:
        raise MeasureError("the face shows too few edges to judge its sharpness")
    s0 = REBLUR_FACE_SHARE * c.work_face_width
    g2 = _grad(cv2.GaussianBlur(c.gray, (0, 0), s0))
    ratio = np.maximum(g1[yy, xx] / np.maximum(g2[yy, xx], 1e-6), 1.0 + 1e-4)
    sigma = np.minimum(s0 / np.sqrt(ratio**2 - 1.0), 50.0)
    return float(np.median(sigma))


def net_blur_pct(sigma: float, work_face_width: float) -> float:
    """Blur the face carries beyond the pixel floor, as % of the face width."""
    return 100.0 * math.sqrt(max(0.0, sigma * sigma - BLUR_FLOOR_PX * BLUR_FLOOR_PX)) / work_face_width


@detector("face_blur", "face_blur_sigma")
def face_blur(a: Analysis) -> dict[str, Any]:
    c = face_crop(a)
    sigma = edge_blur_sigma(c)
    pct = net_blur_pct(sigma, c.work_face_width)
    return {
        "face_blur": Measure(value=round(pct, 3), score=_score(pct, 0.0, BLUR_PCT_AT_50)),
        "face_blur_sigma": round(sigma, 3),  # working pixels, before the floor is taken off
    }


# --- resolution -----------------------------------------------------------------------------------
def upload_eye_distance(a: Analysis) -> float:
    """Iris centre to iris centre in the pixels of the photo as uploaded.

    The mesh is in the analysed image's pixels; should the Analysis ever work on a resized copy,
    the distance is scaled back to the upload's size, which is what the threshold is about."""
    left, right = a.eyes
    dist = float(np.linalg.norm(right - left))
    return dist * a.photo.width / a.width


@detector("face_resolution")
def face_resolution(a: Analysis) -> dict[str, Any]:
    """Pixels, no score: the rule's minimum (rules/quality.json) is in the same unit."""
    return {"face_resolution": round(upload_eye_distance(a), 1)}


# --- noise ----------------------------------------------------------------------------------------
def _highpass_gain() -> float:
    """RMS of (delta - Gaussian) for the high-pass kernel: its output sigma on unit white noise."""
    size = 2 * math.ceil(4 * NOISE_HIGHPASS) + 1
    k = cv2.getGaussianKernel(size, NOISE_HIGHPASS)
    kernel = -(k @ k.T)
    kernel[size // 2, size // 2] += 1.0
    return float(np.sqrt((kernel**2).sum()))


@lru_cache(maxsize=1)
def _white_noise_percentile_factor() -> float:
    """What the flattest-patch percentile reads on pure white noise of sigma 1 (a local std of a
    few dozen samples spreads, and its low percentile sits below 1): computed once, the estimate
    is divided by it so that the value reads as the noise sigma itself."""
    field = np.random.default_rng(0).normal(0.0, 1.0, (256, 256)).astype(np.float32)
    return _patch_noise(field, np.ones(field.shape, bool))


def _patch_noise(channel: np.ndarray, where: np.ndarray) -> float:
    """NOISE_PERCENTILE-th percentile of the local std of the high-pass residual under ``where``."""
    r = channel - cv2.GaussianBlur(channel, (0, 0), NOISE_HIGHPASS)
    win = (NOISE_WINDOW, NOISE_WINDOW)
    mean = cv2.blur(r, win)
    var = cv2.blur(r * r, win) - mean * mean
    return float(np.percentile(np.sqrt(np.maximum(var[where], 0.0)), NOISE_PERCENTILE)) / _highpass_gain()


def noise_sigma(c: FaceCrop) -> float:
    """Noise sigma (0-255) of the green channel on the flattest skin, at native resolution."""
    if c.skin.sum() < MIN_NOISE_POINTS:
        raise MeasureError("too little facial skin is visible to measure noise")
    x0, y0, x1, y1 = c.box
    native_skin = cv2.resize(c.skin.astype(np.uint8), (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
    # Eroded by a window, so that no patch reaches past the skin into eyes, brows, lips or the rim.
    where = cv2.erode(native_skin, np.ones((NOISE_WINDOW, NOISE_WINDOW), np.uint8)).astype(bool)
    if where.sum() < MIN_NOISE_POINTS:
        raise MeasureError("too little smooth skin to measure noise")
    green = c.native[y0:y1, x0:x1, 1].astype(np.float32)
    return _patch_noise(green, where) / _white_noise_percentile_factor()


@detector("face_noise")
def face_noise(a: Analysis) -> dict[str, Any]:
    sigma = noise_sigma(face_crop(a))
    return {"face_noise": Measure(value=round(sigma, 2), score=_score(sigma, 0.0, NOISE_AT_50))}


# --- exposure -------------------------------------------------------------------------------------
@detector("face_too_dark", "face_highlight_lightness")
def face_too_dark(a: Analysis) -> dict[str, Any]:
    c = face_crop(a)
    skin_l = float(c.skin_median[0])
    feat = c.lightness(c.features)
    if len(feat) < MIN_SKIN_PIXELS:
        raise MeasureError("the eyes and mouth are not visible enough to judge the exposure")
    high_l = float(np.percentile(feat, HIGHLIGHT_PERCENTILE))
    score = min(_score(skin_l, *DARK_SKIN_L), _score(high_l, *DARK_HIGHLIGHT_L))
    return {
        "face_too_dark": Measure(value=round(skin_l, 1), score=score),
        "face_highlight_lightness": round(high_l, 1),
    }


@detector("face_over_kbt")
def face_over_kbt(a: Analysis) -> dict[str, Any]:
    c = face_crop(a)
    share = 100.0 * float(np.mean(c.skin_lab[:, 0] >= NEAR_WHITE_L))
    return {"face_over_kbt": Measure(value=round(share, 1), score=_score(share, 0.0, WHITE_SHARE_AT_50))}


# --- contrast -------------------------------------------------------------------------------------
@detector("face_contrast")
def face_contrast(a: Analysis) -> dict[str, Any]:
    c = face_crop(a)
    luma = c.gray[c.features]
    if len(luma) < MIN_SKIN_PIXELS:
        raise MeasureError("the face's features are not visible enough to judge its contrast")
    rms = 100.0 * float(luma.std()) / max(float(luma.mean()), 1.0)
    low_ok, high_ok = CONTRAST_OK
    low_50, high_50 = CONTRAST_AT_50
    score = _score(rms, low_ok, low_50) if rms < low_ok else _score(rms, high_ok, high_50) if rms > high_ok else 0.0
    return {"face_contrast": Measure(value=round(rms, 1), score=score)}


# --- uneven light ---------------------------------------------------------------------------------
@detector("face_unbalance")
def face_unbalance(a: Analysis) -> dict[str, Any]:
    c = face_crop(a)
    skin = c.skin
    # Mesh midline (forehead, nose bridge, nose tip, chin) as x = p*y + q, in working pixels, so a
    # rolled head is split along its own axis rather than the image's vertical.
    mid = c.to_work(a.mesh[[FOREHEAD_TOP, NOSE_BRIDGE, NOSE_TIP, CHIN], :2])
    p, q = np.polyfit(mid[:, 1], mid[:, 0], 1)
    yy, xx = np.nonzero(skin)
    left = xx < p * yy + q
    if left.sum() < MIN_HALF_PIXELS or (~left).sum() < MIN_HALF_PIXELS:
        raise MeasureError("one half of the face is not visible enough to compare the light")
    lightness = c.skin_lab[:, 0]  # np.nonzero and boolean indexing share the same (row-major) order
    l_left, l_right = float(np.median(lightness[left])), float(np.median(lightness[~left]))
    bright = max(l_left, l_right, 1.0)
    drop = 100.0 * abs(l_left - l_right) / bright
    return {"face_unbalance": Measure(value=round(drop, 1), score=_score(drop, 0.0, UNBALANCE_AT_50))}


# --- skin colour ----------------------------------------------------------------------------------
def skin_locus_distance(a_star: float, b_star: float) -> float:
    """a*b* distance from (a*, b*) to the natural-skin sector (SKIN_HUE x SKIN_CHROMA); 0 inside."""
    chroma = math.hypot(a_star, b_star)
    hue = math.degrees(math.atan2(b_star, a_star))
    if SKIN_HUE[0] <= hue <= SKIN_HUE[1]:
        return max(SKIN_CHROMA[0] - chroma, chroma - SKIN_CHROMA[1], 0.0)
    # Outside the hue wedge the nearest point lies on one of its two bounding segments.
    best = math.inf
    for h in SKIN_HUE:
        ux, uy = math.cos(math.radians(h)), math.sin(math.radians(h))
        t = min(max(a_star * ux + b_star * uy, SKIN_CHROMA[0]), SKIN_CHROMA[1])
        best = min(best, math.hypot(a_star - t * ux, b_star - t * uy))
    return best


@detector("skin_color", "face_skin_lab")
def skin_color(a: Analysis) -> dict[str, Any]:
    c = face_crop(a)
    lab = c.skin_median
    dist = skin_locus_distance(float(lab[1]), float(lab[2]))
    return {
        "skin_color": Measure(value=round(dist, 1), score=_score(dist, 0.0, SKIN_DE_AT_50)),
        "face_skin_lab": [round(float(v), 1) for v in lab],
    }
