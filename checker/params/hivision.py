"""HivisionIDPhotos-compatible endpoints: one table per endpoint, built from parameters declared
once here. Their clients (front ends written for later HivisionIDPhotos releases) send fields this
service does not know, so unknown names are answered in ``ignored_params``, not refused."""

from __future__ import annotations

from . import Param, Table

STANDARD, LAYOUT, CALL = 6, 5, 1  # credits: an ID photo, a print sheet, any other single call
KEYS = frozenset({"api_key", "app_key"})

IMAGE = Param("input_image", "image", "the photo (multipart upload)")
IMAGE_B64 = Param("input_image_base64", "image", "the photo as base64 (data: prefix allowed)")
WIDTH = Param("width", "int", "photo width", default=295, lo=9, hi=4096, unit="px")
HEIGHT = Param("height", "int", "photo height", default=413, lo=9, hi=4096, unit="px")
DPI = Param("dpi", "int", "print resolution written into the file", default=300, lo=10, hi=1200, unit="dpi")
KB = Param("kb", "int", "encode to exactly this size", lo=1, hi=15 * 1024, unit="KB")
MATTING = Param("human_matting_model", "string", "matting model name (GET /api/models lists them)", max_len=100)
DETECTOR = Param("face_detect_model", "string", "face detector name", max_len=100)
ALIGN = Param("face_alignment", "flag", "level the eyes by rotating the photo", default=True, aliases=("face_align",))
HD = Param("hd", "flag", "also answer the photo at the source's resolution", default=True)
RATIOS = (
    Param("head_measure_ratio", "number", "face area as a share of the photo area", default=0.2, lo=0.01, hi=1.0),
    Param("head_height_ratio", "number", "height of the face's centre as a share of the photo height",
          default=0.45, lo=0.0, hi=1.0),
    Param("top_distance_max", "number", "largest gap above the head, share of the height", default=0.12,
          lo=0.0, hi=1.0),
    Param("top_distance_min", "number", "smallest gap above the head, share of the height", default=0.10,
          lo=0.0, hi=1.0),
)
LAYOUT_OPTIONS = (
    Param("layout_size", "choice", "paper of the sheet", default="6inch", choices=("5inch", "6inch", "a4")),
    Param("layout_vertical", "flag", "lay the sheet out vertically", default=False),
    Param("layout_bg_color", "string", "colour of the sheet around the photos", max_len=40),
    Param("crop_marks", "flag", "cutting marks on the sheet", default=False),
)


def _table(name: str, *params: Param, price: int = 0) -> Table:
    return Table(name, (IMAGE, IMAGE_B64, *params), strict=False, base_price=price, envelope=KEYS)


ENDPOINTS: dict[str, Table] = {t.name: t for t in (
    _table("/idphoto", WIDTH, HEIGHT, DPI, MATTING, DETECTOR, ALIGN, HD, *RATIOS, price=STANDARD),
    _table("/idphoto_crop", WIDTH.required_copy(), HEIGHT.required_copy(), DPI, DETECTOR, ALIGN, HD, *RATIOS,
           price=STANDARD),
    _table("/human_matting", MATTING, DPI, price=CALL),
    _table("/add_background",
           Param("color", "string", "background colour (hex or a name)", required=True, max_len=40),
           Param("color2", "string", "second colour of a gradient", max_len=40),
           Param("render", "int", "0 solid, 1 top-to-bottom gradient, 2 centre gradient", default=0, lo=0, hi=2),
           DPI, KB),
    _table("/generate_layout_photos", WIDTH, HEIGHT, DPI, KB, *LAYOUT_OPTIONS, price=LAYOUT),
    _table("/watermark",
           Param("text", "string", "the watermark's text", required=True, max_len=200),
           Param("size", "int", "font size", default=20, lo=1, hi=1000, unit="px"),
           Param("opacity", "number", "opacity of the text", default=0.5, lo=0.0, hi=1.0),
           Param("angle", "int", "angle of the text", default=30, lo=-360, hi=360, unit="°"),
           Param("color", "string", "colour of the text", default="#000000", max_len=40),
           Param("space", "int", "gap between repeats", default=25, lo=0, hi=2000, unit="px"),
           DPI, KB),
    _table("/set_kb", KB.required_copy(), DPI),
)}
