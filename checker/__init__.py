"""ID-photo compliance checking: the public API.

    >>> import checker
    >>> report = checker.check("photo.jpg", spec=1102)
    >>> report["check_result"], [f["message"] for f in report["failures"]]

Everything else (the web app, the CLI) is built on these verbs.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _threads  # noqa: F401 - before anything imports numpy
from .errors import CheckerError
from .imaging import Limits, Photo, decode_base64, load_photo
from .specs import Spec, list_specs, load_spec

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from .autofix import FixOptions, FixResult
    from .generate.clothes import Garment
    from .generate.filesize import SizedImage
    from .generate.idphoto import IDPhoto
    from .params import Param
    from .verbs import Cropped, Cutout

__all__ = ["CheckerError", "FixOptions", "Photo", "Spec", "add_background", "check", "clothes", "crop", "encode",
           "fix", "fix_params", "garment", "idphoto", "layout", "list_specs", "load_photo", "load_spec", "matting",
           "parameter_tables", "parameters", "read_photo", "set_kb", "threshold_help", "threshold_names", "warm_up"]

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
    ``overrides``: id-photo-verify threshold parameters (``eyes_close=30``, ``head_length_min_p=250``,
    ``background_color=["white"]``, ...), which win over the spec and the rule defaults.

    Returns the id-photo-verify response body: ``check_result`` (1 pass, 0 fail), ``result`` (1/0 per
    check), ``value_dict``, ``all_check_result``, ``not_check_result`` and ``failures`` (each with
    the measured value, the expected window and English and Chinese messages).
    Raises CheckerError (``status``, ``message``) for unreadable images, unknown specs, no face
    or more than one face.
    """
    from .pipeline import run_check

    the_spec = spec if isinstance(spec, Spec) else load_spec(spec)
    return run_check(read_photo(image), the_spec, overrides)


def fix(image: ImageInput, spec: int | str | Spec, options: FixOptions | None = None, *,
        garment: Garment | None = None, **params: Any) -> FixResult:
    """Check a photo, generate the spec's photo from it and check the result again.

    ``options``: a FixOptions; or PicWish's task parameters as keywords (``bg_color="438EDB"``,
    ``layout=1``, ``layout_size="6inch"``, ``auto_smooth=1``, ``clothes_id="man_1"``,
    ``max_file_size=40960``, id-photo-verify thresholds...). ``garment``: an outfit change with a
    garment of :func:`garment` (a user's own). Returns a FixResult: ``photo`` (encoded bytes),
    ``format``, ``size_px``, ``dpi``, ``sheet`` (bytes or None), ``before`` and ``after`` (check
    reports), ``fixed`` (checks repaired) and ``unfixable`` (checks still failing, each marked
    repairable or not by generation, with a ``reason`` where generation knows it).
    """
    from dataclasses import replace

    from .autofix import fix as run_fix
    from .autofix import options_from_params

    the_spec = spec if isinstance(spec, Spec) else load_spec(spec)
    opts = options if options is not None else options_from_params(params)
    if garment is not None:
        if opts.clothes is not None:
            raise CheckerError("INVALID_ARGUMENT", "give clothes_id or a garment, not both")
        opts = replace(opts, clothes=garment)
    return run_fix(read_photo(image), the_spec, opts)


def garment(ref: str | bytes | Path, anchors: str | bytes | dict[str, Any] | Path | None = None) -> Garment:
    """An outfit-change garment: a built-in one by seed 002's id (``"man_1"``; ``clothes()`` lists
    them), or your own PNG with alpha (bytes or a path) with its ``anchors``: JSON (text, a dict or a
    path) ``{"collar": [x, y], "left_shoulder": [x, y], "right_shoulder": [x, y]}`` in the PNG's
    pixels, image left and right. INVALID_ARGUMENT for an unknown id or a bad file."""
    from .generate import clothes as wardrobe

    if isinstance(ref, str) and anchors is None and not ref.lower().endswith(".png"):
        return wardrobe.garment(ref)
    if anchors is None:
        raise CheckerError("INVALID_ARGUMENT", "a garment of your own needs its anchors (collar, left_shoulder, "
                                               "right_shoulder)")
    data = Path(ref).read_bytes() if isinstance(ref, (str, Path)) else ref
    marks = Path(anchors).read_text(encoding="utf-8") if isinstance(anchors, Path) else anchors
    return wardrobe.Garment.from_png(data, marks)


def clothes() -> list[dict[str, str]]:
    """The built-in garments: ``id``, ``name``, ``name_zh`` and the ``thumbnail`` address on a server."""
    from .generate import clothes as wardrobe

    return wardrobe.catalogue()


def idphoto(image: ImageInput, *, width: int = 295, height: int = 413, **kw: Any) -> IDPhoto:
    """The HivisionIDPhotos ID photo: the person cut out and framed by the Hivision ratios
    (``head_measure_ratio``, ``head_height_ratio``, ``top_distance_min``/``max``), with
    ``matting_model``, ``face_detect_model`` and ``align``. Returns an IDPhoto with RGBA arrays
    ``standard`` (width x height) and ``hd`` (the same framing at the photo's own resolution)."""
    from .generate.idphoto import make_idphoto

    return make_idphoto(read_photo(image), width=width, height=height, **kw)


def layout(image: ImageInput, **kw: Any) -> tuple[npt.NDArray[np.uint8], dict[str, Any]]:
    """A print sheet of one photo: ``paper`` (5inch, 6inch, a4 or (w_mm, h_mm)), ``photo_mm``,
    ``dpi``, ``vertical``, ``crop_marks``, ``canvas_color``, ``qr_data``, ``label_text``. Returns
    (sheet RGB array, info with the number of copies)."""
    from .generate.layout import layout_sheet

    return layout_sheet(read_photo(image).rgb, **kw)


