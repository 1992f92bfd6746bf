"""The auto-fix loop: check the photo, generate a compliant one for the spec, check the result.

Generation reuses the check's Analysis (one face detection, one mesh per photo). What generation
cannot repair (closed eyes, a mask, glare, blur, ...) is reported as unfixable, never hidden.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from . import colors, rules
from .context import Analysis
from .errors import CheckerError
from .generate import crop
from .imaging import Photo, load_photo
from .pipeline import frame_for, run_check
from .specs import Spec

if TYPE_CHECKING:
    from .generate.clothes import Garment
    from .generate.creator import Problem
    from .params import Values

# Checks generation works on: size, format, file, framing, roll, background. A failure of any
# other check is a property of the photographed person or scene and is reported as unfixable.
REPAIRABLE = frozenset({
    "photo_format", "file_size", "px_and_mm", "ppi", "face_center", "head_length", "head_occupy", "facial_width",
    "face_width", "eye_space", "hairline_top", "chin_bottom", "eyes_center_left", "eyes_space_bottom",
    "left_right_empty", "headpose_roll", "sight_line", "background_color", "uniformity", "bg_shadow",
    "clothes_similar", "lower_body_hanging", "watermark_exist",
    # defects generation itself can leave (a halo of old background, remnants, the source's frame)
    "edge_halo", "bg_remnants", "frame_edges",
})

# Failures of the re-check that say the matte is not to be trusted (old background left on the cut-out).
MATTE_DEFECTS = frozenset({"edge_halo", "bg_remnants"})


@dataclass
class FixOptions:
    """How to generate. Defaults follow the spec; every field is optional."""

    bg: str | None = None  # background colour; default: the spec's allowed colour that stands out most
    bg2: str | None = None  # bottom colour of a top-to-bottom gradient (seed 002 bg_color2)
    render: int = 0  # 0 solid, 1 top-to-bottom gradient, 2 centre gradient
    matting_model: str | None = None
    face_detect_model: str | None = None
    align: bool = True
    bright: float = 0.0
    smooth: float = 0.0
    thin: float = 0.0
    sharp: float = 0.0
    size_px: tuple[int, int] | None = None  # overrides the spec's pixel size
    dpi: int | None = None
    format: str | None = None  # JPEG or PNG; default: the spec's first accepted format
    quality: int | None = None
    kb: int | None = None  # exact size in KB
    min_bytes: int | None = None
    max_bytes: int | None = None
    label_text: str | None = None
    label_height: int = 30
    preview: bool = False
    layout: str | None = None  # 5inch, 6inch, a4
    layout_vertical: bool = False
    layout_bg_color: str | None = None
    layout_qr_code_data: str | None = None
    layout_qr_code_size: int = 290
    layout_label_text: str | None = None
    crop_marks: bool = False
    change_bg: bool = True  # False: keep the photo's own background (no matting)
    clothes: Garment | None = None  # outfit change: a built-in garment (clothes_id) or the user's own
    windows: Mapping[str, tuple[float | None, float | None]] = field(default_factory=dict)  # output px, see below
    overrides: Mapping[str, Any] = field(default_factory=dict)  # seed 004 thresholds for both checks


@dataclass
class FixResult:
    photo: bytes
    format: str
    size_px: tuple[int, int]
    dpi: int
    background: str  # hex of the background used
    standard: np.ndarray  # RGBA at the output size (transparent background)
    hd: np.ndarray  # RGBA of the same framing at the source's resolution
    before: dict[str, Any]
    after: dict[str, Any]
    fixed: list[str]
    unfixable: list[dict[str, Any]]
    sheet: bytes | None = None
    sheet_info: dict[str, Any] | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    problems: list[dict[str, Any]] = field(default_factory=list)  # generation's own blocking problems

    @property
    def passed(self) -> bool:
        """The re-check of the written file passed and generation knows of nothing wrong with it."""
        return self.after["check_result"] == 1 and not self.problems


# What an output frame can hold, as shares of its own size. A face narrower than a tenth of the
# photo's width (or a head shorter than a tenth of its height) is not an ID photo, and framing it
# would shrink the person by orders of magnitude: /api/fix with face_width=1 once asked for a 22 GB
# canvas. A window outside these is refused (400 naming the parameter) before any work.
MIN_FACE_SHARE = 0.1  # smallest face width, share of the output width
MIN_HEAD_SHARE = 0.1  # smallest head height (crown to chin), share of the output height

# Request options of seed 002's face-size windows, by the FixOptions.windows key they set.
WINDOW_OPTIONS = {"face_width": "face_width", "head": "face_height", "crown_gap": "head_top",
                  "chin_top": "chin_top", "eyes_top": "eyes_top"}

Window = tuple[float | None, float | None]


def _holdable(name: str, window: Window, lo: float, hi: float, what: str, frame: str) -> None:
    """Refuse a window no value in [lo, hi] (output px) meets, naming the parameter."""
    w_lo, w_hi = window
    if w_lo is not None and w_hi is not None and w_lo > w_hi:
        raise CheckerError("INVALID_ARGUMENT", f"{name}: the smallest {what} ({w_lo:g} px) is larger than the "
                                               f"largest ({w_hi:g} px)")
    if (w_lo is not None and w_lo > hi) or (w_hi is not None and w_hi < lo):
        asked = (f"at least {w_lo:g}" if w_hi is None else f"at most {w_hi:g}" if w_lo is None
                 else f"{w_lo:g}-{w_hi:g}")
        raise CheckerError("INVALID_ARGUMENT", f"{name}: a {what} of {asked} px cannot be met in {frame}; "
                                               f"it must allow {lo:g}-{hi:g} px")


def windows_for(spec: Spec, width: int, height: int, overrides: Mapping[str, Any],
                extra: Mapping[str, Window] | None = None) -> crop.Windows:
    """The spec's framing windows in output pixels, through the same rules the checker applies;
    ``extra`` (seed 002's face-size constraints: head, face_width, crown_gap, eyes_top, chin_top)
    wins over them. A window the width x height frame cannot hold (a face wider than the photo or
    narrower than MIN_FACE_SHARE of it, a head taller than the photo or shorter than
    MIN_HEAD_SHARE of it, eyes or chin outside it, no room below the crown gap) is a CheckerError
    INVALID_ARGUMENT naming the request option or the check whose thresholds gave it."""
    photo_like = Photo(rgb=np.zeros((1, 1, 3), np.uint8), format="JPEG", file_size=0)
    frame = frame_for(spec, photo_like, overrides)
    frame = rules.Frame(width, height, frame.frame_w, frame.frame_h, dpi=frame.dpi, mm_w=frame.mm_w, mm_h=frame.mm_h)
    active = rules.plan(spec.checks, overrides, frame).active
    table = rules.load_rules()
    extra = extra or {}

    def given(key: str, check: str) -> tuple[Window, str]:
        """The window and the name to refuse it by: the request option, else the check's thresholds."""
        if extra.get(key) is not None:
            return extra[key], WINDOW_OPTIONS[key]
        if check not in active:
            return (None, None), check
        th = active[check][1]
        params = [p for p in table[check].params.values()] if check in table else []
        return (th.get("min"), th.get("max")), f"{check} ({', '.join(params)})" if params else check

    where = f"a {width} x {height} px photo"
    face_min, head_min = MIN_FACE_SHARE * width, MIN_HEAD_SHARE * height
    face_width, name = given("face_width", "facial_width")
    _holdable(name, face_width, face_min, width, "face width", where)
    head_given, name = given("head", "head_length")
    _holdable(name, head_given, head_min, height, "head height", where)
    head = (head_given[0] if head_given[0] is not None else 0.5 * height,
            head_given[1] if head_given[1] is not None else 0.8 * height)
    crown, name = given("crown_gap", "hairline_top")
    _holdable(name, crown, 0.0, height - head_min, "gap above the head", where)
    if "crown_gap" in extra and "head" in extra and crown[0] is not None and head_given[0] is not None \
            and crown[0] + head_given[0] > height:
        raise CheckerError("INVALID_ARGUMENT", f"head_top and face_height: a gap of {crown[0]:g} px above a head of "
                                               f"{head_given[0]:g} px does not fit in {where}")
    eyes, name = given("eyes_top", "eyes_space_bottom")
    _holdable(name, eyes, 0.0, height, "eye line distance from the edge", where)
    if "eyes_top" in extra:  # distances from the top edge -> above the bottom edge
        eyes = _flip(extra["eyes_top"], height)
    chin_bottom, name = given("chin_top", "chin_bottom")
    if "chin_top" in extra:
        _holdable(name, chin_bottom, head_min, height, "distance from the top edge to the chin", where)
        chin = _flip(extra["chin_top"], height)
    else:
        chin = (chin_bottom[0], None)
        _holdable(name, chin, 0.0, height - head_min, "gap below the chin", where)
    return crop.Windows(
        head=head, eyes_above_bottom=eyes, crown_gap=crown, chin_gap_min=chin[0], chin_gap_max=chin[1],
        face_width=face_width,
    )


def check_options(spec: Spec, opts: FixOptions) -> tuple[int, int]:
    """Refuse, before any work, options the output frame cannot hold: the output size, the face
    windows (see windows_for), a label taller than half the photo, a print sheet too large for its
    dpi. Returns the output size (width, height)."""
    from .generate import layout

    width, height = output_size(spec, opts)
    windows_for(spec, width, height, opts.overrides, opts.windows)
    if opts.label_text and not 1 <= opts.label_height <= height // 2:
        raise CheckerError("INVALID_ARGUMENT", f"label_height: {opts.label_height} px is more than half of the "
                                               f"{height} px photo (at most {height // 2} px)")
    if opts.layout:
        layout.paper_px(opts.layout, int(opts.dpi or spec.dpi), opts.layout_vertical)
    return width, height


def _flip(window: Window, height: int) -> Window:
    lo, hi = window
    return (None if hi is None else height - hi, None if lo is None else height - lo)


def output_size(spec: Spec, opts: FixOptions) -> tuple[int, int]:
    if opts.size_px:
        w, h = (int(v) for v in opts.size_px)
        if not (9 <= w <= 4096 and 9 <= h <= 4096):
            raise CheckerError("INVALID_ARGUMENT", f"the output size {w}x{h} px is outside 9-4096 px")
        return w, h
    return spec.size_px


def choose_background(spec: Spec, opts: FixOptions, rgb: np.ndarray, alpha: np.ndarray, a: Analysis) -> str:
    """The colour asked for, else the spec's allowed colour furthest (CIEDE2000) from the clothes,
    else white."""
    if opts.bg:
        try:
            return colors.to_hex(colors.parse_color(opts.bg))
        except (TypeError, ValueError) as exc:
            raise CheckerError("INVALID_ARGUMENT", f"bg_color: {exc}") from exc
    allowed = list(spec.background_colors) or ["white"]
    if len(allowed) == 1:
        return colors.to_hex(colors.parse_color(allowed[0]))
    rows = np.arange(alpha.shape[0])[:, None]
    below = (alpha > 0.9) & (rows > a.chin_y + 0.3 * a.face_width)
    if below.sum() < 50:
        return colors.to_hex(colors.parse_color(allowed[0]))
    clothes = colors.rgb_to_lab(np.median(rgb[below], axis=0))
    return max((colors.to_hex(colors.parse_color(c)) for c in allowed),
               key=lambda h: colors.delta_e(clothes, colors.rgb_to_lab(colors.parse_color(h))))


def fix(photo: Photo, spec: Spec, opts: FixOptions | None = None, *,
        on_stage: Callable[[str], None] | None = None) -> FixResult:
    """Check ``photo`` against ``spec``, generate the spec's photo from it, check that again.
    ``on_stage(name)`` is called as each stage ends (tasks turn it into progress)."""
    from .generate import background, beauty, creator, filesize, layout, watermark

    opts = opts or FixOptions()
    width, height = check_options(spec, opts)  # what the frame cannot hold is refused before any work
    t: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        t[name] = round((now - clock) * 1000, 1)
        clock = now
        if on_stage is not None:
            on_stage(name)

    a = Analysis(photo, face_detector=opts.face_detect_model)
    before = run_check(photo, spec, opts.overrides, analysis=a)
    lap("check_before")
    retouch = None
    if any((opts.bright, opts.smooth, opts.thin, opts.sharp)):
        def retouch(rgb: np.ndarray, alpha: np.ndarray, mesh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return beauty.apply_beauty(rgb, mesh, bright=opts.bright, smooth=opts.smooth, thin=opts.thin,
                                       sharp=opts.sharp, alpha=alpha)
    wins = windows_for(spec, width, height, opts.overrides, opts.windows)
    made = creator.Creator(
        creator.SpecFraming(wins), matting_model=opts.matting_model, align=opts.align,
        keep_background=not opts.change_bg, retouch=retouch, garment=opts.clothes, on_stage=lap,
    ).create(photo, width, height, analysis=a)
    standard, hd = made.standard, made.hd
    bg = choose_background(spec, opts, made.rgb, made.alpha, a)
    out_rgb = background.compose(standard, bg, render=opts.render, color2=opts.bg2)
    if opts.label_text:
        out_rgb = watermark.add_label(out_rgb, opts.label_text, height=opts.label_height)
    clean_rgb = out_rgb
    if opts.preview:
        out_rgb = watermark.preview_watermark(out_rgb)
    lap("background")
    fmt = (opts.format or _first_format(spec)).upper()
    fmt = "JPEG" if fmt == "JPG" else fmt
    if fmt not in ("JPEG", "PNG"):
        raise CheckerError("INVALID_ARGUMENT", f"format must be JPEG or PNG, not {fmt}")
    dpi = int(opts.dpi or spec.dpi)
    data = _encode(out_rgb, fmt, dpi, opts, _file_window(spec, opts))
    lap("encode")
    # A preview is judged as the photo it previews: its PREVIEW mark would read as shadow and glare.
    checked = data if not opts.preview else _encode(clean_rgb, fmt, dpi, opts, _file_window(spec, opts))
    after = run_check(load_photo(checked), spec, _after_overrides(opts, width, height))
    lap("check_after")
    sheet = sheet_info = None
    if opts.layout:
        sheet_rgb, sheet_info = layout.layout_sheet(
            np.asarray(load_photo(data).rgb), photo_mm=_print_mm(spec, width, height, dpi), dpi=dpi, paper=opts.layout,
            vertical=opts.layout_vertical, canvas_color=opts.layout_bg_color, crop_marks=opts.crop_marks,
            qr_data=opts.layout_qr_code_data, qr_size=opts.layout_qr_code_size, label_text=opts.layout_label_text)
        sheet = filesize.encode(sheet_rgb, dpi=dpi, quality=95)
        lap("layout")
    fixed, unfixable = _classify(before, after, made.problems)
    return FixResult(photo=data, format=fmt, size_px=(width, height), dpi=dpi, background=bg, standard=standard,
                     hd=hd, before=before, after=after, fixed=fixed, unfixable=unfixable, sheet=sheet,
                     sheet_info=sheet_info, timings_ms=t,
                     problems=[pr.as_dict() for pr in made.problems if pr.blocking])


def _encode(rgb: np.ndarray, fmt: str, dpi: int, opts: FixOptions, window: tuple[int | None, int | None]) -> bytes:
    """The file: pixels never resampled here (the spec's pixel size is part of compliance)."""
    from .generate import filesize

    if opts.kb is not None:
        return filesize.set_kb(rgb, opts.kb, dpi=dpi, fmt=fmt).data
    if opts.quality is not None or window == (None, None):
        return filesize.encode(rgb, dpi=dpi, quality=opts.quality or filesize.DEFAULT_QUALITY, fmt=fmt)
    return filesize.fit_file_size(rgb, dpi=dpi, min_file_size=window[0], max_file_size=window[1], fmt=fmt).data


def _first_format(spec: Spec) -> str:
    formats = spec.checks.get("photo_format", {}).get("one_of") or rules.load_rules()["photo_format"].default["one_of"]
    return str(formats[0])


def _file_window(spec: Spec, opts: FixOptions) -> tuple[int | None, int | None]:
    if opts.quality is not None or opts.kb is not None:
        return (None, None)
    spec_window = spec.checks.get("file_size", {})
    lo = opts.min_bytes if opts.min_bytes is not None else _bytes(spec_window.get("min"))
    hi = opts.max_bytes if opts.max_bytes is not None else _bytes(spec_window.get("max"))
    return lo, hi


def _bytes(literal: Any) -> int | None:
    if literal is None:
        return None
    rule = rules.load_rules()["file_size"]
    frame = rules.Frame(1, 1, 1, 1)
    return int(rules.to_number(literal, rule, frame, bare="native"))


def _after_overrides(opts: FixOptions, width: int, height: int) -> dict[str, Any]:
    """The re-check judges the size actually asked for (a request's own px size included)."""
    out = dict(opts.overrides)
    if opts.size_px:
        out.setdefault("width_px", width)
        out.setdefault("height_px", height)
    return out


def _print_mm(spec: Spec, width: int, height: int, dpi: int) -> tuple[float, float]:
    if spec.size_mm and (width, height) == tuple(spec.size_px) and "discrepancy" not in spec.raw:
        return (float(spec.size_mm[0]), float(spec.size_mm[1]))
    return (width / dpi * 25.4, height / dpi * 25.4)


def _classify(before: dict[str, Any], after: dict[str, Any],
              problems: Sequence[Problem] = ()) -> tuple[list[str], list[dict[str, Any]]]:
    """Checks the output no longer fails, and what is left: the re-check's failures, each marked
    repairable or not, and generation's own problems (a named ``reason``; they are a property of the
    source photo, so not repairable). A blocking problem is listed even where the re-check passed."""
    def failing(report: dict[str, Any]) -> dict[str, str]:
        out = {f["check"]: f["message"] for f in report["failures"]}
        out.update({n["check_param"]: n["param_message"] for n in report["not_check_result"]})
        return out

    was, still = failing(before), failing(after)
    fixed = sorted(c for c in was if c not in still and c not in {p.check for p in problems if p.blocking})
    items = {c: {"check": c, "message": m, "repairable": c in REPAIRABLE} for c, m in still.items()}
    for check in MATTE_DEFECTS & items.keys():
        items[check].update(reason="MATTE_UNTRUSTED", message=f"{items[check]['message']}; the cut-out keeps part of "
                            "the old background: another human_matting_model may separate it")
    for pr in problems:
        if pr.check in items or pr.blocking:
            item = items.setdefault(pr.check, {"check": pr.check, "message": ""})
            item.update(reason=pr.reason, repairable=False,
                        message=f"{item['message']}; {pr.message}" if item["message"] else pr.message)
    return fixed, [items[c] for c in sorted(items)]


# --- request parameters (checker.params.generation) -> options ----------------------------------------
def known_params() -> list[str]:
    """Every parameter name ``options_from_params`` understands (options, aliases, thresholds)."""
    from .params.generation import TABLE

    return sorted(TABLE.known_names())


def options_from_params(params: Mapping[str, Any]) -> FixOptions:
    """FixOptions from the generation options (``checker.params.generation``); an unknown name,
    a bad value or an option this service does not offer is refused, naming the parameter."""
    from .params.generation import TABLE

    return options_from_values(TABLE.parse(params))


def options_from_values(v: Values) -> FixOptions:
    """FixOptions from parsed parameters of any table that declares the generation options."""
    from .generate import clothes

    garment = clothes.garment(v["clothes_id"]) if v.get("clothes_id") else None
    px_w, px_h = v.get("px_width", v.get("width")), v.get("px_height", v.get("height"))
    mm_w, mm_h = v.get("mm_width"), v.get("mm_height")
    if (px_w is None) != (px_h is None) or (mm_w is None) != (mm_h is None):
        raise CheckerError("INVALID_ARGUMENT", "give both px_width and px_height (or both mm_width and mm_height)")
    dpi = v.get("dpi")
    size = None
    if px_w is not None:
        size = (px_w, px_h)
    elif mm_w is not None:
        dpi = dpi or 300  # the pixels are worked out at this dpi, so the file says it too
        size = (round(mm_w / 25.4 * dpi), round(mm_h / 25.4 * dpi))

    def factor(flag: str, name: str) -> float:
        return float(v[name]) if v[flag] else 0.0

    layout = v.get("layout")
    if layout is not None and "layout_size" in v:
        layout = v["layout_size"]  # layout=1 with the paper named apart
    quality = v.get("quality")
    bg2 = v.get("bg_color2")
    return FixOptions(
        bg=v.get("bg_color"), bg2=bg2, render=v.get("render", 1 if bg2 else 0),
        matting_model=v.get("human_matting_model"), face_detect_model=v.get("face_detect_model"),
        align=v["face_alignment"],
        bright=factor("auto_bright", "bright_factor"), smooth=factor("auto_smooth", "smooth_factor"),
        thin=factor("auto_thin_face", "thin_face_factor"), sharp=factor("auto_sharp", "sharp_factor"),
        size_px=size, dpi=dpi, format=v.get("format"), quality=quality, kb=v.get("kb"),
        min_bytes=None if quality else v.get("min_file_size"),
        max_bytes=None if quality else v.get("max_file_size"),
        label_text=v.get("label_text") if v["add_label"] else None,
        label_height=v["label_height"], preview=v["preview"],
        layout=layout, layout_vertical=v["layout_vertical"],
        layout_bg_color=v.get("layout_bg_color"), layout_qr_code_data=v.get("layout_qr_code_data"),
        layout_qr_code_size=v["layout_qr_code_size"],
        layout_label_text=v.get("layout_label_text"), crop_marks=v["crop_marks"],
        change_bg=v["change_bg"], windows=_face_windows(v), overrides=dict(v.extra), clothes=garment,
    )


# Seed face-size windows: option name -> the FixOptions.windows key.
_WINDOWS = (("face_width", "face_width"), ("face_height", "head"), ("head_top", "crown_gap"),
            ("chin_top", "chin_top"), ("eyes_top", "eyes_top"))


def _face_windows(v: Values) -> dict[str, tuple[float | None, float | None]]:
    """The face-size constraints (output pixels): an exact value (±1 px) or a min/max pair each.
    Distances measured from the top edge become distances above the bottom edge later."""
    out: dict[str, tuple[float | None, float | None]] = {}
    for name, key in _WINDOWS:
        exact, lo, hi = v.get(name), v.get(f"min_{name}"), v.get(f"max_{name}")
        if exact is not None:
            out[key] = (exact - 1.0, exact + 1.0)
        elif lo is not None or hi is not None:
            out[key] = (lo, hi)
    return out
