"""Property tests (hypothesis, issue 12): image intake, base64, every parameter table, every JSON body
and every multipart form.

1. load_photo on arbitrary bytes and on mutated small images of every accepted format: a Photo whose
   pixels match its size, or a CheckerError with a 4xx status and a message of our own (no library
   text, no traceback, no path); never another exception, never an allocation beyond the limits.
2. decode_base64 on arbitrary text: bytes or a CheckerError; valid base64 of random bytes in every
   tolerated spelling comes back exactly.
3. Every declared parameter of every table: a value of its kind inside its range, or INVALID_ARGUMENT
   naming it.
4. Every POST endpoint, arbitrary JSON bodies and multipart forms: never a 5xx, always strict JSON
   (no NaN, no Infinity) in the family's documented envelope (checker.web.openapi), with or without a key.

Bounded for ``make test``: a fixed seed per test (derandomize), no example database, a few dozen to a
few hundred examples per test, images of a few dozen pixels without a face (NO_FACE_DETECTED is quick;
check_pic alone also gets a 160 px portrait, a check being cheap where generation is not),
memory capped around every call so that a runaway allocation fails fast instead of filling the
machine, and no name resolution or connection beyond loopback. ``bench/fuzz.py`` runs the same
properties with many more examples.
"""

from __future__ import annotations

import base64
import io
import ipaddress
import json
import logging
import math
import re
import resource
import socket
import struct
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from hypothesis import HealthCheck, event, example, given, note, settings
from hypothesis import strategies as st
from PIL import Image, features

from checker.errors import HTTP_CODES, CheckerError
from checker.imaging import Limits, Photo, decode_base64, load_photo
from checker.params import Param, Table, blank
from checker.params.catalogue import TABLES
from checker.params.check import CHECK
from checker.params.generation import FIX, TASKS
from checker.params.hivision import ENDPOINTS as HIVISION
from checker.params.services import MASK, MATTING
from checker.web.openapi import document

from .conftest import FACES

# One profile for every test here: reproducible (derandomize: the seed is derived from the test function,
# the same on every machine), no example database on disk, no per-example deadline (the first request of
# a worker loads models).
PROFILE = settings(
    deadline=None, derandomize=True, database=None, print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                           HealthCheck.large_base_example],
)
settings.register_profile("idphoto-properties", PROFILE)


# --- guards: memory and network ---------------------------------------------------------------------
def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


@contextmanager
def capped_memory(headroom: int) -> Iterator[None]:
    """Address space limited to what the process has now plus ``headroom`` bytes: an allocation
    beyond it is a MemoryError at once (which the properties count as a failure), not gigabytes of a
    machine other tests share."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = _status_kib("VmSize") * 1024 + headroom
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    if soft != resource.RLIM_INFINITY and soft <= cap:
        yield
        return
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@contextmanager
def peak_growth() -> Iterator[list[int]]:
    """Bytes the resident set grew by at its peak inside the block (appended to the yielded list;
    nothing is appended where /proc/self/clear_refs cannot reset the peak)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current VmRSS
    except OSError:
        yield []
        return
    start = _status_kib("VmRSS")
    box: list[int] = []
    yield box
    box.append((_status_kib("VmHWM") - start) * 1024)


def _local(host: Any) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host is None or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(str(host).split("%", 1)[0]).is_loopback
    except ValueError:
        return False


@contextmanager
def loopback_only() -> Iterator[None]:
    """No name is resolved (but localhost) and nothing is connected to but loopback and local sockets,
    whatever URL a generated request names."""
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host: Any, *args: Any, **kw: Any) -> Any:
        if not _local(host):
            try:
                ipaddress.ip_address(str(host))
            except ValueError:
                raise socket.gaierror(socket.EAI_NONAME, "the property tests resolve no names") from None
        return real_getaddrinfo(host, *args, **kw)

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _local(address[0]):
            raise OSError(101, "the property tests connect to loopback only")
        return real_connect(self, address)

    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    socket.socket.connect = connect  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.getaddrinfo = real_getaddrinfo  # type: ignore[assignment]
        socket.socket.connect = real_connect  # type: ignore[method-assign]


# --- messages of our own ----------------------------------------------------------------------------
_LEAKS = re.compile(
    r"Traceback|\bFile \"|\b[A-Z]\w*(?:Error|Exception|Warning)\b|\w\.pyc?\b|\bsite-packages\b|<[\w.]+ object at 0x"
    r"|(?<![\w.:/])/(?:usr|home|root|tmp|var|etc|opt|proc|sys|work|srv|mnt|lib|lib64|bin|dev|run|nix|private)/"
)  # URL paths such as /api/specs are fine: the messages name endpoints
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")  # the request's own values, as messages quote them


def assert_own_message(message: str, cause: BaseException | None = None) -> None:
    """A message written here: no traceback, exception name, source path or object repr, and not the
    text of the library exception it was raised from."""
    assert isinstance(message, str) and message.strip(), "an empty message"
    assert not _LEAKS.search(_QUOTED.sub("''", message)), f"library or internal text in the message: {message!r}"
    assert len(message) <= 400, f"a {len(message)}-character message"
    for _ in range(8):  # the chain of causes the message was raised from
        if cause is None:
            break
        text = str(cause).strip()
        if len(text) >= 8 and not isinstance(cause, CheckerError):
            assert text not in message, f"the message repeats the library's {type(cause).__name__}: {message!r}"
        cause = cause.__cause__ or cause.__context__


def assert_client_error(exc: CheckerError) -> None:
    assert exc.status in HTTP_CODES, f"unknown status {exc.status}"
    assert 400 <= HTTP_CODES[exc.status] < 500, f"{exc.status} is not a 4xx"
    assert 400 <= exc.http < 500, f"{exc.status} answers {exc.http}"


# --- 1. intake ----------------------------------------------------------------------------------------
# PIL warns about odd EXIF and tags while reading headers; the answers are what these tests judge.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL.*")

SMALL = Limits(max_side=256)  # with these limits any real pixel allocation is a few MB
PEAK_BUDGET = 64 << 20  # resident growth allowed while decoding under SMALL (a bomb is far more)


def _pixels(w: int = 24, h: int = 20) -> np.ndarray:
    rng = np.random.default_rng(12)
    x = np.linspace(0, 255, w)[None, :, None]
    y = np.linspace(0, 255, h)[:, None, None]
    base = np.concatenate([np.broadcast_to(x, (h, w, 1)), np.broadcast_to(y, (h, w, 1)),
                           np.full((h, w, 1), 90.0)], axis=2)
    return np.clip(base + rng.normal(0, 8, (h, w, 3)), 0, 255).astype(np.uint8)