def matting(image: ImageInput, *, model: str | None = None) -> Cutout:
    """The person cut out of a photo: a Cutout with ``image`` (H x W x 4 uint8, straight alpha, the
    photo's resolution) and ``model``, the matting that ran (HivisionIDPhotos' ``human_matting_model``
    names; the embedded one by default). Raises INVALID_ARGUMENT for an unknown name and
    MODEL_UNAVAILABLE for a model whose weights are missing."""
    from .verbs import matting as run

    return run(read_photo(image), model)


def crop(image: ImageInput, spec: int | str | Spec | None = None, *, width: int | None = None,
         height: int | None = None, align: bool = True, face_detect_model: str | None = None,
         matting_model: str | None = None, head_measure_ratio: float = 0.2, head_height_ratio: float = 0.45,
         top_distance_min: float = 0.10, top_distance_max: float = 0.12) -> Cropped:
    """Frame a photo: to a spec's geometry (head height, eye line, crown gap at the middle of its
    windows, at the spec's pixel size or ``width`` x ``height``), or without a spec to ``width`` x
    ``height`` by HivisionIDPhotos' ratios (as /idphoto_crop). The photo's own pixels are kept, background
    included; a transparent cut-out keeps its alpha. Scaled uniformly, never stretched: where the
    frame reaches beyond the photo the result is transparent. ``align`` levels the eyes first.
    Returns a Cropped (``image`` RGBA, ``width``, ``height``, ``dpi``, ``scale``)."""
    from .verbs import crop as run

    the_spec = spec if isinstance(spec, Spec) or spec is None else load_spec(spec)
    return run(read_photo(image), the_spec, width=width, height=height, align=align,
               face_detect_model=face_detect_model, matting_model=matting_model,
               head_measure_ratio=head_measure_ratio, head_height_ratio=head_height_ratio,
               top_distance_min=top_distance_min, top_distance_max=top_distance_max)


def set_kb(image: ImageInput, kb: int, *, dpi: float | None = None, format: str | None = None,
           allow_resize: bool = True) -> SizedImage:
    """Re-encode a photo to exactly ``kb`` KB (1 KB = 1024 bytes), as HivisionIDPhotos' /set_kb: the
    highest quality that fits, then padding the decoders skip; the pixels shrink only when even the
    lowest quality is too large and ``allow_resize``. ``format``: JPEG (default) or PNG; ``dpi``:
    the photo's own, else 300. Returns a SizedImage (``data``, ``format``, ``quality``, ``padding``,
    ``resized``, ``width``, ``height``, ``dpi``); FILE_SIZE_UNREACHABLE when the size cannot be made."""
    from .verbs import set_kb as run

    return run(read_photo(image), kb, dpi=dpi, format=format, allow_resize=allow_resize)


def encode(image: npt.NDArray[np.uint8], *, format: str | None = None, dpi: float = 300, quality: int = 95) -> bytes:
    """Encode H x W x 3 (RGB) or H x W x 4 (RGBA) uint8 pixels with the DPI written into the file.
    ``format``: JPEG or PNG; by default RGB is JPEG at ``quality`` and RGBA is PNG."""
    from .verbs import encode as run

    return run(image, format=format, dpi=dpi, quality=quality)


def add_background(image: npt.NDArray[np.uint8], color: str, *, render: int = 0,
                   color2: str | None = None) -> npt.NDArray[np.uint8]:
    """Put a transparent cut-out (H x W x 4 uint8) in front of ``color`` (hex or a name): solid
    (``render`` 0), top-to-bottom gradient to ``color2`` or white (1), or centre gradient (2).
    Returns RGB uint8."""
    from .verbs import add_background as run

    return run(image, color, render=render, color2=color2)


def warm_up() -> None:
    """Load the models a check needs now instead of on the first photo (each process loads each
    model once and keeps it)."""
    from .models import warm_up as load

    load()


def threshold_names() -> list[str]:
    """Every override name :func:`check` understands: the rules' threshold parameters, the pixel
    frame (``width_px``, ``height_px``) and ``face_center``, which id-photo-verify lists but says
    has no effect (see ``checker.params.check``)."""
    from .params.check import CHECK

    declared = {p.name for p in CHECK.params_list if p.kind != "image" and p.name != "spec_id"}
    return sorted(declared | CHECK.passthrough_names() | {"face_center"})


def fix_params() -> list[str]:
    """Every parameter name :func:`fix` understands as a keyword: the generation options
    (PicWish names and their aliases) and the check's thresholds."""
    from .autofix import known_params

    return known_params()


def parameters(table: str = "fix") -> list[Param]:
    """The declared parameters of one API family (``fix``, ``tasks``, ``check``, ``mask``,
    ``matting``, ``api-fix`` or a HivisionIDPhotos endpoint such as ``idphoto``): name, kind, range,
    default, unit, meaning and effect on credits. ValueError for an unknown table."""
    from .params.catalogue import table as find

    return list(find(table).params_list)


def parameter_tables() -> list[str]:
    """The names :func:`parameters` takes."""
    from .params.catalogue import TABLES

    return list(TABLES)


def threshold_help() -> list[tuple[str, str, str]]:
    """(parameter, the threshold it sets as ``check.key``, the check's title) for every threshold
    override :func:`check` and :func:`fix` take."""
    from .rules import param_help

    return param_help()


def __getattr__(name: str) -> Any:
    if name == "FixOptions":  # imported lazily: the check path does not need the generation modules
        from .autofix import FixOptions

        return FixOptions
    raise AttributeError(name)
