"""Train the small learned heads of checker/heads/ on the train split of data/manifest.csv.

    .venv/bin/python tools/train_heads.py --data DIR      # DIR: the image folder (tools/fetch_dataset.py)

Only rows of the ``train`` split are read; the held-out split is what bench/accuracy.py reports on.
Each head is an L2-regularised logistic regression fitted by Newton's method (deterministic: the same
photos give the same weights). The regularisation strength is chosen by 5-fold cross-validation on
the train split (balanced accuracy at p = 0.5). See docs/calibration/heads.md.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checker import heads  # noqa: E402
from checker.context import Analysis  # noqa: E402
from checker.errors import CheckerError  # noqa: E402
from checker.imaging import load_photo  # noqa: E402

MANIFEST = ROOT / "data" / "manifest.csv"
LAMBDAS = (0.03, 0.1, 0.3, 1.0, 3.0)


def fit(x: np.ndarray, y: np.ndarray, lam: float, iters: int = 60) -> np.ndarray:
    """Weights (bias last) of an L2-regularised logistic regression (the bias is not penalised)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    penalty = np.r_[np.ones(len(w) - 1), 0.0] * lam
    for _ in range(iters):
        p = 1 / (1 + np.exp(-xb @ w))
        grad = xb.T @ (p - y) + penalty * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(penalty)
        w -= np.linalg.solve(hess, grad)
    return w


def balanced_accuracy(p: np.ndarray, y: np.ndarray) -> float:
    return float(((p[y == 1] > 0.5).mean() + (p[y == 0] <= 0.5).mean()) / 2)


def cross_validated(x: np.ndarray, y: np.ndarray, lam: float, folds: int = 5) -> float:
    order = np.argsort([hashlib.sha256(str(i).encode()).hexdigest() for i in range(len(y))])  # fixed shuffle
    scores = []
    for part in np.array_split(order, folds):
        rest = np.setdiff1d(order, part)
        w = fit(x[rest], y[rest], lam)
        p = 1 / (1 + np.exp(-(np.hstack([x[part], np.ones((len(part), 1))]) @ w)))
        scores.append(balanced_accuracy(p, y[part]))
    return float(np.mean(scores))


# name -> (label column, positive label values, negative label values, features of an Analysis)
Features = Callable[[Analysis], dict[str, float]]
HEADS: dict[str, tuple[str, set[str], set[str], Features]] = {
    "smile": ("smile", {"closed", "teeth"}, {"none"}, lambda a: dict(a.blendshapes)),
}


def train(name: str, data: Path) -> Path:
    column, positive, negative, features = HEADS[name]
    with open(MANIFEST, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "train" and r["faces"] == "1"
                and r[column] in positive | negative]
    xs, ys, names = [], [], None
    for row in rows:
        try:
            values = features(Analysis(load_photo((data / row["file"]).read_bytes())))
        except CheckerError as exc:
            print(f"  skipped {row['file']}: {exc.status}", file=sys.stderr)
            continue
        names = names or sorted(values)
        xs.append([values[n] for n in names])
        ys.append(1.0 if row[column] in positive else 0.0)
    x, y = np.array(xs), np.array(ys)
    cv = {lam: cross_validated(x, y, lam) for lam in LAMBDAS}
    lam = max(cv, key=cv.get)
    w = fit(x, y, lam)
    training = {"manifest": "data/manifest.csv", "manifest_sha256": hashlib.sha256(MANIFEST.read_bytes()).hexdigest(),
                "split": "train", "label": column, "positive": sorted(positive), "negative": sorted(negative),
                "photos": len(y), "positives": int(y.sum()), "lambda": lam,
                "cv_balanced_accuracy": {str(k): round(v, 3) for k, v in cv.items()}}
    path = heads.save(name, names, list(w[:-1]), float(w[-1]), training)
    print(f"{name}: {len(y)} photos ({int(y.sum())} positive), lambda {lam} (CV BA {cv[lam]:.3f}) -> {path}")
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("CHECKER_ACCURACY_DATA"), help="the image folder")
    ap.add_argument("heads", nargs="*", default=sorted(HEADS), help=f"heads to train (default: {', '.join(HEADS)})")
    args = ap.parse_args()
    if not args.data or not Path(args.data).is_dir():
        print("give the image folder with --data DIR or CHECKER_ACCURACY_DATA (see data/README.md)", file=sys.stderr)
        return 2
    for name in args.heads:
        train(name, Path(args.data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
