"""File-size control: encode with the DPI written into the file, hit a size target.

RGB becomes JPEG (DPI in the JFIF density), RGBA becomes PNG (DPI in pHYs). Size targets follow the
two seeds:

- seed 000 ``kb`` (``set_kb``): an exact size in KB (1 KB = 1024 bytes). The highest JPEG quality
  whose file is not larger than the target is found by binary search, then the file is grown to
  the exact byte count with comment segments that decoders skip, so the pixels do not change.
- seed 002 ``quality`` / ``min_file_size`` / ``max_file_size`` (bytes): a given quality is used as
  is; otherwise the default quality 92 is moved just as far as the window needs, and a file still
  below the minimum at full quality is padded up to it.

Making the pixels smaller is the last resort and only happens when the caller allows it
(``allow_resize``): portals check pixel sizes too. A target that cannot be met is
``FILE_SIZE_UNREACHABLE`` with the smallest (or largest) size that can be made.
"""

from __future__ import annotations

import io
import math
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from ..errors import CheckerError

KB = 1024
DEFAULT_QUALITY = 92  # seed 002's default
DEFAULT_DPI = 300  # both seeds' default
# Our own intake refuses more than 15 MB, so a larger output could not even be checked again.
MAX_OUTPUT_BYTES = 15 * 1024 * 1024
MIN_SIDE = 9  # intake refuses sides <= 8 px; resizing never goes below this
# When pixels must shrink, they shrink until the file fits at this quality: below it JPEG
# blocking shows on faces, and a sharper smaller photo beats a blocky larger one.
RESIZE_QUALITY = 70
# zlib levels. At 600 x 800 a photo takes 43 ms at level 3, 114 ms at 6 (12% smaller) and 880 ms at
# 9 (5% smaller again): 3 for ordinary output, 6 only when a size target needs the smaller file.
PNG_LEVEL = 3
PNG_SMALL_LEVEL = 6

_COM = b"\xff\xfe"
_COM_OVERHEAD = 4  # marker + 2-byte length (the length counts itself)
_COM_MAX_PAYLOAD = 0xFFFF - 2
_PAD_CHUNK = b"paDd"  # PNG private, ancillary, safe-to-copy chunk: every decoder skips it
_PNG_CHUNK_OVERHEAD = 12  # length + type + CRC
_PNG_MAX_CHUNK = 1 << 24  # keep each padding chunk modest; many decoders cap chunk sizes
_PAD_TEXT = b"idphoto size padding "


@dataclass(frozen=True)
class SizedImage:
    """An encoded file and what was done to produce it."""

    data: bytes
    format: str  # "JPEG" or "PNG"
    quality: int | None  # JPEG quality used (None for PNG)
    padding: int  # bytes added inside the file to reach a size (0 when none)
    resized: bool  # True when the pixels were scaled down to reach the size
    width: int  # pixel size of the encoded image
    height: int
    dpi: int

    @property
    def file_size(self) -> int:
        return len(self.data)


# ---------------------------------------------------------------- encoding


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4):
        raise CheckerError("INVALID_ARGUMENT", "the image must be an H x W x 3 (RGB) or H x W x 4 (RGBA) uint8 array")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise CheckerError("INVALID_ARGUMENT", "the image is empty")


def _check_dpi(dpi: float) -> int:
    # JFIF stores the density as a 16-bit integer.
    if isinstance(dpi, bool) or not isinstance(dpi, int | float) or not 1 <= dpi <= 65535:
        raise CheckerError("INVALID_ARGUMENT", f"dpi must be a number between 1 and 65535, not {dpi!r}")
    return int(round(dpi))


def _check_quality(quality: int) -> int:
    if isinstance(quality, bool) or not isinstance(quality, int | np.integer) or not 1 <= quality <= 100:
        raise CheckerError("INVALID_ARGUMENT", f"quality must be an integer from 1 to 100, not {quality!r}")
    return int(quality)


def _jpeg(rgb: np.ndarray, quality: int, dpi: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb), "RGB").save(buf, "JPEG", quality=quality, dpi=(dpi, dpi))
    return buf.getvalue()


