"""Generation options (PicWish-compatible ID-photo task names), shared by POST /api/fix, the task API
and ``idphoto fix``/``batch``. Prices follow the PicWish credit rules: 6 credits, 15 with an outfit
change, +8 with any beauty option, +5 with a print sheet, nothing for a watermarked preview."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import Cost, Param, Table

STANDARD, CLOTHES, BEAUTY, LAYOUT = 6, 15, 8, 5
PAPERS = ("5inch", "6inch", "a4")
FORMATS = ("jpg", "jpeg", "png")

_BEAUTY = Cost(BEAUTY, "extra", "beauty")
_LAYOUT = Cost(LAYOUT, "extra", "layout")


def _beauty(flag: str, factor: str, what: str) -> tuple[Param, Param]:
    return (Param(flag, "flag", f"{what} the face", default=False, cost=_BEAUTY),
            Param(factor, "number", f"strength of {flag}", default=0.5, lo=0.0, hi=1.0))


def _window(name: str, what: str) -> tuple[Param, Param, Param]:
    """Seed face-size constraints in output pixels: an exact value, or a minimum and a maximum. The
    static bound is the largest output; what the output frame can hold (a face a tenth of its width
    up to its width, a head a tenth of its height up to its height, ...) depends on the size, so
    autofix.check_options refuses the rest before any work (400 naming the option)."""
    return (Param(name, "int", f"{what} (exact, ±1 px)", lo=0, hi=4096, unit="px"),
            Param(f"min_{name}", "int", f"smallest {what}", lo=0, hi=4096, unit="px"),
            Param(f"max_{name}", "int", f"largest {what}", lo=0, hi=4096, unit="px"))


OPTIONS: tuple[Param, ...] = (
    Param("dpi", "int", "print resolution written into the file", lo=10, hi=1000, unit="dpi"),
    Param("px_width", "int", "output width (with px_height); default: the spec's", lo=9, hi=1800, unit="px"),
    Param("px_height", "int", "output height (with px_width)", lo=9, hi=1800, unit="px"),
    Param("width", "int", "output width, for clients that do not use px_width", lo=9, hi=4096, unit="px"),
    Param("height", "int", "output height, for clients that do not use px_height", lo=9, hi=4096, unit="px"),
    Param("mm_width", "number", "printed width (with mm_height), through dpi", lo=1, hi=179, unit="mm"),
    Param("mm_height", "number", "printed height (with mm_width)", lo=1, hi=179, unit="mm"),
    Param("change_bg", "flag", "cut the person out and replace the background (0 keeps it)", default=True),
    Param("bg_color", "string", "background colour (hex or a name); default: the spec's", aliases=("bg",),
          max_len=40),
    Param("bg_color2", "string", "bottom colour of a gradient from bg_color", max_len=40),
    Param("render", "int", "0 solid, 1 top-to-bottom gradient, 2 centre gradient; default 1 with bg_color2",
          lo=0, hi=2),
    *_window("face_width", "face width"),
    *_window("face_height", "face height (chin to crown)"),
    *_window("head_top", "gap from the top edge to the crown"),
    *_window("chin_top", "distance from the top edge to the chin"),
    *_window("eyes_top", "distance from the top edge to the eyes"),
    *_beauty("auto_bright", "bright_factor", "brighten"),
    *_beauty("auto_smooth", "smooth_factor", "smooth the skin of"),
    *_beauty("auto_thin_face", "thin_face_factor", "slim"),
    *_beauty("auto_sharp", "sharp_factor", "sharpen"),
    Param("clothes_id", "string", "outfit change: man_1..man_20, woman_1..woman_20, child_1..child_10 "
          "(GET /api/clothes lists them)", max_len=40, cost=Cost(CLOTHES, "base")),
    Param("preview", "flag", "a watermarked preview", default=False, cost=Cost(0, "free")),
    Param("format", "choice", "file format; default: the spec's first", choices=FORMATS),
    Param("quality", "int", "JPEG quality (then the file-size window is not applied)", lo=1, hi=100),
    Param("kb", "int", "encode to exactly this size", lo=1, hi=15 * 1024, unit="KB"),
    Param("min_file_size", "int", "smallest file (only without quality)", lo=0, hi=15 * 1024 * 1024,
          unit="bytes"),
    Param("max_file_size", "int", "largest file (only without quality)", lo=1, hi=15 * 1024 * 1024, unit="bytes"),
    Param("add_label", "flag", "add a text strip under the photo", default=False),
    Param("label_text", "string", "the strip's text (with add_label)", max_len=200),
    Param("label_height", "int", "height of the strip (at most half the photo's height)", default=30, lo=8, hi=400,
          unit="px"),
    Param("layout", "flag_or_choice", "also make a print sheet (1, or the paper's name)", choices=PAPERS,
          default="5inch", cost=_LAYOUT),
    Param("layout_size", "choice", "paper of the print sheet", choices=PAPERS),
    Param("layout_vertical", "flag", "lay the sheet out vertically", default=False),
    Param("layout_bg_color", "string", "colour of the sheet around the photos", max_len=40),
    Param("layout_qr_code_data", "string", "text of a QR code on the sheet", max_len=1000),
    Param("layout_qr_code_size", "int", "size of the QR code (at most the sheet's short side inside the margins)",
          default=290, lo=21, hi=2000, unit="px"),
    Param("layout_label_text", "string", "text on the sheet (\\n for new lines)", max_len=500),
    Param("crop_marks", "flag", "cutting marks on the sheet", default=False),
    Param("human_matting_model", "string", "matting model name (GET /api/models lists them)", max_len=100),
    Param("face_detect_model", "string", "face detector name", max_len=100),
    Param("face_alignment", "flag", "level the eyes by rotating the photo", default=True, aliases=("face_align",)),
)

SPEC = Param("spec_id", "id", "the document: numeric id or slug (GET /api/specs lists them)", max_len=100)
KEYS = frozenset({"api_key", "app_key"})


def _thresholds() -> list[str]:
    from .. import rules

    return rules.param_names()


FIX = Table(
    "/api/fix", (
        Param("file", "image", "the photo (multipart upload or base64 in JSON)", aliases=("input_image",
                                                                                         "image_file")),
        Param("input_image_base64", "image", "the photo as base64 (data: prefix allowed)"),
        SPEC,
        Param("transparent", "flag", "also answer the cut-out as a transparent PNG (not with preview)",
              default=False),
        Param("hd", "flag", "also answer the same framing at the source's resolution, a transparent PNG "
              "(not with preview)", default=False),
        *OPTIONS,
        Param("clothes_file", "image", "an outfit change with your own garment: a PNG with alpha (multipart "
              "upload or base64 in JSON), with clothes_anchors"),
        Param("clothes_anchors", "string", 'the garment\'s anchors in its pixels, JSON: {"collar": [x, y], '
              '"left_shoulder": [x, y], "right_shoulder": [x, y]} (image left and right)', max_len=1000,
              cost=Cost(CLOTHES, "base")),
    ),
    base_price=STANDARD, envelope=KEYS, passthrough=_thresholds,
)

TASKS = Table(
    "/api/tasks/visual/external/idphoto", (
        Param("image_file", "image", "the photo (one of image_file, image_url, last_id)"),
        Param("image_url", "string", "where to download the photo (http or https)", max_len=512),
        Param("last_id", "string", "reuse the photo of an earlier task (its image_id)", max_len=100),
        Param("sync", "int", "1: answer when the task has ended", default=0, lo=0, hi=1),
        Param("callback_url", "string", "called with the result when the task ends", max_len=512),
        SPEC,
        *OPTIONS,
    ),
    base_price=STANDARD, envelope=KEYS, passthrough=_thresholds,
)

# The options alone (the library's and the command line's fix): no transport fields.
TABLE = Table("generation options", OPTIONS, base_price=STANDARD, passthrough=_thresholds)


def price(params: Mapping[str, Any]) -> int:
    """Credits a generation with these raw parameters costs (parsing them; bad values are refused)."""
    return TABLE.price(TABLE.parse({k: v for k, v in params.items() if k in TABLE.known_names()}))
