"""The ``idphoto`` command line; it uses only the public API in :mod:`checker`."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

import checker
from checker.cli_keys import keys_group
from checker.cli_models import models_group


def _parse_params(pairs: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--param")
        try:
            params[key] = json.loads(value)  # numbers and lists as JSON, anything else as text
        except json.JSONDecodeError:
            params[key] = value
    return params


def _expected_text(exp: dict[str, Any] | None) -> str:
    if not exp:
        return ""
    if "one_of" in exp:
        tol = f" (ΔE≤{exp['tolerance']:g})" if "tolerance" in exp else ""
        return "one of " + ", ".join(str(v) for v in exp["one_of"]) + tol
    if "equals" in exp:
        return "= " + "x".join(str(v) for v in exp["equals"] if v is not None)
    lo, hi = exp.get("min"), exp.get("max")
    if lo is not None and hi is not None:
        return f"{lo:g} .. {hi:g}"
    return f">= {lo:g}" if lo is not None else f"<= {hi:g}"


def _value_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "x".join(str(v) for v in value)
    return "" if value is None else str(value)


def render_table(report: dict[str, Any], lang: str = "en") -> str:
    """A readable verdict table for one check report."""
    failures = {f["check"]: f for f in report["failures"]}
    skipped = {n["check_param"]: n for n in report["not_check_result"]}
    rows = []
    for check, verdict in report["result"].items():
        if check in ("name", "spec_id"):
            continue
        if check in skipped:
            status, note = "N/A", skipped[check]["param_message" + ("_zh" if lang == "zh" else "")]
        elif verdict == 1:
            status, note = "PASS", ""
        else:
            status, note = "FAIL", failures.get(check, {}).get("message" + ("_zh" if lang == "zh" else ""), "")
        rows.append((status, check, _value_text(report["value_dict"].get(check)),
                     _expected_text(report.get("expected", {}).get(check)), note))
    order = {"FAIL": 0, "N/A": 1, "PASS": 2}
    rows.sort(key=lambda r: (order[r[0]], r[1]))
    widths = [max(len(r[i]) for r in rows + [("STATUS", "CHECK", "VALUE", "EXPECTED", "")]) for i in range(4)]
    head = ("STATUS", "CHECK", "VALUE", "EXPECTED", "NOTE")
    lines = ["  ".join(c.ljust(w) for c, w in zip(head[:4], widths, strict=True)) + "  " + head[4]]
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4])
    verdict = "PASS" if report["check_result"] == 1 else "FAIL"
    n_fail = sum(1 for r in rows if r[0] != "PASS")
    title = f"{report['name']} ({report['spec_id']}): {verdict}"
    if n_fail:
        title += f", {n_fail} of {len(rows)} checks not passed"
    return title + "\n\n" + "\n".join(lines)


@click.group()
@click.version_option(package_name="idphoto-checker")
def main() -> None:
    """ID-photo compliance: check photos against document specs."""


@main.command()
@click.argument("photo", type=click.Path(dir_okay=False))
@click.option("--spec", "spec", required=True, help="Spec id or slug (see `idphoto specs`).")
@click.option("--json", "as_json", is_flag=True, help="Print the full JSON report.")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="A seed 004 threshold override, e.g. --param eyes_close=30 (repeatable).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
def check(photo: str, spec: str, as_json: bool, params: tuple[str, ...], lang: str) -> None:
    """Check PHOTO against a spec. Exit status: 0 pass, 1 fail, 2 error."""
    try:
        with open(photo, "rb") as fh:
            data = fh.read()
        report = checker.check(data, spec, **_parse_params(params))
    except checker.CheckerError as exc:
        _fail(exc.status, exc.message, as_json)
    except OSError as exc:
        _fail("FILE_NOT_READABLE", f"{photo}: {exc.strerror or exc}", as_json)
    click.echo(json.dumps(report, ensure_ascii=False, indent=2) if as_json else render_table(report, lang))
    sys.exit(0 if report["check_result"] == 1 else 1)


def _fail(status: str, message: str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"status": status, "message": message}, ensure_ascii=False))
    else:
        click.echo(f"error: {status}: {message}", err=True)
    sys.exit(2)


@main.command()
@click.option("--search", default=None, help="Words to look for in names, slugs, ids, sizes.")
@click.option("--category", default=None, help="common, government, visa, examination, passport, ...")
@click.option("--json", "as_json", is_flag=True)
def specs(search: str | None, category: str | None, as_json: bool) -> None:
    """List the document specs."""
    found = checker.list_specs(search=search, category=category)
    if as_json:
        click.echo(json.dumps([s.summary() for s in found], ensure_ascii=False, indent=2))
        return
    for s in found:
        size = "x".join(str(v) for v in s.size_px)
        colors = ",".join(s.background_colors) or "any"
        click.echo(f"{s.id:>5}  {s.slug:<44} {size:>10}  {s.dpi:>4} dpi  {colors:<22} {s.name}")
    click.echo(f"{len(found)} specs", err=True)


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


def _write(path: str, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)


def _sheet_path(out: str) -> str:
    stem, dot, ext = out.rpartition(".")
    return f"{stem}_sheet.jpg" if dot else f"{out}_sheet.jpg"


def _fix_params(bg: str | None, layout: str | None, params: tuple[str, ...]) -> dict[str, Any]:
    extra = _parse_params(params)
    if bg:
        extra.setdefault("bg_color", bg)
    if layout:
        extra.setdefault("layout", 1)
        extra.setdefault("layout_size", layout)
    return extra


@main.command()
@click.argument("photo", type=click.Path(dir_okay=False))
@click.option("--spec", "spec", required=True, help="Spec id or slug.")
@click.option("-o", "--out", "out", required=True, type=click.Path(dir_okay=False), help="Where to write the photo.")
@click.option("--layout", type=click.Choice(["5inch", "6inch", "a4"]), default=None,
              help="Also write a print sheet (next to OUT, *_sheet.jpg).")
@click.option("--bg", default=None, help="Background colour (name or hex); default: the spec's.")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="A seed 002 option (auto_smooth=1, max_file_size=40960, ...) or seed 004 threshold.")
@click.option("--json", "as_json", is_flag=True, help="Print the result (reports included) as JSON.")
def fix(photo: str, spec: str, out: str, layout: str | None, bg: str | None, params: tuple[str, ...],
        as_json: bool) -> None:
    """Make PHOTO comply with a spec: check, generate, check again. Exit 0 when the result passes,
    1 when something is left (listed as unfixable), 2 on error."""
    try:
        with open(photo, "rb") as fh:
            result = checker.fix(fh.read(), spec, **_fix_params(bg, layout, params))
    except checker.CheckerError as exc:
        _fail(exc.status, exc.message, as_json)
    except OSError as exc:
        _fail("FILE_NOT_READABLE", f"{photo}: {exc.strerror or exc}", as_json)
    _write(out, result.photo)
    sheet_path = None
    if result.sheet is not None:
        sheet_path = _sheet_path(out)
        _write(sheet_path, result.sheet)
    if as_json:
        click.echo(json.dumps({
            "passed": result.passed, "photo": out, "sheet": sheet_path, "format": result.format,
            "size_px": list(result.size_px), "dpi": result.dpi, "bytes": len(result.photo),
            "background": result.background, "fixed": result.fixed, "unfixable": result.unfixable,
            "before": result.before, "after": result.after, "timings_ms": result.timings_ms,
        }, ensure_ascii=False, indent=2))
    else:
        w, h = result.size_px
        click.echo(f"wrote {out}: {w}x{h} px, {result.dpi} dpi, {result.format}, {len(result.photo) / 1024:.1f} KB,"
                   f" background #{result.background}")
        if sheet_path:
            click.echo(f"wrote {sheet_path}: {result.sheet_info['copies']} copies on {layout}")
        if result.fixed:
            click.echo("fixed: " + ", ".join(result.fixed))
        click.echo("")
        click.echo(render_table(result.after))
        if result.unfixable:
            click.echo("\nnot fixed:")
            for item in result.unfixable:
                why = "" if item["repairable"] else " (generation cannot change this)"
                click.echo(f"  {item['check']}: {item['message']}{why}")
    sys.exit(0 if result.passed else 1)


@main.command()
@click.argument("photo", type=click.Path(dir_okay=False))
@click.option("-o", "--out", "out", required=True, type=click.Path(dir_okay=False),
              help="The standard photo (PNG, transparent unless --bg).")
@click.option("--width", default=295, show_default=True, type=int)
@click.option("--height", default=413, show_default=True, type=int)
@click.option("--hd-out", default=None, type=click.Path(dir_okay=False), help="Also write the HD photo here.")
@click.option("--bg", default=None, help="Put this background colour behind the person.")
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
def generate(photo: str, out: str, width: int, height: int, hd_out: str | None, bg: str | None, render: int,
             matting_model: str | None, face_detect_model: str | None, no_align: bool, dpi: int,
             head_measure_ratio: float, head_height_ratio: float, top_distance_min: float,
             top_distance_max: float) -> None:
    """Seed 000's ID photo from PHOTO: cut out and framed by the Hivision ratios."""
    from checker.generate import background, filesize

    try:
        result = checker.idphoto(photo, width=width, height=height, matting_model=matting_model,
                                  face_detect_model=face_detect_model, align=not no_align,
                                  head_measure_ratio=head_measure_ratio, head_height_ratio=head_height_ratio,
                                  top_distance_min=top_distance_min, top_distance_max=top_distance_max)
        for path, rgba in ((out, result.standard), (hd_out, result.hd)):
            if not path:
                continue
            if bg:
                rgb = background.compose(rgba, bg, render=render)
                fmt = "JPEG" if path.lower().endswith((".jpg", ".jpeg")) else "PNG"
                _write(path, filesize.encode(rgb, dpi=dpi, quality=95, fmt=fmt))
            else:
                _write(path, filesize.encode(rgba, dpi=dpi))
    except checker.CheckerError as exc:
        _fail(exc.status, exc.message, False)
    click.echo(f"wrote {out}" + (f" and {hd_out}" if hd_out else ""))


