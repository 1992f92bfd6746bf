"""Small learned heads: logistic regressions over measures the models already give (the
landmarker's blendshapes, ...), trained here by ``tools/train_heads.py`` on the train split of
``data/manifest.csv``. Each head is a JSON file beside this module: feature names, weights, bias and
how it was trained (docs/calibration/heads.md)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Head:
    name: str
    features: tuple[str, ...]
    weights: tuple[float, ...]
    bias: float
    training: dict[str, Any]

    def probability(self, values: dict[str, float]) -> float:
        """P(positive) for one photo's feature values (a missing feature fails loudly)."""
        z = self.bias + sum(w * values[f] for f, w in zip(self.features, self.weights, strict=True))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@cache
def load(name: str) -> Head:
    """The head stored as ``<name>.json`` beside this module."""
    data = json.loads((HERE / f"{name}.json").read_text(encoding="utf-8"))
    return Head(name=name, features=tuple(data["features"]), weights=tuple(data["weights"]),
                bias=float(data["bias"]), training=data["training"])


def save(name: str, features: list[str], weights: list[float], bias: float, training: dict[str, Any]) -> Path:
    """Write a head (tools/train_heads.py)."""
    path = HERE / f"{name}.json"
    body = {"features": features, "weights": [round(w, 6) for w in weights], "bias": round(bias, 6),
            "training": training}
    path.write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    return path
