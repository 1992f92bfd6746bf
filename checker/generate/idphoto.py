"""Seed 000's ID photo: matte, align, frame by the Hivision ratios; a transparent standard photo of
exactly width x height and the same framing at the source's own resolution (HD)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..context import Analysis
from ..imaging import Photo
from . import creator, crop


@dataclass(frozen=True)
class IDPhoto:
    standard: np.ndarray  # RGBA, width x height
    hd: np.ndarray  # RGBA, the same framing at the source's resolution
    placement: crop.Placement
    problems: tuple[creator.Problem, ...] = ()  # what generation knows is wrong with it (a floating body, ...)


def make_idphoto(photo: Photo, *, width: int = 295, height: int = 413, matting_model: str | None = None,
                 face_detect_model: str | None = None, align: bool = True, head_measure_ratio: float = 0.2,
                 head_height_ratio: float = 0.45, top_distance_max: float = 0.12, top_distance_min: float = 0.10,
                 use_own_alpha: bool = False, analysis: Analysis | None = None) -> IDPhoto:
    """Cut the person out and frame them by seed 000's ratios (the Creator with RatioFraming).

    ``use_own_alpha``: the photo is already a cut-out (seed 000's /idphoto_crop): its alpha is the
    matte and no matting runs. Raises CheckerError for no face, several faces, unknown or missing
    models and bad ratios."""
    ratios = creator.RatioFraming(head_measure_ratio=head_measure_ratio, head_height_ratio=head_height_ratio,
                                  top_distance_min=top_distance_min, top_distance_max=top_distance_max)
    made = creator.Creator(ratios, matting_model=matting_model, face_detect_model=face_detect_model, align=align,
                           use_own_alpha=use_own_alpha).create(photo, width, height, analysis=analysis)
    return IDPhoto(made.standard, made.hd, made.placement, tuple(made.problems))
