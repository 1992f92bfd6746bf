"""One-step edits: ``idphoto matting`` (cut-out), ``idphoto set-kb`` (exact file size) and
``idphoto crop`` (frame to a spec or a pixel size). Each reads a file or ``-`` (stdin) and writes
``-o`` (``-`` for stdout); the output format follows ``-o``'s extension or ``--format``."""

from __future__ import annotations

import click
import numpy as np
import numpy.typing as npt

import checker

from .cli_common import FORMAT_CHOICE, STDIO, fail, output_format, read_input, say, shown, write_output

WHITE = "ffffff"
_OUT_HELP = "Where to write: .png or .jpg/.jpeg, or - for stdout (then --format, default {default})."


def encoded(rgba: npt.NDArray[np.uint8], fmt: str, dpi: float, bg: str | None) -> bytes:
    """RGBA pixels as fmt: a PNG keeps the transparency unless ``bg`` is given; a JPEG has none, so
    the transparent pixels go on ``bg`` (white when not given)."""
    if rgba[:, :, 3].min() == 255:  # opaque: no alpha channel to write
        return checker.encode(np.ascontiguousarray(rgba[:, :, :3]), format=fmt, dpi=dpi, quality=95)
    if bg or fmt == "JPEG":
        rgb = checker.add_background(rgba, bg or WHITE)
        return checker.encode(rgb, format=fmt, dpi=dpi, quality=95)
    return checker.encode(rgba, format="PNG", dpi=dpi)


@click.command("matting")
@click.argument("photo")
@click.option("-o", "--out", "out", required=True, help=_OUT_HELP.format(default="png"))
@click.option("--format", "fmt", type=FORMAT_CHOICE, default=None, help="Output format for stdout (or a name "
              "without an extension).")
@click.option("--model", default=None,
              help="Matting model (HivisionIDPhotos human_matting_model names; default: embedded).")
@click.option("--bg", default=None, help="Put this colour behind the person instead of transparency.")
@click.option("--dpi", default=300, show_default=True, type=click.IntRange(1, 65535))
def matting_cmd(photo: str, out: str, fmt: str | None, model: str | None, bg: str | None, dpi: int) -> None:
    """Cut the person out of PHOTO (- for stdin): a PNG with alpha at the photo's resolution.

    A JPEG output has no alpha: the person goes on --bg, white by default. Exit status 0 when
    written, 2 on error (unreadable photo, no person, unknown model, ...)."""
    the_fmt = output_format(out, fmt, "PNG") or "PNG"
    try:
        cut = checker.matting(read_input(photo), model=model)
        write_output(out, encoded(cut.image, the_fmt, dpi, bg))
    except checker.CheckerError as exc:
        fail(exc.status, exc.message)
    h, w = cut.image.shape[:2]
    say(f"wrote {shown(out)}: {w}x{h} px {the_fmt}, matting {cut.model}", quiet_stdout=out == STDIO)


@click.command("set-kb")
@click.argument("photo")
@click.option("--kb", required=True, type=click.IntRange(1, 15 * 1024), help="The file size, in KB of 1024 bytes.")
@click.option("-o", "--out", "out", required=True, help=_OUT_HELP.format(default="jpg"))
@click.option("--format", "fmt", type=FORMAT_CHOICE, default=None, help="Output format for stdout (or a name "
              "without an extension).")
@click.option("--dpi", default=None, type=click.IntRange(1, 65535), help="[default: the photo's own, else 300]")
@click.option("--no-resize", is_flag=True, help="Never shrink the pixels; fail when quality alone cannot reach it.")
def set_kb_cmd(photo: str, kb: int, out: str, fmt: str | None, dpi: int | None, no_resize: bool) -> None:
    """Re-encode PHOTO (- for stdin) to exactly KB kilobytes, like HivisionIDPhotos' /set_kb.

    The highest quality that fits, then padding inside the file (the pixels do not change); the
    pixels shrink only when even the lowest quality is too large (not with --no-resize). Exit status
    0 when written, 2 on error (FILE_SIZE_UNREACHABLE says the smallest size that can be made)."""
    the_fmt = output_format(out, fmt, "JPEG") or "JPEG"
    try:
        sized = checker.set_kb(read_input(photo), kb, dpi=dpi, format=the_fmt, allow_resize=not no_resize)
        write_output(out, sized.data)
    except checker.CheckerError as exc:
        fail(exc.status, exc.message)
    how = f"quality {sized.quality}" if sized.quality is not None else "lossless"
    extra = (f", {sized.padding} bytes of padding" if sized.padding else "") + (", resized" if sized.resized else "")
    say(f"wrote {shown(out)}: {sized.file_size} bytes ({kb} KB), {sized.width}x{sized.height} px {sized.format}, {how}"
        f"{extra}", quiet_stdout=out == STDIO)