def _save(img: Image.Image, fmt: str, **kw: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def tiff_with_zero_resolution() -> bytes:
    """A TIFF whose XResolution is 72/0 (issue 12: such a file leaked an exception's text)."""
    data = bytearray(_save(Image.fromarray(_pixels()), "TIFF", dpi=(72, 72)))
    at = data.find(struct.pack("<II", 72, 1))
    data[at + 4 : at + 8] = b"\0\0\0\0"
    return bytes(data)


@cache
def seed_files() -> tuple[tuple[str, bytes], ...]:
    """Small files of every accepted format and of several modes, and a few real photos downscaled."""
    rgb = Image.fromarray(_pixels())
    alpha = Image.fromarray(np.tile(np.linspace(0, 255, 24, dtype=np.uint8), (20, 1)))
    rgba = rgb.copy()
    rgba.putalpha(alpha)
    gray = rgb.convert("L")
    pal = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90
    wide = Image.fromarray(np.asarray(gray).astype(np.uint16) * 257)
    out: list[tuple[str, bytes]] = [
        ("png", _save(rgb, "PNG")), ("png-rgba", _save(rgba, "PNG")), ("png-l", _save(gray, "PNG")),
        ("png-p-transparency", _save(pal, "PNG", transparency=0)), ("png-1", _save(rgb.convert("1"), "PNG")),
        ("png-i16", _save(wide, "PNG")), ("png-dpi", _save(rgb, "PNG", dpi=(300, 300))),
        ("jpeg", _save(rgb, "JPEG", quality=80)), ("jpeg-progressive", _save(rgb, "JPEG", progressive=True)),
        ("jpeg-cmyk", _save(rgb.convert("CMYK"), "JPEG")), ("jpeg-l", _save(gray, "JPEG")),
        ("jpeg-exif-rotated", _save(rgb, "JPEG", exif=exif.tobytes(), dpi=(300, 300))),
        ("webp", _save(rgb, "WEBP", quality=60)), ("webp-lossless-rgba", _save(rgba, "WEBP", lossless=True)),
        ("tiff", _save(rgb, "TIFF", dpi=(300, 300))), ("tiff-lzw", _save(rgb, "TIFF", compression="tiff_lzw")),
        ("tiff-deflate-rgba", _save(rgba, "TIFF", compression="tiff_adobe_deflate")),
        ("tiff-packbits-l", _save(gray, "TIFF", compression="packbits")), ("tiff-i16", _save(wide, "TIFF")),
        ("tiff-f", _save(Image.fromarray(np.asarray(gray, np.float32)), "TIFF")),
        ("tiff-pages", _save(rgb, "TIFF", save_all=True, append_images=[gray.convert("RGB")])),
        ("tiff-zero-resolution", tiff_with_zero_resolution()),
        ("bmp", _save(rgb, "BMP")), ("bmp-1", _save(rgb.convert("1"), "BMP")), ("bmp-p", _save(pal, "BMP")),
        ("gif", _save(pal, "GIF")),
        ("gif-frames", _save(pal, "GIF", save_all=True, append_images=[gray.convert("P")], duration=50)),
    ]
    try:
        import pillow_heif

        heif = io.BytesIO()
        pillow_heif.from_pillow(rgb).save(heif, quality=50)
        out.append(("heic", heif.getvalue()))
    except ImportError:  # pragma: no cover - a pinned dependency
        pass
    if features.check("avif"):
        out.append(("avif", _save(rgb, "AVIF", quality=50)))
    for name in ("hivision_idphoto_2.jpg", "astronaut.png", "hivision_test1_webp.jpg"):
        path = FACES / name
        if not path.exists():
            continue
        with Image.open(path) as img:
            img.draft("RGB", (96, 96))
            small = img.convert("RGB")
            small.thumbnail((40, 40))
        out.append((f"{name}-jpeg", _save(small, "JPEG", quality=85)))
        out.append((f"{name}-png", _save(small, "PNG")))
    return tuple(out)


# Magic numbers of the formats load_photo sniffs (and of some it refuses), for header swaps.
MAGICS = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"BM", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*",
          b"\x00\x00\x01\x00", b"8BPS", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"\x00\x00\x00\x18ftypheic",
          b"\x00\x00\x00\x18ftypavif", b"\x00\x00\x00\x18ftypmif1", b"\x00\x00\x00\x0cjP  ")
INTERESTING = (0, 1, 2, 7, 8, 9, 0x7F, 0x80, 0xFF, 0x100, 0xFFF, 0x1000, 0x1001, 0x7FFF, 0xFFFF, 0x10000,
               0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
OPS = ("truncate", "flip", "byte", "int", "insert", "delete", "header", "splice")


@st.composite
def mutated_files(draw: st.DrawFn) -> bytes:
    """A seed file with one to four mutations, positions biased towards the header."""
    seeds = seed_files()
    name, original = draw(st.sampled_from(seeds))
    note(f"seed: {name}")
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(OPS))
        n = len(data)
        pos = draw(st.one_of(st.integers(0, min(n, 64)), st.integers(0, n)))
        if op == "truncate":
            del data[pos:]
        elif op == "flip" and n:
            data[min(pos, n - 1)] ^= 1 << draw(st.integers(0, 7))
        elif op == "byte" and n:
            data[min(pos, n - 1)] = draw(st.integers(0, 255))
        elif op == "int":
            width = draw(st.sampled_from((1, 2, 4)))
            value = draw(st.sampled_from(INTERESTING)) & ((1 << (8 * width)) - 1)
            data[pos : pos + width] = value.to_bytes(width, draw(st.sampled_from(("big", "little"))))
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=16))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 32))]
        elif op == "header":
            magic = draw(st.sampled_from(MAGICS))
            data[: len(magic)] = magic
        elif op == "splice":
            _, other = draw(st.sampled_from(seeds))
            data[pos:] = other[draw(st.integers(0, len(other))):]
        note(f"{op} at {pos}: {len(data)} bytes")
    return bytes(data)


def _photo_is_whole(photo: Photo, data: bytes, limits: Limits) -> None:
    assert isinstance(photo, Photo)
    rgb = photo.rgb
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3, (rgb.dtype, rgb.shape)
    h, w = rgb.shape[:2]
    assert (photo.width, photo.height) == (w, h)
    assert limits.min_side <= min(w, h) and max(w, h) <= limits.max_side, (w, h)
    assert photo.format in limits.formats and photo.file_size == len(data)
    if photo.alpha is not None:
        assert photo.alpha.shape == (h, w) and photo.alpha.dtype == np.uint8
        assert photo.straight is not None and photo.straight.shape == (h, w, 3)
    assert photo.rgba().shape == (h, w, 4)
    assert photo.bits in (1, 8, 16, 32)
    if photo.dpi is not None:
        assert all(isinstance(d, float) and math.isfinite(d) and d > 1 for d in photo.dpi), photo.dpi


