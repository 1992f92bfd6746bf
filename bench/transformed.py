"""Issue 16's checks on labelled real photos and on known edits of them. Prints figures; asserts nothing.

    .venv/bin/python bench/transformed.py --data DIR [--split train|heldout|all] [--check NAME ...]
                                          [--every N] [--json OUT]

DIR holds the images of data/manifest.csv (data/README.md). For every check of issue 16 (body_posture,
id_exist, face_gaze, pn_neck_shadow_exist, pn_over_ps, decoration_occlusion) each photo of the split
with one face is measured as it is (a negative, unless data/extra_labels.csv labels it a positive
for body_posture) and after each of the check's edits from tests/edits.py (positives: a real hand
pasted at the chin, a card held up, irises moved, a neck shadow, skin smoothing, an ornament on the
face). ``--every N`` edits only every N-th photo of the ``--thin`` sets (the Congress portraits by
default); every photo is measured as it is.

A measure that could not be made counts as a fail verdict, as the service reports it (not assessed
never passes). Scores are compared with the rule's default maximum from rules/*.json. Photos whose
edit could not be placed (no neck visible for a neck shadow, say) are counted apart, not as positives.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checker import detectors, rules  # noqa: E402
from checker.context import Analysis  # noqa: E402
from checker.errors import CheckerError  # noqa: E402
from checker.generate.beauty import smooth_skin  # noqa: E402
from checker.imaging import load_photo  # noqa: E402
from tests import edits  # noqa: E402

MANIFEST = ROOT / "data" / "manifest.csv"
LABELS = ROOT / "data" / "extra_labels.csv"
SHARED = ROOT.parent / "shared" / "faces"

Edit = Callable[[Analysis], np.ndarray | None]
STUDIO = ("webmorphR.stim", "cse151a-congress118")  # evenly lit studio portraits


@dataclass(frozen=True)
class Case:
    check: str  # the rule
    edits: dict[str, Edit]
    # only manifest files whose path holds one of these (None: all). The neck and retouching checks
    # leave out the stock avatars of `interfaces`: outdoor light casts real neck shadows on many and
    # several look retouched, and neither is labelled, so they are neither clean nor positives.
    sets: tuple[str, ...] | None = None


def _cases() -> dict[str, Case]:
    hands = {name: edits.cut_hand(load_photo((SHARED / name).read_bytes()).rgb)
             for name in edits.HAND_SOURCES}
    portraits = [load_photo((SHARED / name).read_bytes()).rgb for name in edits.CARD_PORTRAITS]
    cards = [edits.make_card(p, seed=k) for k, p in enumerate(portraits)]
    held = {}
    for place in edits.CARD_PLACES:
        for k, (src, cut) in enumerate(hands.items()):
            width = 0.7 + 0.3 * k  # face widths: a card at arm's length, and one held nearer the camera
            who = f", {src.split('.')[0]}'s hand" if "hand" in place else ""
            held[f"card {place}, {width:.1f} face widths{who}"] = (
                lambda a, p=place, c=cut, k=k, wd=width: edits.hold_card(
                    a, cards[(k + int(a.width)) % len(cards)], p, width=wd,
                    angle=(-1) ** (int(a.height) % 2) * 8.0 * (k + 1), tilt=0.1 * k, hand=c))
    ornaments = {name: edits.cut_ornament(load_photo((SHARED / src).read_bytes()).rgb, name)
                 for name, (src, *_) in edits.ORNAMENTS.items()}
    sizes = edits.ORNAMENT_SIZES  # one of them per photo and place, alternating, to halve the work
    decorated = {
        f"{name} on the {place}, {' or '.join(f'{x:g}' for x in sizes)} face widths": (
            lambda a, o=orn, p=place, k=k: edits.place_ornament(a, o, p, sizes[(int(a.width) + k) % len(sizes)]))
        for name, orn in ornaments.items() for k, place in enumerate(edits.ORNAMENT_PLACES)}
    out = {
        "decoration_occlusion": Case("decoration_occlusion", decorated),
        "id_exist": Case("id_exist", held),
        "body_posture": Case("body_posture", {
            f"hand {pose} ({src.split('.')[0]})": (lambda a, p=pose, c=cut: edits.hand_pose(a, c, p))
            for pose in edits.HAND_POSES for src, cut in hands.items()}),
        "face_gaze": Case("face_gaze", {
            f"irises moved {dx:+.1f}, {dy:+.1f} eye widths": (lambda a, x=dx, y=dy: edits.move_irises(a, x, y))
            for dx, dy in edits.GAZE_MOVES}),
        "pn_neck_shadow_exist": Case("pn_neck_shadow_exist", {
            f"neck shadow {d:.0%} deep": (lambda a, x=d: edits.neck_shadow(a, x)) for d in edits.NECK_SHADOW_DEPTHS},
            sets=STUDIO),
        "pn_over_ps": Case("pn_over_ps", {
            **{f"skin texture {s:.0%} off": (lambda a, x=s: edits.smooth_skin_texture(a, x))
               for s in edits.RETOUCH_STRENGTHS},
            **{f"auto_smooth {s:g} (checker.generate.beauty)": (lambda a, x=s: smooth_skin(a.rgb, a.mesh, x))
               for s in (0.5, 1.0)}},
            sets=STUDIO),
    }
    return out


def _analysis(rgb: np.ndarray) -> Analysis:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return Analysis(load_photo(buf.getvalue()))


NOT_APPLICABLE = "n/a"


def _score(a: Analysis, measure: str) -> float | str | None:
    """The measure's score; None when it could not be made (counted as a fail); NOT_APPLICABLE when
    the photo shows nothing to judge (the service lists it apart; left out of the rates)."""
    try:
        m = detectors.measure(a, [measure])[measure]
    except CheckerError:
        return None
    if not m.ok:
        return NOT_APPLICABLE if not m.applicable else None
    return m.score


# label columns of data/extra_labels.csv that judge each check (a photo is a positive when any is yes)
LABEL_COLUMNS = {"body_posture": ("hand_at_head", "body_turned"), "face_gaze": ("gaze_away",),
                 "decoration_occlusion": ("decoration",)}


def _labels() -> dict[str, dict[str, str]]:
    """{check: {file: yes | no | unsure}} from data/extra_labels.csv: yes when any of the check's
    columns is yes, no when all are no, unsure otherwise. Photos it does not list are negatives."""
    out: dict[str, dict[str, str]] = {c: {} for c in LABEL_COLUMNS}
    if LABELS.exists():
        for r in csv.DictReader(LABELS.open(encoding="utf-8")):
            for check, cols in LABEL_COLUMNS.items():
                vals = {r[c] for c in cols}
                out[check][r["file"]] = "yes" if "yes" in vals else "no" if vals == {"no"} else "unsure"
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", default="heldout", choices=("train", "heldout", "all"))
    ap.add_argument("--check", nargs="*")
    ap.add_argument("--every", type=int, default=1, help="edit only every N-th photo of the --thin sets")
    ap.add_argument("--thin", nargs="*", default=["cse151a-congress118"],
                    help="sets --every applies to (default: the 539 Congress portraits); others are all edited")
    ap.add_argument("--sets", nargs="*", help="only manifest files whose path contains one of these")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    cases = _cases()
    chosen = args.check or list(cases)
    the_rules = rules.load_rules()
    labels = _labels()
    rows = [r for r in csv.DictReader(MANIFEST.open(encoding="utf-8"))
            if r["faces"] == "1" and (args.split == "all" or r["split"] == args.split)
            and (not args.sets or any(s in r["file"] for s in args.sets))]
    results: dict[str, list[dict[str, object]]] = {c: [] for c in chosen}
    t0 = time.time()
    for i, row in enumerate(rows):
        path = Path(args.data) / row["file"]
        if not path.exists():
            continue
        try:
            clean = Analysis(load_photo(path.read_bytes()))
            clean.face  # noqa: B018 - refuse photos with no face or several
        except CheckerError:
            continue
        for name in chosen:
            case = cases[name]
            if case.sets is not None and not any(s in row["file"] for s in case.sets):
                continue
            measure = the_rules[case.check].measure
            label = labels.get(case.check, {}).get(row["file"], "no")
            results[name].append({"file": row["file"], "edit": None, "label": label,
                                  "score": _score(clean, measure)})
            if i % args.every and any(t in row["file"] for t in args.thin):
                continue
            for edit_name, edit in case.edits.items():
                try:
                    rgb = edit(clean)
                except (CheckerError, ValueError, IndexError) as exc:
                    rgb, why = None, str(exc)
                if rgb is None:
                    results[name].append({"file": row["file"], "edit": edit_name, "label": "skipped",
                                          "score": None, "why": locals().get("why", "")})
                    continue
                try:
                    score = _score(_analysis(rgb), measure)
                except CheckerError:
                    score = None
                results[name].append({"file": row["file"], "edit": edit_name, "label": "yes", "score": score})
        if i % 25 == 0:
            print(f"  {i + 1}/{len(rows)} photos, {time.time() - t0:.0f} s", file=sys.stderr)
    for name in chosen:
        report(name, results[name], float(the_rules[cases[name].check].default["max"]))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


def report(name: str, res: list[dict[str, object]], threshold: float) -> None:
    def fails(r: dict[str, object]) -> bool:
        s = r["score"]
        return s is None or float(s) > threshold  # type: ignore[arg-type]

    n_a = sum(1 for r in res if r["score"] == NOT_APPLICABLE)
    res = [r for r in res if r["score"] != NOT_APPLICABLE]
    neg = [r for r in res if r["label"] == "no"]
    pos = [r for r in res if r["label"] == "yes"]
    skipped = sum(1 for r in res if r["label"] == "skipped")
    tpr = sum(map(fails, pos)) / len(pos) if pos else float("nan")
    fpr = sum(map(fails, neg)) / len(neg) if neg else float("nan")
    na = sum(1 for r in res if r["score"] is None and r["label"] in ("yes", "no"))
    print(f"\n{name}: threshold {threshold:g}; {len(pos)} positives / {len(neg)} negatives "
          f"({skipped} edits could not be placed, {na} not assessed, {n_a} not applicable)")
    print(f"  detection {tpr:.3f}  false alarms {fpr:.3f}  BA {(tpr + 1 - fpr) / 2:.3f}")
    by_edit: dict[str, list[bool]] = {}
    for r in pos:
        by_edit.setdefault(str(r["edit"] or "real, labelled"), []).append(fails(r))
    for edit_name, got in sorted(by_edit.items()):
        print(f"    {edit_name:<40} {sum(got)}/{len(got)}")
    worst = sorted((r for r in neg if fails(r)), key=lambda r: -float(r["score"] or 101))[:8]  # type: ignore[arg-type]
    for r in worst:
        print(f"    false alarm: {r['file']} {r['score']}")


if __name__ == "__main__":
    raise SystemExit(main())