def _spec_format(spec: checker.Spec) -> str:
    formats = spec.checks.get("photo_format", {}).get("one_of") or ["JPEG"]
    first = str(formats[0]).upper()
    return first if first in ("JPEG", "PNG") else "JPEG"


@click.command("crop")
@click.argument("photo")
@click.option("-o", "--out", "out", required=True,
              help="Where to write: .png or .jpg/.jpeg, or - for stdout (then --format, default: the spec's "
                   "format, PNG without a spec).")
@click.option("--spec", "spec", default=None, help="Frame to this spec's geometry and size.")
@click.option("--width", default=None, type=click.IntRange(9, 4096), help="Output width (with --height).")
@click.option("--height", default=None, type=click.IntRange(9, 4096), help="Output height (with --width).")
@click.option("--format", "fmt", type=FORMAT_CHOICE, default=None, help="Output format for stdout (or a name "
              "without an extension).")
@click.option("--bg", default=None, help="Colour for what lies beyond the photo (and a cut-out's transparency).")
@click.option("--dpi", default=None, type=click.IntRange(1, 65535), help="[default: the spec's, else 300]")
@click.option("--no-align", is_flag=True, help="Do not level the eyes.")
@click.option("--face-detect", "face_detect_model", default=None, help="mediapipe, mtcnn, retinaface-resnet50, ...")
@click.option("--matting", "matting_model", default=None, help="Matting model used to find the top of the head.")
@click.option("--head-measure-ratio", default=0.2, show_default=True, type=float, help="Without --spec.")
@click.option("--head-height-ratio", default=0.45, show_default=True, type=float, help="Without --spec.")
@click.option("--top-distance-min", default=0.10, show_default=True, type=float, help="Without --spec.")
@click.option("--top-distance-max", default=0.12, show_default=True, type=float, help="Without --spec.")
def crop_cmd(photo: str, out: str, spec: str | None, width: int | None, height: int | None, fmt: str | None,
             bg: str | None, dpi: int | None, no_align: bool, face_detect_model: str | None,
             matting_model: str | None, head_measure_ratio: float, head_height_ratio: float,
             top_distance_min: float, top_distance_max: float) -> None:
    """Frame PHOTO (- for stdin) to a document's geometry, keeping its own pixels.

    With --spec: the head height, eye line and space above the head at the middle of the spec's
    windows, at its pixel size (or --width x --height). Without: --width x --height by HivisionIDPhotos'
    ratios, as /idphoto_crop. Scaled uniformly, never stretched; where the frame reaches beyond the
    photo it is transparent in a PNG, --bg (white by default) in a JPEG. A transparent cut-out keeps
    its transparency. Exit status 0 when written, 2 on error (no face, cannot frame, ...)."""
    if (width is None) != (height is None):
        raise click.UsageError("give --width and --height together")
    if spec is None and width is None:
        raise click.UsageError("give --spec, or --width and --height")
    try:
        the_spec = checker.load_spec(spec) if spec else None
    except checker.CheckerError as exc:
        fail(exc.status, exc.message)
    the_fmt = output_format(out, fmt, _spec_format(the_spec) if the_spec else "PNG") or "PNG"
    try:
        framed = checker.crop(read_input(photo), the_spec, width=width, height=height, align=not no_align,
                              face_detect_model=face_detect_model, matting_model=matting_model,
                              head_measure_ratio=head_measure_ratio, head_height_ratio=head_height_ratio,
                              top_distance_min=top_distance_min, top_distance_max=top_distance_max)
        the_dpi = dpi or framed.dpi
        write_output(out, encoded(framed.image, the_fmt, the_dpi, bg))
    except checker.CheckerError as exc:
        fail(exc.status, exc.message)
    note = ""
    if framed.transparent:
        note = f", transparent parts on {bg or 'white'}" if bg or the_fmt == "JPEG" else ", with transparent parts"
    say(f"wrote {shown(out)}: {framed.width}x{framed.height} px {the_fmt}, {the_dpi} dpi, "
        f"scale {framed.scale:.3f}{note}", quiet_stdout=out == STDIO)