def _png(image: np.ndarray, dpi: int, level: int = PNG_LEVEL) -> bytes:
    buf = io.BytesIO()
    mode = "RGBA" if image.shape[2] == 4 else "RGB"
    Image.fromarray(np.ascontiguousarray(image), mode).save(buf, "PNG", dpi=(dpi, dpi), compress_level=level)
    return buf.getvalue()


def _format(image: np.ndarray, fmt: str | None) -> str:
    """The file format: asked for, or by channels (RGB -> JPEG, RGBA -> PNG)."""
    if fmt is None:
        return "PNG" if image.shape[2] == 4 else "JPEG"
    f = str(fmt).strip().upper().replace("JPG", "JPEG")
    if f not in ("JPEG", "PNG"):
        raise CheckerError("INVALID_ARGUMENT", f"format must be JPEG or PNG, not {fmt!r}")
    if f == "JPEG" and image.shape[2] == 4:
        raise CheckerError("INVALID_ARGUMENT", "JPEG has no transparency: flatten the RGBA image first")
    return f


def encode(image: np.ndarray, *, dpi: float = DEFAULT_DPI, quality: int = DEFAULT_QUALITY,
           fmt: str | None = None) -> bytes:
    """RGB -> JPEG at ``quality``, RGBA -> PNG (lossless; quality unused), the DPI written into the
    file. ``fmt="PNG"`` writes an RGB image as a 3-channel PNG (smaller and faster than adding an
    opaque alpha channel)."""
    _check_image(image)
    d = _check_dpi(dpi)
    if _format(image, fmt) == "PNG":
        return _png(image, d)
    return _jpeg(image, _check_quality(quality), d)


# ---------------------------------------------------------------- padding


def _payloads(n: int, max_payload: int, overhead: int) -> list[int]:
    """Payload sizes of the padding blocks that add exactly ``n`` bytes, each costing ``overhead``
    bytes of header: as large as allowed, but never leaving a remainder too small for its header."""
    sizes = []
    left = n
    while left:
        take = min(left, max_payload + overhead)
        if 0 < left - take < overhead:
            take -= overhead
        sizes.append(take - overhead)
        left -= take
    return sizes


