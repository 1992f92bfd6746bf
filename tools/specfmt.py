"""How spec files are written: two-space JSON, short lists and flat objects on one line, as the
hand-written files in specs/ are. Used by tools/import_specs.py; ``python tools/specfmt.py FILE...``
rewrites files in place."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

WIDTH = 120


def _inline(value: Any) -> str | None:
    """One-line JSON for a scalar, a list of scalars or a flat object, if it is short enough."""
    text = json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict | list):
        members = value.values() if isinstance(value, dict) else value
        if not all(_simple(m) for m in members):
            return None
        text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= WIDTH - 40 or not isinstance(value, dict | list) else None


def _scalars(value: Any) -> bool:
    return isinstance(value, list) and not any(isinstance(v, dict | list) for v in value)


def _simple(member: Any) -> bool:
    """A scalar, a list of scalars, or an object of those: what may sit inside a one-line value."""
    if isinstance(member, dict):
        return all(not isinstance(v, dict | list) or _scalars(v) for v in member.values())
    return not isinstance(member, list) or _scalars(member)


def _dump(value: Any, indent: int) -> str:
    one = _inline(value)
    if one is not None:
        return one
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {_dump(v, indent + 2)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    items = [f"{inner}{_dump(v, indent + 2)}" for v in value]
    return "[\n" + ",\n".join(items) + f"\n{pad}]"


def dumps(doc: dict[str, Any]) -> str:
    """A spec document as its file's text (top-level keys one per line, a newline at the end)."""
    lines = [f"  {json.dumps(k, ensure_ascii=False)}: {_dump(v, 2)}" for k, v in doc.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"


if __name__ == "__main__":
    for name in sys.argv[1:]:
        path = Path(name)
        path.write_text(dumps(json.loads(path.read_text(encoding="utf-8"))), encoding="utf-8")
