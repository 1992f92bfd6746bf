"""Where the service keeps its state (API keys, tasks): one folder, shared by the app, the CLI and
Celery workers so that they agree without being told. With the shared store (CHECKER_STORE_URL, see
checker/store/) that state is on Redis instead, and each machine's instance folder holds only its own
files.

It is never inside the install tree (site-packages) or the checkout: CHECKER_INSTANCE_DIR if set,
else ``instance/`` in the per-user data folder that :func:`user_data_dir` names, beside the model
files (``models/``, :mod:`checker.models.files`)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "idphoto"


def user_data_dir() -> Path:
    """The per-user data folder of the application (platformdirs): ``$XDG_DATA_HOME/idphoto``, else
    ``~/.local/share/idphoto`` on Linux (a relative XDG_DATA_HOME is ignored, as XDG says);
    ``~/Library/Application Support/idphoto`` on macOS; ``%LOCALAPPDATA%\\idphoto`` on Windows."""
    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def instance_dir() -> Path:
    """CHECKER_INSTANCE_DIR, else ``instance/`` in :func:`user_data_dir`. Not created here: the
    key store and the task store make their own files' folders when they first write."""
    value = os.environ.get("CHECKER_INSTANCE_DIR", "").strip()
    return Path(value) if value else user_data_dir() / "instance"
