"""Where the data folders the package reads at run time are: ``rules/`` and ``specs/``.

In the repository they stay at the top (``rules/``, ``specs/``); pyproject.toml maps them into the
package as ``checker.rules_data`` and ``checker.specs_data``, so a wheel carries them inside
``checker/`` and they are read through :mod:`importlib.resources`. An editable install
(``pip install -e .``, what the Makefile does) has no such folders under ``checker/``: setuptools'
editable finder does not resolve a mapped sub-folder that has no ``__init__.py``, and the old-style
``.pth`` install does not know the mapping at all. There, and only when the packaged folder is
missing, the folder is taken from the checkout beside ``checker/``. An environment variable
(CHECKER_RULES_DIR, CHECKER_SPECS_DIR) overrides both.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent


def data_dir(name: str, env: str) -> Path:
    """The folder of data set ``name`` ("rules" or "specs"): $``env`` if set, else the packaged
    ``checker/<name>_data`` (a wheel), else ``<name>/`` beside the package (an editable checkout).
    When neither exists, the packaged path, so the error that follows names where the file should be."""
    value = os.environ.get(env, "").strip()
    if value:
        return Path(value)
    packaged = resources.files(__package__).joinpath(f"{name}_data")
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    checkout = CHECKOUT / name
    if (checkout / "schema.json").is_file():
        return checkout
    return Path(str(packaged))
