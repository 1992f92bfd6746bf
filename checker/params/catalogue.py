"""Every parameter table by a short name, for the command line and the library (``idphoto params``,
:func:`checker.parameters`). An unknown name fails loudly with the names there are."""

from __future__ import annotations

from . import Table
from .check import CHECK
from .generation import FIX, TABLE, TASKS
from .hivision import ENDPOINTS
from .services import MASK, MATTING

TABLES: dict[str, Table] = {
    "fix": TABLE,  # the options of checker.fix / idphoto fix and batch
    "api-fix": FIX,
    "tasks": TASKS,
    "check": CHECK,
    "mask": MASK,
    "matting": MATTING,
    **{path.strip("/"): table for path, table in ENDPOINTS.items()},
}


def table(name: str) -> Table:
    """The table called ``name``; ValueError naming the known ones otherwise."""
    try:
        return TABLES[name]
    except KeyError:
        raise ValueError(f"no parameter table {name!r}; known: {', '.join(TABLES)}") from None
