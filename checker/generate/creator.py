"""One generation pipeline: detect, matte, retouch, level, frame, render.

``fix`` (spec windows), seed 000's ``/idphoto`` and ``/idphoto_crop`` (ratios) and ``idphoto crop`` all run
a ``Creator``; what differs between them is a stage, never a copy of the pipeline:

- framing: a ``Framing`` (``SpecFraming`` for a document's windows, ``RatioFraming`` for seed 000's
  ratios), looked up by name in ``FRAMINGS``;
- the matte: the ``human_matting_model`` backend, the photo's own alpha (a cut-out), or none shown
  (``keep_background``: the matte only measures the crown and the body; the photo's own pixels stay);
- retouching: any callable (rgb, alpha, mesh) -> (rgb, alpha), e.g. the beauty options;
- clothes: a garment (``checker.generate.clothes``) laid over the body, or none.

The creator also knows what no re-check of the output can be relied on to see: where the body stops above
the bottom edge, and where the photo's own edge cuts the person inside the frame. It says so as
``Problem``s (a named reason each) instead of handing over a floating torso or a wedge as a photo. Levelling
(roll alignment) is skipped when turning the photo would bring its edge into the frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from ..context import Analysis
from ..errors import CheckerError
from ..imaging import Photo
from . import clothes, crop

# A body that stops this far above the bottom edge (share of the height, 2 px at least) floats.
GAP_TOLERANCE = 0.005

Retouch = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class Framing(Protocol):
    def place(self, s: crop.Subject, width: int, height: int) -> crop.Placement: ...


@dataclass(frozen=True)
class SpecFraming:
    """A document's windows (autofix.windows_for): head and eye line mid-window, the body kept."""

    windows: crop.Windows

    def place(self, s: crop.Subject, width: int, height: int) -> crop.Placement:
        return crop.place_for_windows(s, width, height, self.windows)


@dataclass(frozen=True)
class RatioFraming:
    """Seed 000's ratios (head_measure_ratio, head_height_ratio, top_distance_min/max)."""

    head_measure_ratio: float = 0.2
    head_height_ratio: float = 0.45
    top_distance_min: float = 0.10
    top_distance_max: float = 0.12

    def place(self, s: crop.Subject, width: int, height: int) -> crop.Placement:
        return crop.place_hivision(s, width, height, head_measure_ratio=self.head_measure_ratio,
                                   head_height_ratio=self.head_height_ratio, top_distance_min=self.top_distance_min,
                                   top_distance_max=self.top_distance_max)


FRAMINGS: dict[str, Callable[..., Framing]] = {"spec": SpecFraming, "ratios": RatioFraming}


def framing(name: str, **kw: Any) -> Framing:
    """The framing stage registered as ``name``; unknown names fail loudly."""
    if name not in FRAMINGS:
        raise CheckerError("INVALID_ARGUMENT", f"framing {name!r} is not one of {', '.join(sorted(FRAMINGS))}")
    return FRAMINGS[name](**kw)


@dataclass(frozen=True)
class Problem:
    """What generation knows is wrong with its own output, by the check it concerns. A blocking problem
    keeps the output from passing whatever its re-check says; the others explain a re-check failure."""

    check: str
    reason: str  # stable machine name
    message: str
    blocking: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.check, "reason": self.reason, "message": self.message}


