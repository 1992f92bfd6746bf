"""Where the service keeps its state (API keys, tasks): one folder, shared by the app, the CLI and
Celery workers so that they agree without being told."""

from __future__ import annotations

import os
from pathlib import Path


def instance_dir() -> Path:
    """CHECKER_INSTANCE_DIR, else ``instance/`` at the project root (the checkout ``make run`` serves)."""
    value = os.environ.get("CHECKER_INSTANCE_DIR")
    return Path(value) if value else Path(__file__).resolve().parent.parent / "instance"
