"""The ``idphoto`` command line; it uses only the public API in :mod:`checker`.

Photos are read from files or ``-`` (stdin) and written to files or ``-`` (stdout); an output's
format follows its extension (.png, .jpg/.jpeg) or ``--format``. Messages go to stderr whenever
stdout carries a photo or a report.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

import checker
from checker.cli_check import check, render_table
from checker.cli_common import (
    FORMAT_CHOICE,
    IMAGE_SUFFIXES,
    STDIO,
    fail,
    output_format,
    parse_params,
    read_input,
    say,
    shown,
    write_output,
)
from checker.cli_edit import crop_cmd, encoded, matting_cmd, set_kb_cmd
from checker.cli_keys import keys_group
from checker.cli_models import models_group

__all__ = ["main", "render_table"]


def fix_param_names() -> list[str]:
    """The names ``fix`` and ``batch`` accept in --param: the generation options and the check's
    thresholds, from the library's declared parameter table."""
    return checker.fix_params()


@click.group()
@click.version_option(package_name="idphoto-checker")
def main() -> None:
    """ID-photo compliance: check photos against document specs."""


@main.command()
@click.option("--search", default=None, help="Words to look for in names, slugs, ids, sizes, country names.")
@click.option("--category", default=None, help="common, government, visa, examination, passport, id_card, ...")
@click.option("--country", default=None, help="Issuing country: ISO code (DE, US, EU) or English or Chinese name.")
@click.option("--json", "as_json", is_flag=True)
def specs(search: str | None, category: str | None, country: str | None, as_json: bool) -> None:
    """List the document specs."""
    found = checker.list_specs(search=search, category=category, country=country)
    if as_json:
        click.echo(json.dumps([s.summary() for s in found], ensure_ascii=False, indent=2))
        return
    for s in found:
        size = "x".join(str(v) for v in s.size_px)
        colors = ",".join(s.background_colors) or "any"
        click.echo(f"{s.id:>6}  {s.slug:<44} {s.country or '-':<3} {size:>10}  {s.dpi:>4} dpi  {colors:<22} {s.name}")
    click.echo(f"{len(found)} specs", err=True)