def intake_property(data: bytes) -> None:
    """load_photo: a whole Photo or a 4xx CheckerError of our own wording, within bounded memory, under
    the default limits and under small ones."""
    for limits in (SMALL, Limits()):
        with peak_growth() as grown, capped_memory(1 << 30):
            try:
                photo = load_photo(data, limits=limits)
            except CheckerError as exc:
                assert_client_error(exc)
                assert_own_message(exc.message, exc.__cause__)
                photo = None
        if photo is not None:
            _photo_is_whole(photo, data, limits)
        if limits is SMALL and grown and grown[0] > PEAK_BUDGET:
            # Another thread of the worker may have been busy: count it only when it happens again.
            with peak_growth() as again, capped_memory(1 << 30), suppress(CheckerError):
                load_photo(data, limits=limits)
            assert not again or again[0] <= PEAK_BUDGET, f"decoding under {SMALL} grew the process by {again[0]} B"


@settings(PROFILE, max_examples=150)
@given(data=st.binary(max_size=512))
@example(data=b"")
def test_intake_of_arbitrary_bytes(data):
    intake_property(data)


MAGIC_PREFIXED = st.builds(lambda magic, rest: magic + rest, st.sampled_from(MAGICS), st.binary(max_size=512))


@settings(PROFILE, max_examples=200)
@given(data=MAGIC_PREFIXED)
def test_intake_of_bytes_behind_a_known_magic_number(data):
    intake_property(data)


@settings(PROFILE, max_examples=400)
@given(data=mutated_files())
@example(data=dict(seed_files())["png"][:300])  # truncated: the decoder's message must not be echoed
@example(data=tiff_with_zero_resolution())  # a 72/0 resolution: no NaN dpi, no exception text
def test_intake_of_mutated_images(data):
    intake_property(data)


def test_every_seed_file_loads():
    """The mutations start from files that load (else they would test nothing)."""
    names = [name for name, _ in seed_files()]
    assert {"png", "jpeg", "webp", "tiff", "bmp", "gif", "heic"} <= set(names)
    for name, data in seed_files():
        photo = load_photo(data)
        assert photo.rgb.shape[:2] == (photo.height, photo.width) and photo.width >= 9, name


# --- 2. base64 ----------------------------------------------------------------------------------------
B64_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_"
_DATA_PREFIX = re.compile(r"^data:[^,]*?;base64,", re.IGNORECASE)
DATA_PREFIXES = ("", "data:image/png;base64,", "data:image/jpeg;base64,", "DATA:IMAGE/JPEG;BASE64,",
                 "data:;base64,", "data:application/octet-stream;name=a.png;base64,", "data:image/svg+xml;base64,")
B64_MAX = 96  # a small max_bytes, so that the size refusal is reached too


def _payload(text: str) -> str:
    """What an accepted text must be made of: the text without a data: prefix and whitespace."""
    stripped = _DATA_PREFIX.sub("", text.strip(), count=1)
    return re.sub(r"\s+", "", stripped)


def base64_text_property(text: Any) -> None:
    """Bytes that are exactly the payload's base64, or EMPTY_IMAGE / IMAGE_FILE_SIZE_TOO_BIG /
    INVALID_ARGUMENT; nothing outside the alphabet accepted (no character silently dropped)."""
    try:
        out = decode_base64(text, max_bytes=B64_MAX)
    except CheckerError as exc:
        assert exc.status in ("INVALID_ARGUMENT", "EMPTY_IMAGE", "IMAGE_FILE_SIZE_TOO_BIG"), exc.status
        assert_client_error(exc)
        assert_own_message(exc.message, exc.__cause__)
        if isinstance(text, str | bytes):
            payload = _payload(text if isinstance(text, str) else text.decode("ascii", "replace"))
            if exc.status == "EMPTY_IMAGE":
                assert payload == "", f"EMPTY_IMAGE for a payload of {len(payload)} characters"
            if exc.status == "IMAGE_FILE_SIZE_TOO_BIG":
                assert len(payload) * 3 // 4 > B64_MAX, f"too big at {len(payload)} characters"
        return
    assert isinstance(text, str | bytes), f"decoded a {type(text).__name__}"
    assert isinstance(out, bytes)
    payload = _payload(text if isinstance(text, str) else text.decode("ascii"))
    assert set(payload) <= set(B64_CHARS), f"accepted characters outside base64: {set(payload) - set(B64_CHARS)}"
    data = payload.rstrip("=")
    assert "=" not in data, "padding inside the payload was accepted"
    assert len(out) == len(data) * 3 // 4, (len(out), len(data))
    assert len(out) <= B64_MAX + 3
    standard = data.replace("-", "+").replace("_", "/")
    assert base64.b64encode(out).decode().rstrip("=")[: len(standard) - 1] == standard[: len(standard) - 1]


B64_LIKE = st.text(alphabet=B64_CHARS + " \n\r\t", max_size=80)
BASE64_INPUTS = st.one_of(
    st.text(max_size=80),
    B64_LIKE,
    st.builds(lambda p, t: p + t, st.sampled_from(DATA_PREFIXES), B64_LIKE),
    st.builds(lambda p, b: p + base64.b64encode(b).decode(), st.sampled_from(DATA_PREFIXES), st.binary(max_size=120)),
    st.binary(max_size=80),
    st.none(), st.integers(), st.floats(), st.lists(st.text(max_size=4), max_size=3),
    st.dictionaries(st.text(max_size=4), st.text(max_size=4), max_size=2),
)


@settings(PROFILE, max_examples=300)
@given(text=BASE64_INPUTS)
@example(text="data:image/png;base64,")
@example(text="QQ==QQ==")
@example(text="Q")
@example(text="QUJD\u00e9")
def test_base64_of_arbitrary_text(text):
    base64_text_property(text)


@st.composite
def base64_spellings(draw: st.DrawFn) -> tuple[bytes, str | bytes]:
    """Random bytes and one tolerated spelling of their base64."""
    raw = draw(st.binary(min_size=1, max_size=200))
    text = (base64.urlsafe_b64encode if draw(st.booleans()) else base64.b64encode)(raw).decode()
    if draw(st.booleans()):
        text = text.rstrip("=")
    wrap = draw(st.integers(0, 80))
    if wrap:
        sep = draw(st.sampled_from((" ", "\n", "\r\n", "\t", "\u3000")))
        text = sep.join(text[i : i + wrap] for i in range(0, len(text), wrap))
    text = draw(st.sampled_from(DATA_PREFIXES)) + text
    text = draw(st.sampled_from(("", " ", "\n"))) + text + draw(st.sampled_from(("", " ", "\r\n")))
    return raw, (text.encode() if draw(st.booleans()) and text.isascii() else text)


