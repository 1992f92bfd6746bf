"""The ``idphoto`` command line; it uses only the public API in :mod:`checker`."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

import checker


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
    """Serve the HTTP API with gunicorn (models load once per worker)."""
    from checker.web.server import serve as run

    click.echo(f"idphoto: serving on http://{host}:{port}", err=True)
    run(host=host, port=port, workers=workers)


if __name__ == "__main__":
    main()
