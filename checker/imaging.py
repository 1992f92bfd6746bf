"""Image intake: bytes or base64 -> a validated, decoded :class:`Photo`.

The format is sniffed from the bytes (never from a file name), limits are enforced on the header
before any pixel is decoded, EXIF orientation is applied and alpha is flattened for analysis.

HEIC/HEIF (what phones send) is decoded by pillow-heif, registered with Pillow the first time such
a file arrives; AVIF by Pillow's own plugin. Both are told apart from other ISO media files (MP4
video, QuickTime, Canon raw) by the brands of their ``ftyp`` box.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import re
import threading
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps

from .errors import CheckerError

MAX_BYTES = 15 * 1024 * 1024
MAX_SIDE = 4096
MIN_SIDE = 9  # "each side > 8 px"

SUPPORTED_FORMATS = ("JPEG", "PNG", "BMP", "GIF", "TIFF", "WEBP", "HEIF", "AVIF")

# ISO base media files (HEIF, AVIF, MP4, ...) start with an ``ftyp`` box: size, "ftyp", a major
# brand, a minor version, then compatible brands. HEIC is HEIF holding HEVC pictures; mif1/msf1 are
# the generic HEIF image/sequence brands, AVIF's AV1 pictures come in the same container.
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_GENERIC_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})
_FTYP_MAX = 256  # more compatible brands than this is not a real ftyp box

# Magic numbers: (offset, bytes, format). Formats we recognise but do not accept come second so that
# such an upload is told "unsupported format" rather than "not an image".
_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG"),
    (0, b"BM", "BMP"),
    (0, b"GIF87a", "GIF"),
    (0, b"GIF89a", "GIF"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
    (0, b"\x00\x00\x01\x00", "ICO"),
    (0, b"8BPS", "PSD"),
    (0, b"\x00\x00\x00\x0cjP  ", "JPEG2000"),
    (0, b"\xff\x4f\xff\x51", "JPEG2000"),
)

_DATA_URL = re.compile(r"^data:[\w/+.-]*(;[\w=.-]+)*;base64,", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Limits:
    """Input limits; the defaults are the check API's (15 MB, 8 px < side <= 4096)."""

    max_bytes: int = MAX_BYTES
    max_side: int = MAX_SIDE
    min_side: int = MIN_SIDE
    formats: tuple[str, ...] = SUPPORTED_FORMATS


@dataclass(frozen=True, eq=False)
class Photo:
    """A decoded photo ready for analysis."""

    rgb: np.ndarray  # H x W x 3, uint8, orientation applied, alpha flattened onto white
    format: str  # sniffed from the bytes: JPEG, PNG, BMP, GIF, TIFF, WEBP, HEIF (HEIC too), AVIF
    file_size: int  # bytes as received
    dpi: tuple[float, float] | None = None  # from the file's metadata, if it states one
    mode: str = "RGB"  # the file's own pixel mode (RGBA, L, P, CMYK, ...)
    bits: int = 8  # bits per channel in the file
    alpha: np.ndarray | None = field(default=None, repr=False)  # H x W uint8 when the file has one
    straight: np.ndarray | None = field(default=None, repr=False)  # the RGB under that alpha, unflattened

    def rgba(self) -> np.ndarray:
        """H x W x 4 uint8 with straight alpha (opaque when the file has none): for generation
        steps that take a transparent cut-out."""
        if self.alpha is None or self.straight is None:
            return np.dstack([self.rgb, np.full(self.rgb.shape[:2], 255, np.uint8)])
        return np.dstack([self.straight, self.alpha])

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def sniff_format(data: bytes) -> str | None:
    """Name the container format from its magic number, or None when nothing matches."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp":
        return _ftyp_format(data)
    for offset, magic, name in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return name
    return None


def _ftyp_format(data: bytes) -> str | None:
    """HEIF or AVIF by the ftyp box's brands (the major brand first); None for other ISO media."""
    size = int.from_bytes(data[:4], "big")
    if size < 16 or size > _FTYP_MAX:
        return None
    major = data[8:12]
    compatible = [data[i : i + 4] for i in range(16, min(size, len(data)) - 3, 4)]
    for brand in (major, *compatible):
        if brand in _AVIF_BRANDS:
            return "AVIF"
        if brand in _HEIF_BRANDS:
            return "HEIF"
    return "HEIF" if major in _GENERIC_HEIF_BRANDS else None


_heif_lock = threading.Lock()
_heif_registered = False


def _register_heif() -> None:
    """Teach Pillow HEIF (pillow-heif's plugin) once per process, when the first HEIF file arrives:
    importing libheif costs start-up time nobody sending JPEGs should pay. Thumbnails, depth and
    auxiliary images are not read (only the primary picture is checked)."""
    global _heif_registered
    with _heif_lock:
        if _heif_registered:
            return
        try:
            from pillow_heif import register_heif_opener
        except ImportError as exc:  # a broken install: pillow-heif is a pinned dependency
            raise CheckerError("INVALID_IMAGE_FORMAT_OR_SIZE", "HEIF images cannot be read here: "
                               "pillow-heif is not installed") from exc
        register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
        _heif_registered = True