@main.command()
@click.argument("photo", type=click.Path(dir_okay=False))
@click.option("-o", "--out", "out", required=True, type=click.Path(dir_okay=False))
@click.option("--paper", default="6inch", show_default=True, help="5inch, 6inch, a4 or WxH in mm.")
@click.option("--photo-mm", default=None, help="Printed photo size WxH mm (default: from --dpi and its pixels).")
@click.option("--dpi", default=300, show_default=True, type=int)
@click.option("--vertical", is_flag=True, help="Portrait sheet.")
@click.option("--crop-marks", is_flag=True)
@click.option("--canvas", default=None, help="Sheet colour.")
@click.option("--qr", default=None, help="Text for a QR code on the sheet.")
@click.option("--label", default=None, help="Text for the sheet (\\n for new lines).")
def layout(photo: str, out: str, paper: str, photo_mm: str | None, dpi: int, vertical: bool, crop_marks: bool,
           canvas: str | None, qr: str | None, label: str | None) -> None:
    """A print sheet with as many copies of PHOTO as fit."""
    from checker.generate import filesize

    paper_arg: Any = paper.lower()
    if paper_arg not in ("5inch", "6inch", "a4"):
        paper_arg = _size(paper, "--paper")
    try:
        img = checker.read_photo(photo)
        mm = _size(photo_mm, "--photo-mm") or (img.width / dpi * 25.4, img.height / dpi * 25.4)
        sheet, info = checker.layout(img, photo_mm=mm, dpi=dpi, paper=paper_arg, vertical=vertical,
                                     crop_marks=crop_marks, canvas_color=canvas, qr_data=qr,
                                     label_text=label.replace("\\n", "\n") if label else None)
        _write(out, filesize.encode(sheet, dpi=dpi, quality=95))
    except checker.CheckerError as exc:
        _fail(exc.status, exc.message, False)
    click.echo(f"wrote {out}: {info['copies']} copies")


