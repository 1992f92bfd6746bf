"""Liveness and readiness."""

from __future__ import annotations

from flask import Blueprint, jsonify

from .. import models
from ..rules import load_rules
from ..specs import list_specs

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify({
        "status": "ok",
        "models_loaded": models.loaded(),
        "specs": len(list_specs()),
        "rules": len(load_rules()),
    })