def base64_round_trip_property(raw: bytes, text: str | bytes) -> None:
    assert decode_base64(text) == raw


@settings(PROFILE, max_examples=200)
@given(case=base64_spellings())
def test_base64_round_trip(case):
    base64_round_trip_property(*case)


# --- 3. parameter tables --------------------------------------------------------------------------------
def _spec_refs() -> list[Any]:
    from checker import list_specs

    specs = list_specs()
    return [specs[0].id, str(specs[0].id), specs[1].slug, specs[-1].id, "1101", " 1102 ", 9999, "no-such-spec"]


SPEC_REFS = _spec_refs()
COLOURS = ("#ffffff", "ffffff", "FFF", "#438EDB", "438edb", "red", "blue", "white", "Blue", "#12345", "#gggggg",
           "rgb(1,2,3)", "transparent", "")
# URL values name loopback or nothing resolvable (and loopback_only() refuses anything else).
URLS = ("http://127.0.0.1:99999/a.jpg", "http://127.0.0.1:abc/", "http://127.0.0.1:0/", "http://[::1]:1/x.png",
        "http://localhost:1/x", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "https://127.0.0.1/",
        "ftp://127.0.0.1/a.jpg", "file:///etc/passwd", "javascript:alert(1)", "http://", "http:///x", "//x",
        "http://no-such-host.invalid/", "http://[::1/", "http://127.0.0.1/" + "a" * 600, " ", "")


class HugeInt(int):
    """An int as Python reads it, printed by hypothesis as its size: beyond 4300 digits the int's own
    repr() raises (sys.get_int_max_str_digits), which is what the code under test must survive."""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(f"HugeInt(<{self.bit_length()} bits>)")


HUGE = (10**309, -(10**309), HugeInt(10**4400), HugeInt(-(10**4400)), 2**63, -(2**63) - 1, 1e308, -1e308, 5e-324)

NUMERIC_TEXT = st.from_regex(r"\A\s?-?[0-9]{1,30}(\.[0-9]{0,10})?([eE][+-]?[0-9]{1,4})?\s?\Z")
ODD_TEXT = ("nan", "NaN", "inf", "-Infinity", "1e999", "0x10", "1_000", " ", "true", "1" * 45)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.sampled_from(HUGE), st.floats(),
                    st.text(max_size=20), NUMERIC_TEXT, st.sampled_from(ODD_TEXT))
ANY_VALUE = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                          st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                         max_leaves=6)


def _numbers(p: Param, integral: bool) -> st.SearchStrategy[Any]:
    lo = p.lo if p.lo is not None else -1e6
    hi = p.hi if p.hi is not None else 1e6
    inside: st.SearchStrategy[Any] = st.integers(math.ceil(lo), math.floor(hi)) if integral else st.floats(lo, hi)
    edges = st.sampled_from([lo, hi, lo - 1, hi + 1, lo - 1e-9, hi + 1e-9, (lo + hi) / 2])
    return st.one_of(inside, edges, inside.map(str), inside.map(lambda x: f" {x}\n"), inside.map(float),
                     inside.map(lambda x: f"{float(x):e}"))


def plausible(p: Param) -> st.SearchStrategy[Any]:
    """Values near what the parameter means: in and just outside its range, its words, its spellings."""
    if p.kind == "int":
        return _numbers(p, True)
    if p.kind == "number":
        return _numbers(p, False)
    if p.kind == "flag":
        return st.sampled_from((0, 1, True, False, "1", "0", "true", "False", "YES", "off", " on ", 2, -1, 0.5, 1.0,
                                "2", "", "tru"))
    if p.kind in ("choice", "flag_or_choice"):
        words = [*p.choices, *(c.upper() for c in p.choices), *(f" {c} " for c in p.choices)]
        return st.sampled_from([*words, "", "none", 1, 0, True, False, "x"])
    if p.kind == "id":
        refs = st.sampled_from(SPEC_REFS)
        return st.one_of(refs, refs, refs, st.integers(), st.text(max_size=12), st.just("9" * 200))
    if p.name.endswith("_url"):
        return st.sampled_from(URLS)
    if "color" in p.name:
        return st.sampled_from(COLOURS)
    return st.one_of(st.text(max_size=min(p.max_len + 2, 30)), st.just("x" * p.max_len),
                     st.just("x" * (p.max_len + 1)), st.just("\u4e2d\u6587 \U0001f600"))


def table_values(p: Param) -> st.SearchStrategy[Any]:
    return st.one_of(plausible(p), ANY_VALUE)


def _valid(p: Param) -> Any:
    """A value the parameter accepts (to fill the other required parameters of a table)."""
    if p.kind in ("int", "number"):
        return p.lo if p.lo is not None else 1
    if p.kind in ("choice", "flag_or_choice"):
        return p.choices[0]
    return "white" if "color" in p.name else "x"


def table_property(table: Table, p: Param, given_as: str, value: Any) -> None:
    """Table.parse: the declared kind inside the declared range, or INVALID_ARGUMENT naming the parameter."""
    raw = {r.name: _valid(r) for r in table.params_list if r.required and r is not p}
    raw[given_as] = value
    try:
        values = table.parse(raw)
    except CheckerError as exc:
        assert exc.status == "INVALID_ARGUMENT", exc.status
        assert given_as in exc.message, f"the message does not name {given_as}: {exc.message!r}"
        assert_own_message(exc.message)
        assert len(exc.message) <= 200 + len(given_as), f"a {len(exc.message)}-character message"
        _in_range_was_refused(p, value, exc)
        return
    if blank(value):
        assert p.name not in values.given
        return
    out = values[p.name]
    if p.kind == "int":
        assert type(out) is int and _inside(p, out), out
    elif p.kind == "number":
        assert type(out) is float and math.isfinite(out) and _inside(p, out), out
    elif p.kind == "flag":
        assert type(out) is bool, out
    elif p.kind in ("string", "id"):
        assert type(out) is str and len(out) <= p.max_len, (type(out), len(str(out)))
    elif p.kind == "choice":
        assert out in p.choices, out
    elif p.kind == "flag_or_choice":
        assert out is None or out in p.choices, out
    if p.kind in ("int", "number") and _number(value) is not None:
        assert out == _number(value), (value, out)


