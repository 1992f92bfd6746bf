"""``idphoto check``: one photo as a verdict table or its full JSON report; many photos (files,
folders, ``-``) as a summary row each, to stdout and/or a CSV or JSON report file."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from typing import Any

import click

import checker

from .cli_common import STDIO, collect_photos, fail, parse_params, read_input

REPORT_FIELDS = ("file", "status", "failed", "not_assessed", "not_applicable", "error", "message")
EXIT_HELP = ("Exit status: 0 every photo passed; 1 a photo failed a check (all were checked); "
             "2 a photo could not be checked (unreadable, not an image, no face, ...) or the command was "
             "used wrongly (unknown spec, misspelt --param, bad report name).")


# --- the verdict table ------------------------------------------------------------------------------
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
    if lo is None and hi is None:
        return ""
    return f">= {lo:g}" if lo is not None else f"<= {hi:g}"


def _value_text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "x".join(str(v) for v in value)
    return "" if value is None else str(value)


# Row order in the table: what needs attention first.
STATUS_ORDER = {"FAIL": 0, "UNASSESSED": 1, "N/A": 2, "PASS": 3}


def render_table(report: dict[str, Any], lang: str = "en") -> str:
    """A readable verdict table for one check report: FAIL (with the message), UNASSESSED (the
    check could not be measured; it counts against the photo), N/A (nothing in this photo for the
    check to judge, with the reason; it does not count) and PASS."""
    zh = lang == "zh"
    failures = {f["check"]: f for f in report["failures"]}
    unassessed = {n["check_param"]: n for n in report["not_check_result"]}
    by_row = {r["check"]: r for r in report.get("checks", [])}
    expected = report.get("expected", {})
    rows = []
    for check, verdict in report["result"].items():
        if check in ("name", "spec_id"):
            continue
        if check in unassessed:
            status, note = "UNASSESSED", unassessed[check]["param_message" + ("_zh" if zh else "")]
        elif verdict == 1:
            status, note = "PASS", ""
        else:
            status, note = "FAIL", failures.get(check, {}).get("message" + ("_zh" if zh else ""), "")
        rows.append((status, check, _value_text(report["value_dict"].get(check)), _expected_text(expected.get(check)),
                     note))
    for item in report.get("not_applicable", []):
        check = item["check"]
        reason = item.get("reason") or ""
        if zh:
            note = by_row.get(check, {}).get("message_zh") or f"不适用:{reason}"
        else:
            note = f"not applicable: {reason}"
        rows.append(("N/A", check, "", _expected_text(expected.get(check)), note))
    rows.sort(key=lambda r: (STATUS_ORDER[r[0]], r[1]))
    head = ("STATUS", "CHECK", "VALUE", "EXPECTED", "NOTE")
    widths = [max(len(r[i]) for r in [*rows, head]) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(head[:4], widths, strict=True)) + "  " + head[4]]
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4])
    verdict = "PASS" if report["check_result"] == 1 else "FAIL"
    judged = [r for r in rows if r[0] != "N/A"]
    n_bad = sum(1 for r in judged if r[0] != "PASS")
    title = f"{report['name']} ({report['spec_id']}): {verdict}"
    if n_bad:
        title += f", {n_bad} of {len(judged)} checks not passed"
    if len(judged) < len(rows):
        title += f"; {len(rows) - len(judged)} not applicable"
    return title + "\n\n" + "\n".join(lines)


# --- one summary row per photo ----------------------------------------------------------------------
def report_row(name: str, report: dict[str, Any], lang: str = "en") -> dict[str, Any]:
    """The summary of one checked photo: pass/fail, the failed, unassessed and not applicable checks,
    the failure messages; ``failures`` and ``values`` carry the details (JSON only)."""
    key = "message_zh" if lang == "zh" else "message"
    return {
        "file": name, "status": "pass" if report["check_result"] == 1 else "fail", "spec_id": report["spec_id"],
        "failed": sorted(f["check"] for f in report["failures"]),
        "not_assessed": sorted(n["check_param"] for n in report["not_check_result"]),
        "not_applicable": sorted(n["check"] for n in report.get("not_applicable", [])),
        "error": None, "message": " ".join(f[key] for f in report["failures"]),
        "failures": report["failures"], "values": report["value_dict"],
    }


def error_row(name: str, spec_id: int, status: str, message: str) -> dict[str, Any]:
    return {"file": name, "status": "error", "spec_id": spec_id, "failed": [], "not_assessed": [],
            "not_applicable": [], "error": status, "message": message, "failures": [], "values": {}}


def rows_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(REPORT_FIELDS), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in REPORT_FIELDS})
    return buf.getvalue()


def _cell(v: Any) -> str:
    if isinstance(v, list):
        return ";".join(str(x) for x in v)
    return "" if v is None else str(v)


def rows_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, ensure_ascii=False, indent=2) + "\n"


def rows_table(rows: list[dict[str, Any]]) -> str:
    width = max(len(r["file"]) for r in rows)
    lines = []
    for r in rows:
        if r["status"] == "error":
            note = f"{r['error']}: {r['message']}"
        else:
            bits = [", ".join(r["failed"])] if r["failed"] else []
            if r["not_assessed"]:
                bits.append("unassessed: " + ", ".join(r["not_assessed"]))
            note = "; ".join(bits)
        lines.append(f"{r['status'].upper():<5}  {r['file']:<{width}}  {note}".rstrip())
    return "\n".join(lines)


def _report_kind(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".csv", ".json"):
        raise click.BadParameter(f"{path!r}: the report is written as .csv or .json", param_hint="--report")
    return ext[1:]


# --- the command ------------------------------------------------------------------------------------
@click.command(epilog=EXIT_HELP)
@click.argument("photos", nargs=-1, required=True, metavar="PHOTO...")
@click.option("--spec", "spec", required=True, help="Spec id or slug (see `idphoto specs`).")
@click.option("--json", "as_json", is_flag=True, help="Print one photo's full JSON report (the /api/check_pic body).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
              help="What goes to stdout: the verdict table (one photo) or one row per photo; csv and json "
                   "give a row per photo.")
@click.option("--report", "report_path", default=None, type=click.Path(dir_okay=False),
              help="Also write one row per photo to this .csv or .json file.")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
              help="A threshold override (id-photo-verify names), e.g. --param eyes_close=30 (repeatable); "
                   "unknown names are refused. `idphoto params thresholds` lists them.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar and no summary line on stderr.")
def check(photos: tuple[str, ...], spec: str, as_json: bool, fmt: str, report_path: str | None,
          params: tuple[str, ...], lang: str, quiet: bool) -> None:
    """Check PHOTO... against a spec.

    PHOTO is a file (any name: the format is read from the bytes), a folder (walked for image files)
    or - for stdin. One photo prints its verdict table; several print a line each (or --format
    csv|json rows) while a progress bar runs on stderr. The models load once for all of them; a photo
    that cannot be checked is a row with status "error", not the end of the run.
    """
    overrides = parse_params(params, checker.threshold_names, "threshold")
    report_kind = _report_kind(report_path) if report_path else None
    try:
        the_spec = checker.load_spec(spec)
    except checker.CheckerError as exc:
        fail(exc.status, exc.message, as_json)
    files = collect_photos(photos)
    if not files:
        raise click.BadParameter("no image files in " + ", ".join(photos), param_hint="PHOTO")
    single = len(files) == 1 and not os.path.isdir(photos[0])
    if as_json and not single:
        raise click.UsageError("--json prints one photo's full report; for several photos use --format json")
    if single and fmt == "table" and not report_kind:
        _check_one(files[0], the_spec, overrides, as_json, lang)
        return
    rows = _check_many(files, the_spec, overrides, lang, progress=not quiet and len(files) > 1)
    if report_path and report_kind:
        with open(report_path, "w", encoding="utf-8", newline="") as fh:
            fh.write(rows_csv(rows) if report_kind == "csv" else rows_json(rows))
    if as_json:
        click.echo(rows_json(rows), nl=False)
    elif fmt == "csv":
        click.echo(rows_csv(rows), nl=False)
    elif fmt == "json":
        click.echo(rows_json(rows), nl=False)
    else:
        click.echo(rows_table(rows))
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in ("pass", "fail", "error")}
    if not quiet:
        where = f"; report in {report_path}" if report_path else ""
        n = len(rows)
        click.echo(f"{n} photo{'' if n == 1 else 's'}: {counts['pass']} pass, {counts['fail']} fail, "
                   f"{counts['error']} could not be checked{where}", err=True)
    sys.exit(2 if counts["error"] else 1 if counts["fail"] else 0)


def _check_one(path: str, spec: checker.Spec, overrides: dict[str, Any], as_json: bool, lang: str) -> None:
    try:
        report = checker.check(read_input(path), spec, **overrides)
    except checker.CheckerError as exc:
        fail(exc.status, exc.message, as_json)
    click.echo(json.dumps(report, ensure_ascii=False, indent=2) if as_json else render_table(report, lang))
    sys.exit(0 if report["check_result"] == 1 else 1)


def _check_many(files: list[str], spec: checker.Spec, overrides: dict[str, Any], lang: str,
                progress: bool) -> list[dict[str, Any]]:
    """Every photo in this process, one after another: the models load on the first and serve the
    rest (warmed before the bar starts, so it measures photos, not start-up)."""
    if progress:
        checker.warm_up()
    rows = []
    with click.progressbar(files, label=f"checking {len(files)} photos", file=sys.stderr,
                           hidden=not progress) as bar:
        for path in bar:
            name = "<stdin>" if path == STDIO else path
            try:
                rows.append(report_row(name, checker.check(read_input(path), spec, **overrides), lang))
            except checker.CheckerError as exc:
                rows.append(error_row(name, spec.id, exc.status, exc.message))
            except Exception as exc:  # one photo's surprise is its row, not the end of a bulk run
                rows.append(error_row(name, spec.id, "INTERNAL_ERROR", f"{type(exc).__name__}: {exc}"))
    return rows