_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def _batch_one(job: tuple[str, str, str, dict[str, Any]]) -> dict[str, Any]:
    src, spec, out_dir, params = job
    import os

    stem = os.path.splitext(os.path.basename(src))[0]
    row: dict[str, Any] = {"file": src}
    try:
        with open(src, "rb") as fh:
            result = checker.fix(fh.read(), spec, **params)
        ext = ".jpg" if result.format == "JPEG" else ".png"
        out = os.path.join(out_dir, stem + ext)
        _write(out, result.photo)
        row.update(status="ok", passed=result.passed, output=out, bytes=len(result.photo), fixed=result.fixed,
                   unfixable=[u["check"] for u in result.unfixable], after=result.after)
        if result.sheet is not None:
            sheet = os.path.join(out_dir, stem + "_sheet.jpg")
            _write(sheet, result.sheet)
            row["sheet"] = sheet
    except checker.CheckerError as exc:
        row.update(status="error", passed=False, error=exc.status, message=exc.message)
    except OSError as exc:
        row.update(status="error", passed=False, error="FILE_NOT_READABLE", message=str(exc))
    return row


def _warm_worker() -> None:
    from checker import models

    models.warm_up()


@main.command()
@click.argument("src_dir", type=click.Path(file_okay=False, exists=True))
@click.option("--spec", "spec", required=True)
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False))
@click.option("--layout", type=click.Choice(["5inch", "6inch", "a4"]), default=None)
@click.option("--bg", default=None)
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE")
@click.option("--workers", default=None, type=int, help="Processes [default: all cores].")
def batch(src_dir: str, spec: str, out_dir: str, layout: str | None, bg: str | None, params: tuple[str, ...],
          workers: int | None) -> None:
    """Fix every photo in SRC_DIR for a spec; writes the photos, report.csv and report.json to OUT."""
    import csv
    import multiprocessing
    import os

    try:
        checker.load_spec(spec)
    except checker.CheckerError as exc:
        _fail(exc.status, exc.message, False)
    files = sorted(os.path.join(src_dir, f) for f in os.listdir(src_dir) if f.lower().endswith(_IMAGE_SUFFIXES))
    if not files:
        _fail("EMPTY_IMAGE", f"no images in {src_dir}", False)
    os.makedirs(out_dir, exist_ok=True)
    extra = _fix_params(bg, layout, params)
    jobs = [(f, spec, out_dir, extra) for f in files]
    workers = max(1, min(workers or os.cpu_count() or 1, len(files)))
    rows: list[dict[str, Any]] = []
    with multiprocessing.get_context("spawn").Pool(workers, initializer=_warm_worker) as pool, \
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


main.add_command(models_group, "models")
main.add_command(keys_group, "keys")

if __name__ == "__main__":
    main()