def _number(value: Any) -> float | None:
    """The number a JSON number or numeric text means, when it is a plain finite one."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    if isinstance(value, str) and (len(value.strip()) > 30 or not re.fullmatch(r"\s*-?[0-9.eE+-]+\s*", value)):
        return None
    try:
        number = float(value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and abs(number) < 1e15 else None


def _inside(p: Param, x: float) -> bool:
    return (p.lo is None or x >= p.lo) and (p.hi is None or x <= p.hi)


def _in_range_was_refused(p: Param, value: Any, exc: CheckerError) -> None:
    number = _number(value)
    if p.kind not in ("int", "number") or number is None or not _inside(p, number):
        return
    if p.kind == "int" and not number.is_integer():
        return
    raise AssertionError(f"{value!r} is inside {p.name}'s range but was refused: {exc.message}")


@pytest.mark.parametrize("name", sorted(TABLES))
@settings(PROFILE, max_examples=30)
@given(data=st.data())
def test_every_declared_parameter_parses_in_range_or_is_refused_by_name(name, data):
    every_parameter_property(name, data)


def every_parameter_property(name: str, data: Any) -> None:
    """One value for each declared parameter of the table ``name`` (``data``: hypothesis's st.data())."""
    table = TABLES[name]
    for p in table.params_list:
        if p.kind == "image":
            continue
        given_as = data.draw(st.sampled_from(p.names)) if p.aliases else p.name
        value = data.draw(table_values(p), label=f"{name}: {given_as}")
        table_property(table, p, given_as, value)


@pytest.mark.parametrize("name", sorted(TABLES))
@settings(PROFILE, max_examples=25)
@given(raw=st.deferred(lambda: MAPPINGS))
def test_arbitrary_mappings_parse_or_are_refused(name, raw):
    mapping_property(name, raw)


HOSTILE = (*HUGE, float("nan"), float("inf"), -float("inf"), "1e999", "9" * 400, [1] * 500, {"a": "b" * 500},
           [[[[[[]]]]]], True, b"\xff", 1e15, -1e15, 3.5)


def test_hostile_values_are_refused_by_name_in_a_short_message():
    """The values the search found bugs with, for every parameter of every table, whatever the seed:
    an int beyond 4300 digits (no repr), 1e308 for an int (309 digits quoted), long lists."""
    for table in TABLES.values():
        for p in table.params_list:
            if p.kind != "image":
                for value in HOSTILE:
                    table_property(table, p, p.name, value)


MAPPINGS = st.dictionaries(st.one_of(st.text(max_size=12), st.integers(), st.none()), ANY_VALUE, max_size=5)


def mapping_property(name: str, raw: dict[Any, Any]) -> None:
    """Unknown or non-text names: refused by strict tables, listed as ignored by the others."""
    table = TABLES[name]
    try:
        values = table.parse(raw)
    except CheckerError as exc:
        assert exc.status == "INVALID_ARGUMENT"
        assert_own_message(exc.message)
        return
    known = table.known_names()
    assert all(isinstance(k, str) for k in raw)
    assert set(values.ignored) == {k for k in raw if k not in known}
    assert not (values.ignored and table.strict)


# --- 4. the web API: every JSON body and every multipart form ---------------------------------------------
DOC = document()
POSTS = sorted(path for path, item in DOC["paths"].items() if "post" in item)
JSON_POSTS = [p for p in POSTS if "application/json" in DOC["paths"][p]["post"]["requestBody"]["content"]]
MULTIPART_POSTS = [p for p in POSTS if "multipart/form-data" in DOC["paths"][p]["post"]["requestBody"]["content"]]


def table_of(path: str) -> Table:
    if path in HIVISION:
        return HIVISION[path]
    return {"/api/check_pic": CHECK, "/api/fix": FIX, "/api/tasks/visual/external/idphoto": TASKS,
            "/identity/mask_selfie_image": MASK}.get(path, MATTING)


def envelope_of(path: str) -> str:
    return DOC["paths"][path]["post"]["responses"]["default"]["content"]["application/json"]["schema"]["$ref"] \
        .rsplit("/", 1)[-1]


@cache
def _validator(path: str, status: str, mimetype: str) -> jsonschema.protocols.Validator | None:
    responses = DOC["paths"][path]["post"]["responses"]
    content = (responses.get(status) or responses["default"]).get("content", {})
    assert mimetype in content, f"{path} answered {status} as {mimetype}, documented: {sorted(content)}"
    schema = content[mimetype]["schema"]
    if mimetype != "application/json":
        return None
    return jsonschema.Draft202012Validator({**schema, "components": DOC["components"]})


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def response_property(path: str, resp: Any, crash: BaseException | None = None) -> None:
    """Not a 5xx; strict JSON in the documented shape (the family's envelope for errors). ``crash``:
    what the server logged for this request, chained to the failure (so that hypothesis tells distinct
    crashes apart, and the report shows where the server failed)."""
    status = resp.status_code
    text = resp.get_data(as_text=False)
    if status >= 500:
        raise AssertionError(f"{path} answered {status}: {text[:300]!r}") from crash
    assert status == 200 or 400 <= status < 500, status
    validator = _validator(path, str(status), resp.mimetype)
    if validator is None:  # an image: what the document says it is
        assert status == 200 and (text.startswith(b"\x89PNG\r\n\x1a\n") or text.startswith(b"\xff\xd8\xff")), text[:16]
        return
    body = json.loads(text.decode("utf-8"), parse_constant=_no_constant)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"[:300] for e in validator.iter_errors(body)]
    assert not errors, f"{status} body does not match the document: {errors[:3]}"
    if status < 400:
        return
    envelope = envelope_of(path)
    rid = resp.headers.get("X-Request-Id")
    if envelope == "CheckError":
        assert body["code"] == status and body["request_id"] == rid
        message = body["message"]
    elif envelope == "HivisionError":
        message = body["message"]
    elif envelope == "TaskError":
        assert body["status"] == status
        message = body["message"]
    elif envelope == "MaskError":
        assert body["request_id"] == rid
        message = body["reason"]
    else:
        assert body["code"] != 0 and body["data"] is None
        message = body["msg"]
    assert_own_message(message)


class CrashLog(logging.Handler):
    """The exception of the last error the app logged (its 500 handler logs the crash)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last: BaseException | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.last = record.exc_info[1]


class Servers:
    """Two apps on temporary state: an open one (no key: loopback callers only) and a keyed one."""

    def __init__(self, root: Path) -> None:
        from checker.keys import KeyStore
        from checker.web import create_app

        for name in ("open", "keyed"):
            (root / name).mkdir(parents=True, exist_ok=True)
        self.open = create_app({"TESTING": True, "KEYS_DB": str(root / "open" / "keys.sqlite3"),
                                "TASKS_DIR": str(root / "open" / "tasks")})
        self.keyed = create_app({"TESTING": True, "KEYS_DB": str(root / "keyed" / "keys.sqlite3"),
                                 "TASKS_DIR": str(root / "keyed" / "tasks")})
        self.key = KeyStore(self.keyed.config["KEYS_DB"]).create("properties")
        self.crashes = CrashLog()
        logging.getLogger("checker").addHandler(self.crashes)

    def client(self, auth: str) -> Any:
        return (self.open if auth == "open" else self.keyed).test_client()

    def close(self) -> None:
        logging.getLogger("checker").removeHandler(self.crashes)
        for app in (self.open, self.keyed):
            svc = app.extensions.get("idphoto_tasks")
            if svc:
                svc.stop()


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    with loopback_only():
        s = Servers(tmp_path_factory.mktemp("properties"))
        yield s
        s.close()


def _png(mode: str = "RGB") -> bytes:
    img = Image.fromarray(_pixels(16, 16)).convert(mode)
    return _save(img, "PNG")


TINY_PNG = _png()  # a face-free picture: NO_FACE_DETECTED, or a cheap picture to generate from
TINY_RGBA = _png("RGBA")


@cache
def face_jpeg() -> bytes | None:
    """A small real portrait, for check_pic only (a check is cheap; generation per example is not)."""
    path = FACES / "hivision_idphoto_2.jpg"
    if not path.exists():
        return None
    with Image.open(path) as img:
        small = img.convert("RGB")
        small.thumbnail((160, 160))
    return _save(small, "JPEG", quality=85)


def image_fields(path: str) -> list[str]:
    """Every name the endpoint's table declares for its image."""
    return sorted(n for p in table_of(path).params_list if p.kind == "image" for n in p.names)


def upload_fields(path: str) -> list[str]:
    """The names an image is uploaded under (multipart files)."""
    return [n for n in image_fields(path) if not n.endswith("_base64")]


def base64_fields(path: str) -> list[str]:
    """The names base64 text is read from (``file`` on the check and fix APIs, ``*_base64`` elsewhere)."""
    return [n for n in image_fields(path) if n == "file" or n.endswith("_base64")]


def image_bytes(path: str) -> st.SearchStrategy[bytes]:
    """Mostly a picture that decodes (and has no face, but on check_pic), sometimes anything."""
    good = [TINY_PNG, TINY_RGBA]
    face = face_jpeg()
    if path == "/api/check_pic" and face is not None:
        good += [face, face]
    bad = st.one_of(st.just(b""), st.binary(max_size=64), mutated_files())
    return st.one_of(st.sampled_from(good), st.sampled_from(good), st.sampled_from(good), bad)


def core_names(path: str) -> list[str]:
    """Fields a request needs to get past parameter parsing: the required ones and spec_id."""
    table = table_of(path)
    return [p.name for p in table.params_list if (p.required or p.name == "spec_id") and p.kind != "image"]


KEY_FIELDS = frozenset({"app_key", "api_key", "api_id", "api_secret"})  # AUTH places the key


def field_names(path: str) -> list[str]:
    table = table_of(path)
    images = set(image_fields(path))
    return sorted(n for n in table.known_names() if n not in images and n not in KEY_FIELDS)


def value_for(path: str, name: str, *, likely: bool = False) -> st.SearchStrategy[Any]:
    """Values for a field; ``likely``: mostly ones that mean something (for the fields a request needs)."""
    table = table_of(path)
    p = next((q for q in table.params_list if name in q.names), None)
    if name.endswith("_url"):
        return st.sampled_from(URLS)
    if p is None:  # a threshold (rules/) or a compatibility field
        return st.one_of(st.integers(-10, 200), st.floats(-1e3, 1e3), st.sampled_from(HUGE), st.floats(),
                         st.sampled_from(("white", "blue", "#FFFFFF", "50", " 7 ", "1e999", "NaN", "")), ANY_VALUE)
    if likely:
        return st.one_of(plausible(p), plausible(p), plausible(p), ANY_VALUE)
    return table_values(p)


def weighted(*choices: tuple[Any, int]) -> st.SearchStrategy[Any]:
    """One of the values, each about as often as its weight says."""
    return st.sampled_from([value for value, weight in choices for _ in range(weight)])


LIKELY = weighted((True, 5), (False, 1))  # a field a request needs is there, mostly
AUTH = weighted(("open", 4), ("header", 3), ("x-api-key", 1), ("query", 1), ("body", 1), ("none", 1), ("wrong", 1))


def _auth(auth: str, key: str) -> tuple[dict[str, str], dict[str, str], list[tuple[str, str]]]:
    """(headers, query, body fields) that carry the key the way ``auth`` says."""
    if auth == "header":
        return {"APIKEY": key}, {}, []
    if auth == "x-api-key":
        return {"X-API-KEY": key}, {}, []
    if auth == "query":
        return {}, {"app_key": key}, []
    if auth == "body":
        return {}, {}, [("app_key", key)]
    if auth == "wrong":
        return {"APIKEY": "nokey.nosecret"}, {}, []
    return {}, {}, []


# JSON text: numbers Python reads (and some it reads as NaN or infinity), escapes, nesting.
NUMBER_TOKENS = st.one_of(
    st.integers().map(str), st.floats().map(json.dumps),  # NaN, Infinity, -Infinity among them
    st.from_regex(r"\A-?(0|[1-9][0-9]{0,60})(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,4})?\Z"),
    st.sampled_from(("1e999", "-1e999", "1" * 400, "-0", "1E400", "9" * 4400, "0." + "0" * 400 + "1")),
)
STRING_TOKENS = st.one_of(
    st.text(max_size=20).map(json.dumps), st.text(max_size=20).map(lambda s: json.dumps(s, ensure_ascii=False)),
    st.sampled_from(('"\\ud800"', '"a\\udfffb"', '"\\u0000"', '""', '"   "', '"\\n"')),
)
LEAF_TOKENS = st.one_of(st.sampled_from(("null", "true", "false")), NUMBER_TOKENS, STRING_TOKENS)


def _object(pairs: list[tuple[str, str]]) -> str:
    return "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in pairs) + "}"