def decode_base64(text: str | bytes, *, max_bytes: int = MAX_BYTES) -> bytes:
    """Decode base64 image text; a ``data:`` prefix, whitespace, URL-safe letters and
    missing padding are tolerated."""
    if isinstance(text, bytes):
        text = text.decode("ascii", errors="replace")
    if not isinstance(text, str):
        raise CheckerError("INVALID_ARGUMENT", "file must be a base64 string")
    text = _DATA_URL.sub("", text.strip(), count=1)
    text = _WHITESPACE.sub("", text)
    if not text:
        raise CheckerError("EMPTY_IMAGE", "the image is empty")
    # Refuse oversized payloads before decoding them: 4 base64 characters carry 3 bytes.
    if len(text) // 4 * 3 > max_bytes + 3:
        raise CheckerError("IMAGE_FILE_SIZE_TOO_BIG", f"the image is larger than {max_bytes // 2**20} MB")
    text = text.replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CheckerError("INVALID_ARGUMENT", "file is not valid base64") from exc


def load_photo(data: bytes, *, limits: Limits | None = None) -> Photo:
    """Validate and decode image bytes.

    Raises CheckerError with EMPTY_IMAGE, IMAGE_FILE_SIZE_TOO_BIG, CORRUPT_IMAGE or
    INVALID_IMAGE_FORMAT_OR_SIZE. The header is checked before pixels are decoded, so a
    small file that claims 20000 x 20000 pixels is refused without allocating them.
    """
    limits = limits or Limits()
    if not data:
        raise CheckerError("EMPTY_IMAGE", "the image is empty")
    if len(data) > limits.max_bytes:
        raise CheckerError(
            "IMAGE_FILE_SIZE_TOO_BIG",
            f"the image is {len(data)} bytes; at most {limits.max_bytes} bytes are accepted",
        )
    fmt = sniff_format(data)
    if fmt is None:
        raise CheckerError("CORRUPT_IMAGE", "the data is not an image file")
    if fmt not in limits.formats:
        raise CheckerError(
            "INVALID_IMAGE_FORMAT_OR_SIZE",
            f"{fmt} images are not accepted; use one of {', '.join(limits.formats)}",
        )
    img = _open_header(data, fmt)
    _check_size(img.size, limits)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PIL warns on odd EXIF; the pixels are what matter
        try:
            img.load()
            mode, bits, dpi = img.mode, _bits_per_channel(img), _dpi(img)
            img = ImageOps.exif_transpose(img)
        except Exception as exc:  # truncated or damaged data; PIL raises many types here
            # The library's text (a decoder's internals, at times a path) stays out of the answer.
            raise CheckerError("CORRUPT_IMAGE", f"the {fmt} data is damaged or truncated") from exc
    _check_size(img.size, limits)
    rgb, alpha, straight = _to_rgb(img)
    return Photo(
        rgb=rgb,
        format=fmt,
        file_size=len(data),
        dpi=dpi,
        mode=mode,
        bits=bits,
        alpha=alpha,
        straight=straight,
    )


def _open_header(data: bytes, fmt: str) -> Image.Image:
    if fmt == "HEIF":
        _register_heif()
    try:
        # Only the sniffed format's plugin may parse the bytes; Image.open reads the header only.
        return Image.open(io.BytesIO(data), formats=[fmt])
    except Image.DecompressionBombError as exc:
        raise CheckerError("INVALID_IMAGE_FORMAT_OR_SIZE", "the image claims too many pixels to be decoded") from exc
    except Exception as exc:
        raise CheckerError("CORRUPT_IMAGE", f"the {fmt} header cannot be read") from exc


def _check_size(size: tuple[int, int], limits: Limits) -> None:
    w, h = size
    if min(w, h) < limits.min_side or max(w, h) > limits.max_side:
        raise CheckerError(
            "INVALID_IMAGE_FORMAT_OR_SIZE",
            f"the image is {w}x{h} px; each side must be more than {limits.min_side - 1} px "
            f"and at most {limits.max_side} px",
        )


def _bits_per_channel(img: Image.Image) -> int:
    if img.mode == "1":
        return 1
    if img.mode.startswith("I;16") or img.mode in ("I", "F"):
        return 16 if img.mode.startswith("I;16") else 32
    return 8


def _to_rgb(img: Image.Image) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """8-bit RGB with any alpha composited onto white (what a portal's viewer shows)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        gray = np.clip(arr * (255.0 / peak), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2)), None, None
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    if not has_alpha:
        return np.ascontiguousarray(np.asarray(img.convert("RGB"))), None, None
    rgba = np.asarray(img.convert("RGBA"))
    alpha = rgba[:, :, 3]
    if alpha.min() == 255:
        return np.ascontiguousarray(rgba[:, :, :3]), None, None
    a = alpha[:, :, None].astype(np.float32) / 255.0
    flat = rgba[:, :, :3].astype(np.float32) * a + 255.0 * (1.0 - a)
    flat8 = np.clip(flat + 0.5, 0, 255).astype(np.uint8)
    return flat8, np.ascontiguousarray(alpha), np.ascontiguousarray(rgba[:, :, :3])


def _dpi(img: Image.Image) -> tuple[float, float] | None:
    dpi = img.info.get("dpi")
    if not dpi:
        return None
    try:
        x, y = float(dpi[0]), float(dpi[1])
    except (TypeError, ValueError, IndexError):
        return None
    if not (math.isfinite(x) and math.isfinite(y)) or x <= 1 or y <= 1:  # 72/0 is no density; "1:1" an aspect
        return None
    return (round(x, 2), round(y, 2))
