"""The one-step editing verbs of the public API (:func:`checker.matting`, :func:`checker.crop`,
:func:`checker.set_kb`, :func:`checker.encode`, :func:`checker.add_background`), built on the
generation modules. They take a decoded :class:`~checker.imaging.Photo`; :mod:`checker` turns paths,
bytes and base64 into one first."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .context import Analysis
from .errors import CheckerError
from .generate import filesize
from .imaging import Photo
from .specs import Spec

Image8 = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class Cutout:
    """The person cut out of a photo."""

    image: Image8  # H x W x 4, straight alpha, at the photo's own resolution
    model: str  # the matting model that ran


@dataclass(frozen=True)
class Cropped:
    """A photo framed to a document's geometry."""

    image: Image8  # height x width x 4 RGBA; transparent only where the frame reaches beyond the photo
    width: int
    height: int
    dpi: int  # the spec's, or the default 300 when framed by width and height alone
    scale: float  # output pixels per source pixel

    @property
    def transparent(self) -> bool:
        """True when some pixel is not fully opaque (a JPEG of it needs a background)."""
        return bool(self.image[:, :, 3].min() < 255)


def matting(photo: Photo, model: str | None = None) -> Cutout:
    from .generate import matting as backends

    used = backends.resolve(model)
    return Cutout(backends.cutout(Analysis(photo), model), used)


def crop(photo: Photo, spec: Spec | None = None, *, width: int | None = None, height: int | None = None,
         align: bool = True, face_detect_model: str | None = None, matting_model: str | None = None,
         head_measure_ratio: float = 0.2, head_height_ratio: float = 0.45, top_distance_min: float = 0.10,
         top_distance_max: float = 0.12) -> Cropped:
    from .autofix import windows_for
    from .generate import creator

    if (width is None) != (height is None):
        raise CheckerError("INVALID_ARGUMENT", "give both width and height, or neither")
    if spec is None and width is None:
        raise CheckerError("INVALID_ARGUMENT", "give a spec or a width and height to crop to")
    if width is not None and height is not None and not (9 <= width <= 4096 and 9 <= height <= 4096):
        raise CheckerError("INVALID_ARGUMENT", f"the output size {width}x{height} px is outside 9-4096 px")
    # A cut-out keeps its own alpha; any other photo keeps its own pixels, background and all, and the
    # matte only finds the crown and the body.
    cutout = photo.alpha is not None and photo.straight is not None
    if spec is not None:
        w, h = (width, height) if width is not None and height is not None else spec.size_px
        stage: creator.Framing = creator.SpecFraming(windows_for(spec, w, h, {}))
        dpi = spec.dpi
    else:
        assert width is not None and height is not None
        w, h, dpi = width, height, filesize.DEFAULT_DPI
        stage = creator.RatioFraming(head_measure_ratio=head_measure_ratio, head_height_ratio=head_height_ratio,
                                     top_distance_min=top_distance_min, top_distance_max=top_distance_max)
    made = creator.Creator(stage, matting_model=matting_model, face_detect_model=face_detect_model, align=align,
                           keep_background=not cutout, use_own_alpha=cutout).create(photo, w, h)
    return Cropped(made.standard, w, h, dpi, made.placement.scale)


def set_kb(photo: Photo, kb: int, *, dpi: float | None = None, format: str | None = None,
           allow_resize: bool = True) -> filesize.SizedImage:
    rgb = photo.rgba() if (format or "").upper() == "PNG" and photo.alpha is not None else photo.rgb
    the_dpi = dpi if dpi is not None else (photo.dpi[0] if photo.dpi else filesize.DEFAULT_DPI)
    return filesize.set_kb(rgb, kb, dpi=the_dpi, allow_resize=allow_resize, fmt=format)


def encode(image: Image8, *, format: str | None = None, dpi: float = filesize.DEFAULT_DPI,
           quality: int = 95) -> bytes:
    return filesize.encode(image, dpi=dpi, quality=quality, fmt=format)


def add_background(image: Image8, color: str, *, render: int = 0, color2: str | None = None) -> Image8:
    from .generate import background

    return background.compose(image, color, render=render, color2=color2)