ANY_JSON = st.recursive(LEAF_TOKENS, lambda inner: st.one_of(
    st.lists(inner, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]"),
    st.lists(st.tuples(st.text(max_size=8), inner), max_size=4).map(_object)), max_leaves=10)
DEEP = st.builds(lambda n, kind: {"list": "[" * n + "]" * n, "object": '{"a":' * n + "1" + "}" * n,
                                  "inner": '{"spec_id": 1101, "x": ' + "[" * n + "]" * n + "}"}[kind],
                 st.integers(1, 3000), st.sampled_from(("list", "object", "inner")))
JSON_TYPES = st.sampled_from(("application/json", "application/json", "application/json; charset=utf-8",
                              "application/problem+json", "application/json; charset=latin-1"))


def _dumps(value: Any) -> str:
    """JSON text of a generated value; NaN and infinities as Python writes them, and integers too long
    for str() (HUGE) as their digits all the same."""
    try:
        return json.dumps(value, allow_nan=True, ensure_ascii=False)
    except ValueError:
        if isinstance(value, int):
            return ("-" if value < 0 else "") + "9" * 4400
        if isinstance(value, list):
            return "[" + ",".join(map(_dumps, value)) + "]"
        if isinstance(value, dict):
            return _object([(str(k), _dumps(v)) for k, v in value.items()])
        raise


