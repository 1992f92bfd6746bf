"""Accuracy of the checker's verdicts on labelled real photos. Prints figures; asserts nothing.

    .venv/bin/python bench/accuracy.py --data DIR [--split heldout|train|all] [--spec 1102] [--json]

DIR holds the images listed in data/manifest.csv (see data/README.md; the env var
CHECKER_ACCURACY_DATA works too). Each photo is checked once with ``checker.check(bytes, spec)``,
and per attribute the verdict of the check that judges it is compared with the label.

Verdicts: a check that fails is a detection. A check that was not assessed (``not_check_result``),
or a photo refused with an error, is counted in its own column and, for the rates and BA, as a
fail verdict (the service says the photo is not acceptable). Labels "unsure" are skipped. Photos
without a face (faces=0) only count for the "no face" row. Rules that are off by default (glasses)
are turned on by passing their own parameter at the rule's default threshold, read from rules/*.json.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import statistics
import sys
import time
from pathlib import Path

import checker

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "data" / "manifest.csv"
RULES_DIR = Path(os.environ.get("CHECKER_RULES_DIR") or ROOT / "rules")

# (attribute, label column, check, positive labels, negative labels)
ATTRIBUTES = [
    ("hat", "hat", "hat", {"yes"}, {"no"}),
    ("glasses (clear)", "glasses", "glasses", {"yes"}, {"no"}),
    ("sunglasses", "sunglasses", "sunglasses", {"yes"}, {"no"}),
    ("smiling", "smile", "face_expression", {"closed", "teeth"}, {"none"}),
    ("mouth open", "mouth_open", "mouse_nature", {"yes"}, {"no"}),
    ("eyes closed", "eyes_closed", "eyes_close", {"yes"}, {"no"}),
    ("mask", "mask", "pn_mask_exist", {"yes"}, {"no"}),
]
POSE = ("headpose_yaw", "headpose_pitch", "headpose_roll")


def enabling_overrides(checks: list[str]) -> dict[str, object]:
    """For each check whose rule is off by default: {its max parameter: the rule's default max}."""
    out: dict[str, object] = {}
    for path in sorted(RULES_DIR.glob("*.json")):
        if path.name == "schema.json":
            continue
        for rule in json.loads(path.read_text(encoding="utf-8")).get("rules", []):
            if rule["check"] in checks and rule.get("enabled", True) is False:
                key = next(iter(rule.get("params", {})), None)
                if key is not None and key in rule.get("default", {}):
                    out[rule["params"][key]] = rule["default"][key]
    return out


def run_one(path: Path, spec: str, overrides: dict[str, object]) -> dict:
    """Verdict per check ("pass", "fail", "not_assessed"), pose values, or the refusal status."""
    try:
        report = checker.check(path.read_bytes(), spec, **overrides)
    except checker.CheckerError as exc:
        return {"error": exc.status, "verdicts": {}, "pose": {}, "reasons": {}}
    except Exception as exc:  # noqa: BLE001 - a crash is a refusal too; the run goes on and reports it
        return {"error": f"crash {type(exc).__name__}: {exc}", "verdicts": {}, "pose": {}, "reasons": {}}
    verdicts = {c: ("pass" if v == 1 else "fail") for c, v in report["result"].items() if c not in ("name", "spec_id")}
    reasons = {}
    for item in report.get("not_check_result", []):
        verdicts[item["check_param"]] = "not_assessed"
        reasons[item["check_param"]] = item.get("param_message", "")
    pose = {k: report["value_dict"][k] for k in POSE if isinstance(report["value_dict"].get(k), int | float)}
    return {"error": None, "verdicts": verdicts, "pose": pose, "reasons": reasons}


def rate(k: int, n: int) -> float | None:
    return k / n if n else None


def score_attribute(rows: list[dict], name: str, column: str, check: str, pos: set, neg: set) -> dict:
    counts = {"pos": 0, "neg": 0, "hit": 0, "false_alarm": 0, "na_pos": 0, "na_neg": 0, "not_run": 0}
    for row in rows:
        label, out = row[column], row["out"]
        if row["faces"] == "0" or (label not in pos and label not in neg):
            continue
        verdict = "not_assessed" if out["error"] else out["verdicts"].get(check)
        if verdict is None:  # the check did not run for this photo (off in the spec, not applicable)
            counts["not_run"] += 1
            continue
        positive = label in pos
        counts["pos" if positive else "neg"] += 1
        counts["na_pos" if positive else "na_neg"] += verdict == "not_assessed"
        if verdict != "pass":
            counts["hit" if positive else "false_alarm"] += 1
    return finish(name, check, counts)


def score_no_face(rows: list[dict]) -> dict:
    counts = {"pos": 0, "neg": 0, "hit": 0, "false_alarm": 0, "na_pos": 0, "na_neg": 0, "not_run": 0}
    for row in rows:
        if row["faces"] not in ("0", "1"):
            continue
        positive = row["faces"] == "0"
        refused = row["out"]["error"] == "NO_FACE_DETECTED"
        counts["pos" if positive else "neg"] += 1
        counts["na_pos" if positive else "na_neg"] += row["out"]["error"] not in (None, "NO_FACE_DETECTED")
        if refused:
            counts["hit" if positive else "false_alarm"] += 1
    return finish("no face", "NO_FACE_DETECTED", counts)


def finish(name: str, check: str, c: dict) -> dict:
    dr, far = rate(c["hit"], c["pos"]), rate(c["false_alarm"], c["neg"])
    ba = (dr + 1 - far) / 2 if dr is not None and far is not None else None
    return {"attribute": name, "check": check, "positives": c["pos"], "negatives": c["neg"],
            "detection_rate": dr, "false_alarm_rate": far, "balanced_accuracy": ba,
            "not_assessed_positives": c["na_pos"], "not_assessed_negatives": c["na_neg"], "not_run": c["not_run"]}


def pose_figures(rows: list[dict]) -> dict:
    out: dict = {}
    frontal = [r["out"]["pose"] for r in rows if r["frontal"] == "yes" and not r["out"]["error"]]
    for key in POSE:
        vals = sorted(p[key] for p in frontal if key in p)
        if len(vals) >= 2:
            q1, _, q3 = statistics.quantiles(vals, n=4)
            out[key] = {"n": len(vals), "median": statistics.median(vals), "p25": q1, "p75": q3,
                        "stdev": statistics.stdev(vals)}
    for label in ("turned", "yes"):
        verdicts = [("not_assessed" if r["out"]["error"] else r["out"]["verdicts"].get("headpose_yaw"))
                    for r in rows if r["frontal"] == label]
        judged = [v for v in verdicts if v is not None]
        out[f"frontal_{label}_failing_yaw"] = {
            "n": len(judged), "failing": sum(v != "pass" for v in judged),
            "not_assessed": sum(v == "not_assessed" for v in judged)}
    return out


def fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def print_report(summary: dict) -> None:
    s = summary
    print(f"split {s['split']}: {s['images']} photos, spec {s['spec']}, overrides {s['overrides']}, "
          f"{s['seconds']:.0f} s; refusals: {s['refusals'] or 'none'}")
    if s["missing"]:
        print(f"missing or sha256 mismatch (skipped): {len(s['missing'])}")
    print("Not assessed (not_check_result, or a photo with a face refused with an error) counts as a fail")
    print("verdict in the rates and BA; its column says how many positives / negatives that was.")
    print("Detection rate = fail verdicts / positives; false-alarm rate = fail verdicts / negatives.\n")
    print("| attribute | check | positives | negatives | detection rate | false-alarm rate | BA "
          "| not assessed (pos / neg) |")
    print("|---|---|---|---|---|---|---|---|")
    for a in s["attributes"]:
        print(f"| {a['attribute']} | `{a['check']}` | {a['positives']} | {a['negatives']} | "
              f"{fmt(a['detection_rate'])} | {fmt(a['false_alarm_rate'])} | {fmt(a['balanced_accuracy'])} | "
              f"{a['not_assessed_positives']} / {a['not_assessed_negatives']} |")
    not_run = [f"{a['attribute']} {a['not_run']}" for a in s["attributes"] if a["not_run"]]
    if not_run:
        print(f"\nCheck did not run (excluded): {', '.join(not_run)}")
    print("\nno face: detection = NO_FACE_DETECTED on faces=0; 'not assessed' there = another refusal.")
    p = s["pose"]
    print("\nPose on photos labelled frontal=yes (degrees; no angle labels exist, so pose MAE cannot be measured):\n")
    print("| angle | n | median | p25 | p75 | stdev |")
    print("|---|---|---|---|---|---|")
    for key in POSE:
        if key in p:
            q = p[key]
            print(f"| {key} | {q['n']} | {q['median']:.1f} | {q['p25']:.1f} | {q['p75']:.1f} | {q['stdev']:.1f} |")
    for label in ("turned", "yes"):
        q = p[f"frontal_{label}_failing_yaw"]
        share = fmt(rate(q["failing"], q["n"]))
        print(f"\nfrontal={label}: {q['failing']}/{q['n']} fail headpose_yaw ({share}; "
              f"{q['not_assessed']} of them not assessed)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.environ.get("CHECKER_ACCURACY_DATA"),
                    help="folder holding the manifest's files (env CHECKER_ACCURACY_DATA)")
    ap.add_argument("--split", choices=("train", "heldout", "all"), default="heldout")
    ap.add_argument("--spec", default="1102")
    ap.add_argument("--json", action="store_true", help="print the figures and per-photo verdicts as JSON")
    args = ap.parse_args(argv)
    if not args.data or not Path(args.data).is_dir():
        print("bench/accuracy.py needs the labelled photos: pass --data DIR or set CHECKER_ACCURACY_DATA "
              "(data/README.md says how to rebuild the folder).", file=sys.stderr)
        return 2
    data = Path(args.data)
    with MANIFEST.open(newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if args.split == "all" or r["split"] == args.split]
    overrides = enabling_overrides([a[2] for a in ATTRIBUTES])
    spec = int(args.spec) if args.spec.isdigit() else args.spec
    started, kept, missing = time.perf_counter(), [], []
    for row in rows:
        path = data / row["file"]
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != row["sha256"]:
            missing.append(row["file"])
            continue
        row["out"] = run_one(path, spec, overrides)
        kept.append(row)
    if not kept:
        print(f"none of the manifest's {len(rows)} photos were found under {data}", file=sys.stderr)
        return 2
    refusals: dict[str, int] = {}
    for row in kept:
        if row["out"]["error"]:
            key = f"{row['out']['error']} (faces={row['faces']})"
            refusals[key] = refusals.get(key, 0) + 1
    summary = {
        "split": args.split, "spec": args.spec, "overrides": overrides, "images": len(kept),
        "seconds": time.perf_counter() - started, "missing": missing, "refusals": refusals,
        "attributes": [score_attribute(kept, *a) for a in ATTRIBUTES] + [score_no_face(kept)],
        "pose": pose_figures(kept),
    }
    if args.json:
        summary["photos"] = [{"file": r["file"], **r["out"]} for r in kept]
        print(json.dumps(summary, indent=1))
    else:
        print_report(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