@main.command("clothes")
@click.option("--json", "as_json", is_flag=True)
def clothes_cmd(as_json: bool) -> None:
    """List the built-in garments of the outfit change (fix --clothes ID)."""
    found = checker.clothes()
    if as_json:
        click.echo(json.dumps([{k: v for k, v in g.items() if k != "thumbnail"} for g in found], ensure_ascii=False,
                              indent=2))
        return
    for g in found:
        click.echo(f"{g['id']:<10} {g['name']:<36} {g['name_zh']}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=None, type=int, help="gunicorn workers [default: min(2, cores)]")
def serve(host: str, port: int, workers: int | None) -> None:
    """Serve the HTTP API with gunicorn (models load once per worker).

    With no API key created yet the service is open, so it listens on loopback only."""
    from checker.web.server import access_mode
    from checker.web.server import serve as run

    host, note = access_mode(host)
    click.echo(f"idphoto: {note}", err=True)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo(f"idphoto: open http://{shown}:{port}/ to check and fix a photo (API docs: /docs)", err=True)
    run(host=host, port=port, workers=workers)


def _size(text: str | None, what: str) -> tuple[float, float] | None:
    if not text:
        return None
    try:
        w, h = (float(v) for v in text.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not WIDTHxHEIGHT", param_hint=what) from None
    return w, h


def _sheet_path(out: str) -> str:
    stem, dot, ext = out.rpartition(".")
    return f"{stem}_sheet.jpg" if dot and "/" not in ext else f"{out}_sheet.jpg"


def _garment(clothes: str | None, anchors: str | None, extra: dict[str, Any]) -> Any:
    """--clothes: a built-in id goes in as clothes_id; a PNG is the user's own garment (with its anchors)."""
    if clothes is None:
        if anchors:
            raise click.UsageError("--clothes-anchors needs --clothes PNG")
        return None
    if not clothes.lower().endswith(".png"):
        if anchors:
            raise click.UsageError("--clothes-anchors is for a garment PNG of your own, not a built-in id")
        extra["clothes_id"] = clothes
        return None
    if not anchors:
        raise click.UsageError("--clothes PNG needs --clothes-anchors (where its collar and shoulders are)")
    try:
        marks = Path(anchors).read_text(encoding="utf-8") if not anchors.lstrip().startswith("{") else anchors
        data = Path(clothes).read_bytes()
    except OSError as exc:
        raise click.BadParameter(f"cannot read {exc.filename}: {exc.strerror}") from exc
    return checker.garment(data, marks)


def _fix_params(bg: str | None, layout: str | None, params: tuple[str, ...]) -> dict[str, Any]:
    extra = parse_params(params, fix_param_names, "parameter")
    if bg:
        extra.setdefault("bg_color", bg)
    if layout:
        extra.setdefault("layout", 1)
        extra.setdefault("layout_size", layout)
    return extra


@main.command()
@click.argument("photo")
@click.option("--spec", "spec", required=True, help="Spec id or slug.")
@click.option("-o", "--out", "out", required=True,
              help="Where to write the photo: .jpg/.jpeg or .png, or - for stdout (then --format, default: the "
                   "spec's format).")
@click.option("--format", "fmt", type=FORMAT_CHOICE, default=None, help="Output format for stdout (or a name "
              "without an extension).")
@click.option("--layout", type=click.Choice(["5inch", "6inch", "a4"]), default=None,
              help="Also write a print sheet (JPEG; next to OUT as *_sheet.jpg, or --sheet-out).")
@click.option("--sheet-out", default=None, help="Where to write the print sheet (.jpg/.jpeg, or - for stdout).")
@click.option("--bg", default=None, help="Background colour (name or hex); default: the spec's.")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="A PicWish-style option (auto_smooth=1, max_file_size=40960, ...) or a check threshold; unknown "
                   "names are refused. `idphoto params` lists the options, `idphoto params thresholds` the "
                   "thresholds.")
@click.option("--clothes", default=None, metavar="ID|PNG",
              help="Outfit change: a built-in garment (man_1..man_20, woman_1..woman_20, child_1..child_10; "
                   "`idphoto clothes` lists them) or your own PNG with alpha (with --clothes-anchors).")
@click.option("--clothes-anchors", default=None, metavar="JSON",
              help='Your garment\'s anchors: a JSON file or text {"collar": [x, y], "left_shoulder": [x, y], '
                   '"right_shoulder": [x, y]} in the PNG\'s pixels (image left and right).')
@click.option("--json", "as_json", is_flag=True, help="Print the result (reports included) as JSON.")
def fix(photo: str, spec: str, out: str, fmt: str | None, layout: str | None, sheet_out: str | None, bg: str | None,
        params: tuple[str, ...], clothes: str | None, clothes_anchors: str | None, as_json: bool) -> None:
    """Make PHOTO (- for stdin) comply with a spec: check, generate, check again.

    Exit status: 0 the result passes; 1 something is left (listed as unfixable); 2 an error
    (unreadable photo, no face, unknown spec, misspelt --param, ...)."""
    extra = _fix_params(bg, layout, params)
    if sheet_out and not layout:
        raise click.UsageError("--sheet-out needs --layout")
    sheet_path = (sheet_out or (None if out == STDIO else _sheet_path(out))) if layout else None
    if layout and sheet_path is None:
        raise click.UsageError("with -o - give --sheet-out for the print sheet")
    if STDIO in (out, sheet_path) and as_json:
        raise click.UsageError("--json and a photo cannot both go to stdout")
    if out == sheet_path == STDIO:
        raise click.UsageError("the photo and the sheet cannot both go to stdout")
    if sheet_path and output_format(sheet_path, None, "JPEG", option="--sheet-out") != "JPEG":
        raise click.BadParameter("the print sheet is a JPEG: name it .jpg or .jpeg", param_hint="--sheet-out")
    asked = output_format(out, fmt or extra.pop("format", None), None)
    if asked:
        extra["format"] = asked
    try:
        garment = _garment(clothes, clothes_anchors, extra)
        result = checker.fix(read_input(photo), spec, garment=garment, **extra)
        write_output(out, result.photo)
        if sheet_path and result.sheet is not None:
            write_output(sheet_path, result.sheet)
    except checker.CheckerError as exc:
        fail(exc.status, exc.message, as_json)
    to_stderr = STDIO in (out, sheet_path)
    if as_json:
        click.echo(json.dumps({
            "passed": result.passed, "photo": out, "sheet": sheet_path if result.sheet is not None else None,
            "format": result.format, "size_px": list(result.size_px), "dpi": result.dpi, "bytes": len(result.photo),
            "background": result.background, "fixed": result.fixed, "unfixable": result.unfixable,
            "before": result.before, "after": result.after, "timings_ms": result.timings_ms,
        }, ensure_ascii=False, indent=2))
    else:
        w, h = result.size_px
        lines = [f"wrote {shown(out)}: {w}x{h} px, {result.dpi} dpi, {result.format},"
                 f" {len(result.photo) / 1024:.1f} KB, background #{result.background}"]
        if sheet_path and result.sheet is not None and result.sheet_info is not None:
            lines.append(f"wrote {shown(sheet_path)}: {result.sheet_info['copies']} copies on {layout}")
        if result.fixed:
            lines.append("fixed: " + ", ".join(result.fixed))
        lines += ["", render_table(result.after)]
        if result.unfixable:
            lines.append("\nnot fixed:")
            for item in result.unfixable:
                why = "" if item["repairable"] else " (generation cannot change this)"
                lines.append(f"  {item['check']}: {item['message']}{why}")
        say("\n".join(lines), quiet_stdout=to_stderr)
    sys.exit(0 if result.passed else 1)


@main.command()
@click.argument("photo")
@click.option("-o", "--out", "out", required=True,
              help="The standard photo: .png (transparent unless --bg) or .jpg/.jpeg, or - for stdout (then "
                   "--format, default png).")
@click.option("--format", "fmt", type=FORMAT_CHOICE, default=None, help="Output format for stdout (or a name "
              "without an extension).")
@click.option("--width", default=295, show_default=True, type=int)
@click.option("--height", default=413, show_default=True, type=int)
@click.option("--hd-out", default=None, help="Also write the HD photo here (.png, .jpg/.jpeg or -).")
@click.option("--bg", default=None, help="Put this background colour behind the person (a JPEG without it: white).")
@click.option("--render", default=0, show_default=True, type=click.IntRange(0, 2),
              help="0 solid, 1 top-to-bottom gradient, 2 centre gradient.")
@click.option("--matting", "matting_model", default=None, help="Matting model (default: embedded).")
@click.option("--face-detect", "face_detect_model", default=None, help="mediapipe, mtcnn, retinaface-resnet50, ...")
@click.option("--no-align", is_flag=True, help="Do not level the eyes.")
@click.option("--dpi", default=300, show_default=True, type=int)
@click.option("--head-measure-ratio", default=0.2, show_default=True, type=float)
@click.option("--head-height-ratio", default=0.45, show_default=True, type=float)
@click.option("--top-distance-min", default=0.10, show_default=True, type=float)
@click.option("--top-distance-max", default=0.12, show_default=True, type=float)
def generate(photo: str, out: str, fmt: str | None, width: int, height: int, hd_out: str | None, bg: str | None,
             render: int, matting_model: str | None, face_detect_model: str | None, no_align: bool, dpi: int,
             head_measure_ratio: float, head_height_ratio: float, top_distance_min: float,
             top_distance_max: float) -> None:
    """HivisionIDPhotos' ID photo from PHOTO (- for stdin): cut out and framed by its ratios.
    Exit status 0 when written, 2 on error."""
    if out == hd_out == STDIO:
        raise click.UsageError("the standard and the HD photo cannot both go to stdout")
    targets = [(out, output_format(out, fmt, "PNG") or "PNG")]
    if hd_out:
        targets.append((hd_out, output_format(hd_out, fmt, "PNG", option="--hd-out") or "PNG"))
    try:
        result = checker.idphoto(read_input(photo), width=width, height=height, matting_model=matting_model,
                                 face_detect_model=face_detect_model, align=not no_align,
                                 head_measure_ratio=head_measure_ratio, head_height_ratio=head_height_ratio,
                                 top_distance_min=top_distance_min, top_distance_max=top_distance_max)
        for (path, the_fmt), rgba in zip(targets, (result.standard, result.hd)[: len(targets)], strict=True):
            if bg:
                rgb = checker.add_background(rgba, bg, render=render)
                write_output(path, checker.encode(rgb, format=the_fmt, dpi=dpi, quality=95))
            else:  # transparent in a PNG, on white in a JPEG
                write_output(path, encoded(rgba, the_fmt, dpi, None))
    except checker.CheckerError as exc:
        fail(exc.status, exc.message)
    say("wrote " + " and ".join(f"{shown(p)} ({f})" for p, f in targets), quiet_stdout=STDIO in (out, hd_out))


@main.command()
@click.argument("photo")
@click.option("-o", "--out", "out", required=True,
              help="The sheet: .jpg/.jpeg or .png, or - for stdout (then --format, default jpg).")
@click.option("--format", "fmt", type=FORMAT_CHOICE, default=None, help="Output format for stdout (or a name "
              "without an extension).")
@click.option("--paper", default="6inch", show_default=True, help="5inch, 6inch, a4 or WxH in mm.")
@click.option("--photo-mm", default=None, help="Printed photo size WxH mm (default: from --dpi and its pixels).")
@click.option("--dpi", default=300, show_default=True, type=int)
@click.option("--vertical", is_flag=True, help="Portrait sheet.")
@click.option("--crop-marks", is_flag=True)
@click.option("--canvas", default=None, help="Sheet colour.")
@click.option("--qr", default=None, help="Text for a QR code on the sheet.")
@click.option("--label", default=None, help="Text for the sheet (\\n for new lines).")
def layout(photo: str, out: str, fmt: str | None, paper: str, photo_mm: str | None, dpi: int, vertical: bool,
           crop_marks: bool, canvas: str | None, qr: str | None, label: str | None) -> None:
    """A print sheet with as many copies of PHOTO (- for stdin) as fit. Exit status 0 when written,
    2 on error."""
    paper_arg: Any = paper.lower()
    if paper_arg not in ("5inch", "6inch", "a4"):
        paper_arg = _size(paper, "--paper")
    the_fmt = output_format(out, fmt, "JPEG") or "JPEG"
    try:
        img = checker.read_photo(read_input(photo))
        mm = _size(photo_mm, "--photo-mm") or (img.width / dpi * 25.4, img.height / dpi * 25.4)
        sheet, info = checker.layout(img, photo_mm=mm, dpi=dpi, paper=paper_arg, vertical=vertical,
                                     crop_marks=crop_marks, canvas_color=canvas, qr_data=qr,
                                     label_text=label.replace("\\n", "\n") if label else None)
        write_output(out, checker.encode(sheet, format=the_fmt, dpi=dpi, quality=95))
    except checker.CheckerError as exc:
        fail(exc.status, exc.message)
    say(f"wrote {shown(out)}: {info['copies']} copies ({the_fmt})", quiet_stdout=out == STDIO)


def _batch_one(job: tuple[str, str, str, dict[str, Any]]) -> dict[str, Any]:
    src, spec, out_dir, params = job
    import os

    stem = os.path.splitext(os.path.basename(src))[0]
    row: dict[str, Any] = {"file": src}
    try:
        result = checker.fix(read_input(src), spec, **params)
        ext = ".jpg" if result.format == "JPEG" else ".png"
        out = os.path.join(out_dir, stem + ext)
        write_output(out, result.photo)
        row.update(status="ok", passed=result.passed, output=out, bytes=len(result.photo), fixed=result.fixed,
                   unfixable=[u["check"] for u in result.unfixable], after=result.after)
        if result.sheet is not None:
            sheet = os.path.join(out_dir, stem + "_sheet.jpg")
            write_output(sheet, result.sheet)
            row["sheet"] = sheet
    except checker.CheckerError as exc:
        row.update(status="error", passed=False, error=exc.status, message=exc.message)
    return row


@main.command()
@click.argument("src_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--spec", "spec", required=True)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option("--layout", type=click.Choice(["5inch", "6inch", "a4"]), default=None)
@click.option("--bg", default=None)
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="As for fix; unknown names are refused (`idphoto params` lists them).")
@click.option("--workers", default=None, type=int, help="Processes [default: all cores].")
def batch(src_dir: str, spec: str, out_dir: str, layout: str | None, bg: str | None, params: tuple[str, ...],
          workers: int | None) -> None:
    """Fix every photo in SRC_DIR for a spec; writes the photos, report.csv and report.json to OUT.

    Exit status: 0 every photo passes after fixing; 1 some do not or could not be read; 2 a usage
    error or no photos."""
    import csv
    import multiprocessing
    import os

    extra = _fix_params(bg, layout, params)
    try:
        checker.load_spec(spec)
    except checker.CheckerError as exc:
        fail(exc.status, exc.message)
    files = sorted(os.path.join(src_dir, f) for f in os.listdir(src_dir) if f.lower().endswith(IMAGE_SUFFIXES))
    if not files:
        fail("EMPTY_IMAGE", f"no images in {src_dir}")
    os.makedirs(out_dir, exist_ok=True)
    jobs = [(f, spec, out_dir, extra) for f in files]
    workers = max(1, min(workers or os.cpu_count() or 1, len(files)))
    rows: list[dict[str, Any]] = []
    with multiprocessing.get_context("spawn").Pool(workers, initializer=checker.warm_up) as pool, \
            click.progressbar(length=len(jobs), label=f"fixing {len(jobs)} photos on {workers} processes",
                              file=sys.stderr) as bar:
        for row in pool.imap_unordered(_batch_one, jobs):
            rows.append(row)
            bar.update(1)
    rows.sort(key=lambda r: r["file"])
    with open(os.path.join(out_dir, "report.json"), "w", encoding="utf-8") as fh:
        json.dump(rows, fh, ensure_ascii=False, indent=2)
    fields = ["file", "status", "passed", "output", "sheet", "bytes", "fixed", "unfixable", "error", "message"]
    with open(os.path.join(out_dir, "report.csv"), "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ";".join(v) if isinstance(v, list) else v for k, v in row.items()})
    ok = sum(1 for r in rows if r.get("passed"))
    failed = sum(1 for r in rows if r["status"] == "error")
    click.echo(f"{len(rows)} photos: {ok} pass after fixing, {len(rows) - ok - failed} still failing, {failed} errors;"
               f" report in {os.path.join(out_dir, 'report.csv')}")
    sys.exit(0 if ok == len(rows) else 1)


@main.command("params")
@click.argument("table", default="fix")
@click.option("--json", "as_json", is_flag=True, help="Each parameter as a JSON object.")
def params_cmd(table: str, as_json: bool) -> None:
    """What --param takes: the declared parameters of TABLE (default fix: the options of fix and
    batch) with kind, range, default, unit and credits; ``thresholds`` lists the check's threshold
    overrides (what check's --param takes, and fix's too). Other tables: the web APIs' families."""
    if table == "thresholds":
        rows = checker.threshold_help()
        if as_json:
            click.echo(json.dumps([{"name": n, "sets": k, "check": t} for n, k, t in rows], ensure_ascii=False,
                                  indent=2))
            return
        width = max(len(n) for n, _, _ in rows)
        click.echo("\n".join(f"{n.ljust(width)}  {k}  ({t})" for n, k, t in rows))
        return
    try:
        declared = checker.parameters(table)
    except ValueError as exc:
        raise click.BadParameter(f"{exc}, thresholds", param_hint="TABLE") from None
    shown_params = [p for p in declared if p.kind != "image"]
    if as_json:
        click.echo(json.dumps([{"name": p.name, "kind": p.kind, "default": p.default, "min": p.lo, "max": p.hi,
                                "choices": list(p.choices), "unit": p.unit, "aliases": list(p.aliases),
                                "description": p.describe()} for p in shown_params], ensure_ascii=False, indent=2))
        return
    width = max(len(p.name) for p in shown_params)
    click.echo("\n".join(f"{p.name.ljust(width)}  {p.kind:<14} {p.describe()}" for p in shown_params))


main.add_command(check, "check")
main.add_command(matting_cmd, "matting")
main.add_command(set_kb_cmd, "set-kb")
main.add_command(crop_cmd, "crop")
main.add_command(models_group, "models")
main.add_command(keys_group, "keys")

if __name__ == "__main__":
    main()