@st.composite
def json_requests(draw: st.DrawFn, path: str) -> dict[str, Any]:
    """Keyword arguments of a test client's post(): a JSON (or not quite JSON) body and a key."""
    auth = draw(AUTH)
    headers, query, extra = _auth(auth, "{key}")
    kind = draw(st.sampled_from(("object",) * 6 + ("value", "garbage", "deep")))
    if kind == "object":
        pairs: list[tuple[str, str]] = [(k, _dumps(v)) for k, v in extra]
        for name in core_names(path):
            if draw(LIKELY):
                pairs.append((name, _dumps(draw(value_for(path, name, likely=True)))))
        fields = base64_fields(path)
        if fields and draw(LIKELY):
            data = draw(image_bytes(path))
            text = draw(st.sampled_from(("", "data:image/png;base64,"))) + base64.b64encode(data).decode()
            value = draw(st.one_of(*[st.just(_dumps(text))] * 5, ANY_JSON))
            pairs.append((draw(st.sampled_from(fields)), value))
        elif image_fields(path) and draw(st.booleans()):  # a name that takes uploads only, or no image at all
            pairs.append((draw(st.sampled_from(image_fields(path))), _dumps(base64.b64encode(TINY_PNG).decode())))
        names = field_names(path)
        known = st.sampled_from(names).flatmap(lambda n: st.tuples(st.just(n), value_for(path, n).map(_dumps)))
        more = st.one_of(known, st.tuples(st.text(max_size=12), ANY_JSON))
        pairs += draw(st.lists(more, max_size=5))
        body = _object(draw(st.permutations(pairs)))
    elif kind == "value":
        body = draw(ANY_JSON)
    elif kind == "garbage":
        body = draw(st.one_of(st.text(max_size=40), st.binary(max_size=40).map(lambda b: b.decode("latin-1"))))
    else:
        body = draw(DEEP)
    if draw(st.booleans()):
        headers["X-Request-Id"] = draw(st.sampled_from(("abc-123", "x" * 65, "bad id", "", "\u00e9")))
    note(f"auth {auth}, {kind} body of {len(body)} characters")
    return {"auth": auth, "data": body.encode("utf-8", "surrogatepass"), "content_type": draw(JSON_TYPES),
            "headers": headers, "query_string": query}


def send(servers: Servers, path: str, request: dict[str, Any]) -> Any:
    kw = {k: v for k, v in request.items() if k != "auth"}
    key = servers.key
    kw["data"] = kw["data"].replace(b"{key}", key.encode())
    kw["headers"] = {k: v.replace("{key}", key) for k, v in kw["headers"].items()}
    kw["query_string"] = {k: v.replace("{key}", key) for k, v in kw["query_string"].items()}
    with capped_memory(3 << 30):
        return servers.client(request["auth"]).post(path, **kw)


def web_property(servers: Servers, path: str, request: dict[str, Any], *, statistics: bool = True) -> None:
    servers.crashes.last = None
    resp = send(servers, path, request)
    response_property(path, resp, servers.crashes.last)
    if statistics:  # hypothesis.event only inside a hypothesis test
        event(_outcome(resp))


def _outcome(resp: Any) -> str:
    """``200`` or ``400 NO_FACE_DETECTED``: how deep a request got (``--hypothesis-show-statistics``)."""
    if resp.status_code == 200 or resp.mimetype != "application/json":
        return str(resp.status_code)
    body = resp.get_json(silent=True) or {}
    status = body.get("error") or body.get("status") or body.get("code")
    message = str(body.get("message") or body.get("msg") or body.get("reason") or "")
    return f"{resp.status_code} {status} {message[:40]}"


@pytest.mark.parametrize("path", JSON_POSTS)
@settings(PROFILE, max_examples=45)
@given(data=st.data())
def test_every_json_body_is_answered_in_the_familys_envelope(servers, path, data):
    web_property(servers, path, data.draw(json_requests(path)))


@pytest.mark.parametrize("path", sorted(set(POSTS) - set(JSON_POSTS)))
@settings(PROFILE, max_examples=15)
@given(data=st.data())
def test_json_where_a_form_is_documented_is_answered_too(servers, path, data):
    web_property(servers, path, data.draw(json_requests(path)))


# Multipart: raw bodies, so that names and values may be any bytes.
FILENAMES = st.one_of(weighted(("a.png", 8), ("", 1), ("../../etc/passwd", 1), ("x.jpg\x00.png", 1), ("\u4e2d.png", 1),
                               ("a\"b.png", 1)), st.text(max_size=10))
PART_TYPES = st.sampled_from((None, "image/png", "image/jpeg", "application/octet-stream", "text/plain; charset=utf-8",
                              "text/plain; charset=latin-1", "multipart/mixed"))
NAMES = st.one_of(st.text(max_size=12).map(lambda s: s.encode()), st.binary(max_size=8),
                  st.sampled_from((b"", b"\xff\xfe", b"a\"b", b"a\r\nb", b"file[]", b"spec_id")))


def _text(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, int):
        return _dumps(value).encode()
    return _dumps(value).encode("utf-8") if isinstance(value, list | dict) else str(value).encode()


def _part(name: bytes, value: bytes, filename: bytes | None = None, ctype: str | None = None) -> bytes:
    head = b'Content-Disposition: form-data; name="' + name + b'"'
    if filename is not None:
        head += b'; filename="' + filename + b'"'
    if ctype:
        head += b"\r\nContent-Type: " + ctype.encode()
    return head + b"\r\n\r\n" + value