@dataclass
class Created:
    analysis: Analysis
    rgb: np.ndarray  # the photo's pixels after retouching (source geometry)
    alpha: np.ndarray  # the person's matte (source geometry)
    subject: crop.Subject  # what was framed (levelled when ``levelled``)
    placement: crop.Placement
    standard: np.ndarray  # RGBA, width x height
    hd: np.ndarray  # RGBA, the same framing at the source's resolution
    levelled: bool
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Creator:
    """The generation pipeline with its stages chosen (see the module docstring)."""

    framing: Framing
    matting_model: str | None = None
    face_detect_model: str | None = None
    align: bool = True
    keep_background: bool = False  # show the photo's own pixels; the matte only measures
    use_own_alpha: bool = False  # the photo is a cut-out: its alpha is the matte
    retouch: Retouch | None = None
    garment: clothes.Garment | None = None  # outfit change: laid over the body after the foreground stage
    on_stage: Callable[[str], None] | None = None  # called as each stage ends: matting, beauty, foreground,
    # clothes, crop

    def _stage(self, name: str) -> None:
        if self.on_stage is not None:
            self.on_stage(name)

    def create(self, photo: Photo, width: int, height: int, analysis: Analysis | None = None) -> Created:
        """Run every stage on ``photo`` for a width x height frame. Raises CheckerError for no face,
        several faces, unknown or missing models, and a head that cannot be framed."""
        from . import matting

        a = analysis or Analysis(photo, face_detector=self.face_detect_model)
        a.face  # noqa: B018 - NO_FACE_DETECTED / TOO_MANY_FACES before any work
        own = self.use_own_alpha and photo.alpha is not None and photo.straight is not None
        if own:
            assert photo.alpha is not None and photo.straight is not None
            alpha, rgb = photo.alpha.astype(np.float32) / 255.0, photo.straight
        else:
            alpha, rgb = matting.person_alpha(a, self.matting_model), a.rgb
        self._stage("matting")
        if self.retouch is not None:
            rgb, alpha = self.retouch(rgb, alpha, a.mesh)
            self._stage("beauty")
        fg = rgb if own or self.keep_background else matting.estimate_foreground(rgb, alpha)
        self._stage("foreground")
        if self.garment is not None:
            fg, alpha = clothes.dress(a, fg, alpha, self.garment)
            rgb = fg
            self._stage("clothes")
        measured = crop.subject_from(a, alpha, fg)
        subject, levelled, placement = self._frame(a, measured, width, height)
        problems = frame_problems(subject, placement)
        if self.align and not levelled and abs(measured.roll) >= 0.5:
            problems.append(Problem("headpose_roll", "NOT_LEVELLED", "the eyes were not levelled: turning the photo "
                                    "would bring its edge into the frame", blocking=False))
        standard = crop.render(subject, placement)
        hd = crop.render(subject, placement.at_native(subject.alpha.shape))
        self._stage("crop")
        return Created(a, rgb, alpha, subject, placement, standard, hd, levelled, problems)

    def _shown(self, s: crop.Subject) -> crop.Subject:
        """What is drawn: the cut-out, or (keep_background) the whole photo with the matte's measures."""
        if not self.keep_background:
            return s
        ones = np.ones_like(s.alpha)
        return replace(s, alpha=ones, bottoms=crop.bottoms_of(ones), edges=crop.photo_edges(ones))

    def _frame(self, a: Analysis, measured: crop.Subject, width: int,
               height: int) -> tuple[crop.Subject, bool, crop.Placement]:
        flat = self._shown(measured)
        flat_place = self.framing.place(flat, width, height)
        if not self.align or abs(measured.roll) < 0.5:
            return flat, False, flat_place
        level, _ = crop.align_roll(measured, a.mesh[:, :2])
        if self.keep_background:  # the photo turned with it; the measures stay the matte's
            turned, _ = crop.align_roll(replace(measured, alpha=np.ones_like(measured.alpha),
                                                edges=crop.photo_edges(np.ones_like(measured.alpha))))
            level = replace(level, alpha=turned.alpha, rgb=turned.rgb, bottoms=turned.bottoms, edges=turned.edges)
        level_place = self.framing.place(level, width, height)
        # Levelling never brings the photo's edge into the frame: a turned photo with any of the problems
        # frame_problems() names is used only where the unturned one has more (its cut edges, turned,
        # would be wedges).
        n_level, n_flat = _blocking(level, level_place), _blocking(flat, flat_place)
        if n_level and n_level >= n_flat:
            return flat, False, flat_place
        return level, True, level_place


def _blocking(s: crop.Subject, p: crop.Placement) -> int:
    return sum(pr.blocking for pr in frame_problems(s, p))


def frame_problems(s: crop.Subject, p: crop.Placement) -> list[Problem]:
    """A floating body and the photo's own edge inside the frame, as Problems."""
    out = []
    gap = crop.body_gap(s, p)
    if gap > max(2.0, GAP_TOLERANCE * p.height):
        out.append(Problem("lower_body_hanging", "BODY_ENDS_ABOVE_FRAME",
                           f"the photo ends {gap:.0f} px above the frame's bottom edge under the shoulders: within the "
                           "document's head and eye windows the body cannot reach the bottom; use a photo that shows "
                           "the shoulders and upper chest"))
    exposed = {side: v for side, v in crop.exposed_edges(s, p).items()
               if v >= crop.exposed_min(side) * min(p.width, p.height) and not (side == "bottom" and out)}
    if exposed:
        sides = " and ".join(exposed)
        out.append(Problem("frame_edges", "PHOTO_EDGE_IN_FRAME",
                           f"the photo's own {sides} edge cuts the person inside the frame "
                           f"({', '.join(f'{v:.0f} px' for v in exposed.values())}): the frame reaches beyond the "
                           "photo there; use a photo with more room around the person"))
    return out
