"""Every document that the code, the rules, the tests and the docs point a reader to exists."""

from __future__ import annotations

import re

from .conftest import ROOT

DOC_REF = re.compile(r"docs/[A-Za-z0-9_/.-]+\.md")
WHERE = ("checker", "rules", "tests", "tools", "bench", "docs", "data")


def test_every_docs_path_named_in_the_repository_exists():
    named: dict[str, set[str]] = {}
    files = [ROOT / "README.md"] + [p for d in WHERE for p in (ROOT / d).rglob("*")
                                    if p.suffix in (".py", ".json", ".md") and p.is_file()]
    for path in files:
        for ref in DOC_REF.findall(path.read_text(encoding="utf-8")):
            named.setdefault(ref.rstrip("."), set()).add(str(path.relative_to(ROOT)))
    assert "docs/calibration/card.md" in named  # the scan reads what it should
    missing = {ref: sorted(by) for ref, by in named.items() if not (ROOT / ref).is_file()}
    assert not missing, missing