@st.composite
def multipart_requests(draw: st.DrawFn, path: str) -> dict[str, Any]:
    """A multipart body with the endpoint's fields, random ones, files where they belong and where
    they do not, duplicates and non-UTF-8 bytes; sometimes a broken ending."""
    auth = draw(AUTH)
    headers, query, extra = _auth(auth, "{key}")
    parts = [_part(k.encode(), v.encode()) for k, v in extra]
    for name in core_names(path):
        if draw(LIKELY):
            parts.append(_part(name.encode(), _text(draw(value_for(path, name, likely=True)))))
    files = upload_fields(path)
    if files and draw(LIKELY):
        parts.append(_part(draw(st.sampled_from(files)).encode(), draw(image_bytes(path)),
                           _text(draw(FILENAMES)), draw(PART_TYPES)))
    elif base64_fields(path) and draw(st.booleans()):  # base64 text in a form field
        parts.append(_part(draw(st.sampled_from(base64_fields(path))).encode(),
                           base64.b64encode(draw(image_bytes(path)))))
    names = field_names(path)
    known = st.sampled_from(names).flatmap(lambda n: st.tuples(st.just(n.encode()), value_for(path, n).map(_text)))
    random_value = st.one_of(st.binary(max_size=16), st.text(max_size=16).map(str.encode))
    for _ in range(draw(st.integers(0, 5))):
        choice = draw(st.sampled_from(("known", "known", "random", "file-in-a-field", "file-anywhere")))
        if choice == "known":
            name, value = draw(known)
            parts.append(_part(name, value))
        elif choice == "random":
            parts.append(_part(draw(NAMES), draw(random_value)))
        elif choice == "file-in-a-field":
            name, _ = draw(known)
            parts.append(_part(name, draw(image_bytes(path)), _text(draw(FILENAMES)), draw(PART_TYPES)))
        else:
            parts.append(_part(draw(NAMES), draw(random_value), _text(draw(FILENAMES)), draw(PART_TYPES)))
    if parts and draw(st.booleans()):
        parts.append(draw(st.sampled_from(parts)))  # a field given twice
    parts = draw(st.permutations(parts))
    boundary = "prop" + draw(st.text(alphabet="abcdefXYZ0123456789", min_size=1, max_size=30))
    ctype = f"multipart/form-data; boundary={boundary}"
    if not draw(LIKELY):  # characters that need quoting, quoted or not
        boundary += draw(st.text(alphabet="'()+_,-./:=? ", min_size=1, max_size=8))
        ctype = draw(st.sampled_from((f'multipart/form-data; boundary="{boundary}"',
                                      f"multipart/form-data; boundary={boundary}", "multipart/form-data")))
    sep = b"--" + boundary.encode()
    body = b"".join(sep + b"\r\n" + p + b"\r\n" for p in parts)
    ending = draw(weighted(("close", 8), ("none", 1), ("cut", 1)))
    if ending == "close":
        body += sep + b"--\r\n"
    elif ending == "cut":
        body = body[: draw(st.integers(0, len(body)))]
    if draw(st.booleans()):
        query.update(draw(st.dictionaries(st.sampled_from(names), st.sampled_from(("1", "0", "1101", "%FF", "\u00e9")),
                                          max_size=2)))
    note(f"auth {auth}, {len(parts)} parts, ending {ending}")
    return {"auth": auth, "data": body, "content_type": ctype,
            "headers": headers, "query_string": query}


@pytest.mark.parametrize("path", MULTIPART_POSTS)
@settings(PROFILE, max_examples=30)
@given(data=st.data())
def test_every_multipart_form_is_answered_in_the_familys_envelope(servers, path, data):
    web_property(servers, path, data.draw(multipart_requests(path)))


@pytest.mark.parametrize("auth", ["open", "header", "none"])
@pytest.mark.parametrize("path", POSTS)
def test_json_nested_too_deeply_is_a_400_with_or_without_a_key(servers, path, auth):
    """Issue 12 item 3 on every endpoint: the keyed server reads the body for an app_key too."""
    body = '{"app_key": "{key}", "x": ' + "[" * 5000 + "]" * 5000 + "}" if auth == "body" else "[" * 5000 + "]" * 5000
    headers, query, _ = _auth(auth, "{key}")
    request = {"auth": auth, "data": body.encode(), "content_type": "application/json", "headers": headers,
               "query_string": query}
    servers.crashes.last = None
    resp = send(servers, path, request)
    response_property(path, resp, servers.crashes.last)
    assert resp.status_code in (400, 401), resp.status_code


_PNG64 = base64.b64encode(TINY_PNG).decode()
FOUND = [  # what bench/fuzz.py found, kept whatever the seeds: (path, JSON body)
    ("/watermark", {"input_image_base64": _PNG64, "text": "a\nb"}),  # PIL cannot measure multiline text
    ("/watermark", {"input_image_base64": _PNG64, "text": "0\u0085"}),  # U+0085 is a line break too
    ("/api/check_pic", {"file": _PNG64, "spec_id": "9" * 4400}),  # int() of more than 4300 digits
    ("/api/check_pic", {"file": _PNG64, "spec_id": "9" * 1000}),  # quoted whole in UNKNOWN_SPEC's message
]


@pytest.mark.parametrize(("path", "body"), FOUND, ids=["watermark-newline", "watermark-nel", "spec-id-4400-digits",
                                                       "spec-id-1000-characters"])
def test_reproducers_found_by_fuzzing(servers, path, body):
    web_property(servers, path, {"auth": "open", "data": json.dumps(body).encode(), "content_type": "application/json",
                                 "headers": {}, "query_string": {}}, statistics=False)


def test_every_post_endpoint_is_covered():
    """The lists come from the document: a new endpoint is fuzzed without editing this file."""
    assert set(JSON_POSTS) <= set(POSTS) and set(MULTIPART_POSTS) | set(JSON_POSTS) == set(POSTS)
    assert {"/api/check_pic", "/api/fix", "/idphoto", "/set_kb"} <= set(JSON_POSTS)
    for path in POSTS:
        assert envelope_of(path) in DOC["components"]["schemas"]


def test_guards_hold():
    """The memory cap turns a runaway allocation into a MemoryError, and no name is resolved."""
    with capped_memory(256 << 20), pytest.raises(MemoryError):
        np.ones(1 << 31, np.uint8)
    with loopback_only():
        with pytest.raises(socket.gaierror):
            socket.getaddrinfo("example.com", 80)
        with pytest.raises(OSError), socket.socket() as s:
            s.connect(("0.0.0.0", 9))  # not loopback by its address (and local, were the guard to fail)