def _pad_jpeg(data: bytes, n: int) -> bytes:
    """Insert exactly ``n`` bytes (n == 0 or n >= 4) of COM segments after the JFIF header."""
    if n == 0:
        return data
    if n < _COM_OVERHEAD or data[:2] != b"\xff\xd8":
        raise ValueError(f"cannot pad a JPEG by {n} bytes")
    pos = 2
    if data[2:4] == b"\xff\xe0":  # JFIF APP0 must stay first, so the comments go after it
        pos = 4 + struct.unpack(">H", data[4:6])[0]
    segments = []
    for payload in _payloads(n, _COM_MAX_PAYLOAD, _COM_OVERHEAD):
        body = (_PAD_TEXT * (payload // len(_PAD_TEXT) + 1))[:payload]
        segments.append(_COM + struct.pack(">H", payload + 2) + body)
    return data[:pos] + b"".join(segments) + data[pos:]


def _pad_png(data: bytes, n: int) -> bytes:
    """Insert exactly ``n`` bytes (n == 0 or n >= 12) of private ancillary chunks before IEND."""
    if n == 0:
        return data
    if n < _PNG_CHUNK_OVERHEAD or not data.endswith(b"IEND\xaeB`\x82"):
        raise ValueError(f"cannot pad a PNG by {n} bytes")
    chunks = []
    for payload in _payloads(n, _PNG_MAX_CHUNK, _PNG_CHUNK_OVERHEAD):
        body = bytes(payload)
        crc = zlib.crc32(_PAD_CHUNK + body) & 0xFFFFFFFF
        chunks.append(struct.pack(">I", payload) + _PAD_CHUNK + body + struct.pack(">I", crc))
    iend = len(data) - 12
    return data[:iend] + b"".join(chunks) + data[iend:]


def _min_pad(fmt: str) -> int:
    return _COM_OVERHEAD if fmt == "JPEG" else _PNG_CHUNK_OVERHEAD


def _pad(fmt: str, data: bytes, n: int) -> bytes:
    return _pad_jpeg(data, n) if fmt == "JPEG" else _pad_png(data, n)


# ---------------------------------------------------------------- search


def _scaled(image: np.ndarray, scale: float) -> np.ndarray:
    """Uniform down-scale (same factor on both axes, never a stretch)."""
    h, w = image.shape[:2]
    size = (max(MIN_SIDE, round(w * scale)), max(MIN_SIDE, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _min_scale(image: np.ndarray) -> float:
    return min(1.0, MIN_SIDE / min(image.shape[:2]))


def _jpeg_scale(q: int) -> float:
    """libjpeg's quality -> quantisation scale, as a number that log file size is nearly linear in
    (file size is far from linear in quality itself: it triples between 90 and 100)."""
    scale = 5000 / q if q < 50 else 200 - 2 * q
    return -math.log(max(scale, 1))


def _largest_fitting(size_of: Callable[[int], int], lo: int, hi: int, limit: int) -> int | None:
    """The largest q in [lo, hi] with size_of(q) <= limit while size_of(q + 1) > limit (file size
    grows with quality), or None when even ``lo`` is too big.

    A secant search on log(size) against libjpeg's quantisation scale, started at qualities 75 and
    92 and kept inside the bracket of known fitting / too-big qualities: about 4 encodes on the
    photos in ../shared/faces (8 at most) where bisection over 1-100 takes 9."""
    if hi - lo < 3:
        for q in range(hi, lo - 1, -1):
            if size_of(q) <= limit:
                return q
        return None
    below, above = lo - 1, hi + 1  # the bracket: best known fitting q, lowest known too-big q
    tried: list[tuple[int, int]] = []

    def probe(q: int) -> None:
        nonlocal below, above
        size = size_of(q)
        tried.append((q, size))
        if size <= limit:
            below = max(below, q)
        else:
            above = min(above, q)

    for q in (min(max(75, lo), hi), hi if hi <= 92 else 92):
        probe(q)
    target = math.log(max(limit, 1))
    while above - below > 1:
        first, last = max(below + 1, lo), min(above - 1, hi)
        (q1, s1), (q2, s2) = tried[-2], tried[-1]
        q = (first + last) // 2
        if s1 != s2 and q1 != q2:
            x1, x2 = _jpeg_scale(q1), _jpeg_scale(q2)
            x = x2 + (target - math.log(s2)) * (x2 - x1) / (math.log(s2) - math.log(s1))
            q = min(range(first, last + 1), key=lambda k: abs(_jpeg_scale(k) - x))
        if any(q == k for k, _ in tried):  # no progress: fall back to halving the bracket
            q = (first + last) // 2
        probe(q)
    return below if below >= lo else None


class _Encoder:
    """Encodes one image (possibly scaled) at several qualities, caching each result."""

    def __init__(self, image: np.ndarray, dpi: int, fmt: str | None = None) -> None:
        self.fmt = _format(image, fmt)
        self.image = image
        self.dpi = dpi
        self.scale = 1.0
        self._cache: dict[tuple[float, int], bytes] = {}
        self._pixels: dict[float, np.ndarray] = {1.0: image}

    def pixels(self, scale: float) -> np.ndarray:
        if scale not in self._pixels:
            self._pixels[scale] = _scaled(self.image, scale)
        return self._pixels[scale]

    def get(self, q: int, scale: float = 1.0) -> bytes:
        """JPEG at quality q; for PNG, q selects the zlib level (q == 1: PNG_SMALL_LEVEL, else PNG_LEVEL)."""
        key = (scale, q)
        if key not in self._cache:
            px = self.pixels(scale)
            if self.fmt == "JPEG":
                self._cache[key] = _jpeg(px, q, self.dpi)
            else:
                self._cache[key] = _png(px, self.dpi, PNG_SMALL_LEVEL if q == 1 else PNG_LEVEL)
        return self._cache[key]

    def size(self, q: int, scale: float = 1.0) -> int:
        return len(self.get(q, scale))

    def result(self, q: int, scale: float, padding: int = 0) -> SizedImage:
        data = self.get(q, scale)
        if padding:
            data = _pad(self.fmt, data, padding)
        h, w = self.pixels(scale).shape[:2]
        return SizedImage(data=data, format=self.fmt, quality=q if self.fmt == "JPEG" else None, padding=padding,
                          resized=scale < 1.0, width=w, height=h, dpi=self.dpi)

    # The quality range this format has: JPEG 1-100; PNG two "qualities" (1 = zlib 9, 2 = ordinary).
    @property
    def q_range(self) -> tuple[int, int]:
        return (1, 100) if self.fmt == "JPEG" else (1, 2)

    @property
    def default_q(self) -> int:
        return DEFAULT_QUALITY if self.fmt == "JPEG" else 2


def _unreachable(target: str, smallest: int | None = None, largest: int | None = None) -> CheckerError:
    if smallest is not None:
        msg = (f"cannot make a file of {target}: the smallest this image can be encoded to is {smallest} bytes "
               f"({smallest / KB:.1f} KB)")
    else:
        msg = (f"cannot make a file of {target}: the largest output allowed is {largest} bytes "
               f"({(largest or 0) // KB} KB)")
    return CheckerError("FILE_SIZE_UNREACHABLE", msg)


def _shrink_scale(enc: _Encoder, limit: int, target: str) -> float:
    """The largest scale (< 1) at which the image fits ``limit`` bytes at RESIZE_QUALITY (or at the
    lowest quality when even the smallest allowed scale needs it)."""
    lo_q = enc.q_range[0]
    q = RESIZE_QUALITY if enc.fmt == "JPEG" else lo_q
    s_min = _min_scale(enc.image)
    if enc.size(q, s_min) > limit:
        if enc.size(lo_q, s_min) > limit:
            raise _unreachable(target, smallest=enc.size(lo_q, s_min))
        return s_min
    # File size grows with the pixel count: bisect the scale to within half a percent.
    lo, hi = s_min, 1.0
    for _ in range(12):
        if hi - lo < 0.005:
            break
        mid = round((lo + hi) / 2, 4)
        if enc.size(q, mid) <= limit:
            lo = mid
        else:
            hi = mid
    return lo


def _fit_at_most(enc: _Encoder, limit: int, allow_resize: bool, target: str,
                 q_max: int | None = None) -> tuple[int, float]:
    """Best (quality, scale) whose file is at most ``limit`` bytes: full size whenever possible."""
    lo_q, hi_q = enc.q_range
    q = _largest_fitting(enc.size, lo_q, q_max or hi_q, limit)
    if q is not None:
        return q, 1.0
    if not allow_resize:
        raise _unreachable(target, smallest=enc.size(lo_q))
    scale = _shrink_scale(enc, limit, target)
    q = _largest_fitting(lambda k: enc.size(k, scale), lo_q, hi_q, limit)
    if q is None:  # cannot happen: _shrink_scale checked the lowest quality at this scale
        raise _unreachable(target, smallest=enc.size(lo_q, scale))
    return q, scale


def _exact(enc: _Encoder, q: int, scale: float, total: int) -> SizedImage:
    """Pad the (q, scale) file to ``total`` bytes; when the gap is too small for a padding block,
    step the quality down until it is not (or accept the few bytes short)."""
    lo_q = enc.q_range[0]
    k = q
    while k >= lo_q:
        gap = total - enc.size(k, scale)
        if gap == 0 or gap >= _min_pad(enc.fmt):
            return enc.result(k, scale, gap)
        k -= 1
    return enc.result(q, scale)  # a gap of a few bytes (< 12) that no padding block can fill


# ---------------------------------------------------------------- public API


def set_file_size(image: np.ndarray, nbytes: int, *, dpi: float = DEFAULT_DPI, allow_resize: bool = False,
                  fmt: str | None = None) -> SizedImage:
    """Encode to exactly ``nbytes`` bytes (JPEG for RGB, PNG for RGBA).

    The highest quality that fits is used and the rest is padding inside the file. Raises
    FILE_SIZE_UNREACHABLE when even the lowest quality is larger (and resizing is not allowed or
    does not help) or when ``nbytes`` exceeds MAX_OUTPUT_BYTES.
    """
    _check_image(image)
    d = _check_dpi(dpi)
    if isinstance(nbytes, bool) or not isinstance(nbytes, int | np.integer) or nbytes <= 0:
        raise CheckerError("INVALID_ARGUMENT", f"the target size must be a positive number of bytes, not {nbytes!r}")
    nbytes = int(nbytes)
    target = f"{nbytes} bytes ({nbytes / KB:.1f} KB)"
    if nbytes > MAX_OUTPUT_BYTES:
        raise _unreachable(target, largest=MAX_OUTPUT_BYTES)
    enc = _Encoder(image, d, fmt)
    q, scale = _fit_at_most(enc, nbytes, allow_resize, target)
    return _exact(enc, q, scale, nbytes)


def set_kb(image: np.ndarray, kb: int, *, dpi: float = DEFAULT_DPI, allow_resize: bool = False,
           fmt: str | None = None) -> SizedImage:
    """Seed 000's ``kb``: encode to exactly ``kb`` * 1024 bytes (see :func:`set_file_size`)."""
    if isinstance(kb, bool) or not isinstance(kb, int | np.integer) or kb <= 0:
        raise CheckerError("INVALID_ARGUMENT", f"kb must be a positive integer, not {kb!r}")
    return set_file_size(image, int(kb) * KB, dpi=dpi, allow_resize=allow_resize, fmt=fmt)


def fit_file_size(image: np.ndarray, *, dpi: float = DEFAULT_DPI, quality: int | None = None,
                  min_file_size: int | None = None, max_file_size: int | None = None,
                  allow_resize: bool = False, fmt: str | None = None) -> SizedImage:
    """Seed 002's file-size control.

    ``quality`` (1-100) is used as given and the window is ignored, as the seed says. Without it the
    default quality 92 is used when its file lies in [min_file_size, max_file_size]; a file that is
    too large gets the highest quality below 92 that fits (then, if allowed, fewer pixels); one that
    is too small gets the lowest quality above 92 that reaches the minimum, and padding when even
    quality 100 does not.
    """
    _check_image(image)
    d = _check_dpi(dpi)
    for name, v in (("min_file_size", min_file_size), ("max_file_size", max_file_size)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 0):
            raise CheckerError("INVALID_ARGUMENT", f"{name} must be a number of bytes >= 0, not {v!r}")
    enc = _Encoder(image, d, fmt)
    if quality is not None:
        q = _check_quality(quality)
        return enc.result(q if enc.fmt == "JPEG" else enc.default_q, 1.0)
    lo = int(min_file_size or 0)
    hi = int(max_file_size) if max_file_size is not None else MAX_OUTPUT_BYTES
    if lo > hi:
        raise CheckerError("INVALID_ARGUMENT", f"min_file_size ({lo}) is larger than max_file_size ({hi})")
    window = f"between {lo} and {hi} bytes"
    if lo > MAX_OUTPUT_BYTES:
        raise _unreachable(window, largest=MAX_OUTPUT_BYTES)
    hi = min(hi, MAX_OUTPUT_BYTES)
    q0 = enc.default_q
    s0 = enc.size(q0)
    if lo <= s0 <= hi:
        return enc.result(q0, 1.0)
    if s0 > hi:
        q, scale = _fit_at_most(enc, hi, allow_resize, window, q_max=q0)
        size = enc.size(q, scale)
        # A window narrower than one quality step: top the smaller file up to the minimum.
        return enc.result(q, scale) if size >= lo else _exact(enc, q, scale, lo)
    # Too small: raise the quality just enough, and pad only when even the top quality falls short.
    q_top = enc.q_range[1]
    for q in range(q0 + 1, q_top + 1):
        size = enc.size(q)
        if size >= lo:
            if size <= hi:
                return enc.result(q, 1.0)
            return _exact(enc, q - 1, 1.0, lo)
    return _exact(enc, q_top, 1.0, lo)
