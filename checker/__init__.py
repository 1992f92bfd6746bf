"""ID-photo compliance checking: the public API.

    >>> import checker
    >>> report = checker.check("photo.jpg", spec=1102)
    >>> report["check_result"], [f["message"] for f in report["failures"]]

Everything else (the web app, the CLI) is built on these verbs.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

from .errors import CheckerError
from .imaging import Limits, Photo, decode_base64, load_photo
from .specs import Spec, list_specs, load_spec

__all__ = ["CheckerError", "FixOptions", "Photo", "Spec", "check", "fix", "idphoto", "layout", "list_specs",
           "load_photo", "load_spec", "read_photo"]

ImageInput = str | bytes | PathLike[str] | Photo


def read_photo(image: ImageInput, *, limits: Limits | None = None) -> Photo:
    """Turn a path, raw bytes, base64 text (``data:`` prefix allowed) or a Photo into a Photo.

    A ``str`` is a path if such a file exists, otherwise base64 text.
    """
    if isinstance(image, Photo):
        return image
    if isinstance(image, bytes | bytearray):
        return load_photo(bytes(image), limits=limits)
    if isinstance(image, PathLike) or (isinstance(image, str) and len(image) < 4096 and Path(image).is_file()):
        return load_photo(Path(image).read_bytes(), limits=limits)
    if isinstance(image, str):
        return load_photo(decode_base64(image), limits=limits)
    raise CheckerError("INVALID_ARGUMENT", f"cannot read an image from {type(image).__name__}")


def check(image: ImageInput, spec: int | str | Spec, **overrides: Any) -> dict[str, Any]:
    """Check a photo against a document spec.

    ``image``: a path, bytes, base64 text or Photo. ``spec``: a numeric id, slug or Spec.
    ``overrides``: seed 004 threshold parameters (``eyes_close=30``, ``head_length_min_p=250``,
    ``background_color=["white"]``, ...), which win over the spec and the rule defaults.

    Returns the seed 004 response body: ``check_result`` (1 pass, 0 fail), ``result`` (1/0 per
    check), ``value_dict``, ``all_check_result``, ``not_check_result`` and ``failures`` (each with
    the measured value, the expected window and English and Chinese messages).
    Raises CheckerError (``status``, ``message``) for unreadable images, unknown specs, no face
    or more than one face.
    """
    from .pipeline import run_check

    the_spec = spec if isinstance(spec, Spec) else load_spec(spec)
    return run_check(read_photo(image), the_spec, overrides)


def fix(image: ImageInput, spec: int | str | Spec, options: Any = None, **params: Any) -> Any:
    """Check a photo, generate the spec's photo from it and check the result again.

    ``options``: a FixOptions; or seed 002's task parameters as keywords (``bg_color="438EDB"``,
    ``layout=1``, ``layout_size="6inch"``, ``auto_smooth=1``, ``max_file_size=40960``, seed 004
    thresholds...). Returns a FixResult: ``photo`` (encoded bytes), ``format``, ``size_px``,
    ``dpi``, ``sheet`` (bytes or None), ``before`` and ``after`` (check reports), ``fixed`` (checks
    repaired) and ``unfixable`` (checks still failing, each marked repairable or not by generation).
    """
    from .autofix import fix as run_fix
    from .autofix import options_from_params

    the_spec = spec if isinstance(spec, Spec) else load_spec(spec)
    opts = options if options is not None else options_from_params(params)
    return run_fix(read_photo(image), the_spec, opts)


def idphoto(image: ImageInput, *, width: int = 295, height: int = 413, **kw: Any) -> Any:
    """Seed 000's ID photo: the person cut out and framed by the Hivision ratios
    (``head_measure_ratio``, ``head_height_ratio``, ``top_distance_min``/``max``), with
    ``matting_model``, ``face_detect_model`` and ``align``. Returns an IDPhoto with RGBA arrays
    ``standard`` (width x height) and ``hd`` (the same framing at the photo's own resolution)."""
    from .generate.idphoto import make_idphoto

    return make_idphoto(read_photo(image), width=width, height=height, **kw)


def layout(image: ImageInput, **kw: Any) -> Any:
    """A print sheet of one photo: ``paper`` (5inch, 6inch, a4 or (w_mm, h_mm)), ``photo_mm``,
    ``dpi``, ``vertical``, ``crop_marks``, ``canvas_color``, ``qr_data``, ``label_text``. Returns
    (sheet RGB array, info with the number of copies)."""
    from .generate.layout import layout_sheet

    return layout_sheet(read_photo(image).rgb, **kw)


def __getattr__(name: str) -> Any:
    if name == "FixOptions":  # imported lazily: the check path does not need the generation modules
        from .autofix import FixOptions

        return FixOptions
    raise AttributeError(name)
