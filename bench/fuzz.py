"""A longer fuzz run of the property tests (issue 12); not part of ``make test``.

The properties and strategies are the ones in tests/test_properties.py (intake, base64, every
parameter table, every JSON body, every multipart form); here they run round after round with fresh
random seeds and many more examples, until the time is up. Each distinct failure is printed with
hypothesis's falsifying example (shrunk) and the seed that found it.

    .venv/bin/python bench/fuzz.py --minutes 5
    .venv/bin/python bench/fuzz.py --minutes 2 --only intake,json --examples 500

The same guards hold as in the tests: memory is capped around every call (a runaway allocation is a
MemoryError, reported, not gigabytes taken from the machine), and nothing is resolved or connected
to but loopback. State lives in a temporary folder.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["CHECKER_INSTANCE_DIR"] = tempfile.mkdtemp(prefix="idphoto-fuzz-")

from hypothesis import Phase, given, settings  # noqa: E402
from hypothesis import seed as with_seed  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests import test_properties as props  # noqa: E402

# PIL's warnings about odd headers and the app's crash tracebacks would bury the report; crashes are
# still caught (props.CrashLog) and printed with their failure.
warnings.filterwarnings("ignore", category=UserWarning, module="PIL")
logging.getLogger("checker").propagate = False


@dataclass
class Target:
    name: str
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any], None]
    cost: int = 1  # relative cost of one example: web requests are dearer than parsing
    calls: int = 0
    rounds: int = 0
    failures: dict[str, str] = field(default_factory=dict)


def targets(servers: props.Servers) -> list[Target]:
    out = [
        Target("intake: arbitrary bytes", st.binary(max_size=4096), props.intake_property),
        Target("intake: behind a magic number", props.MAGIC_PREFIXED, props.intake_property),
        Target("intake: mutated images", props.mutated_files(), props.intake_property, cost=2),
        Target("base64: arbitrary text", props.BASE64_INPUTS, props.base64_text_property),
        Target("base64: round trip", props.base64_spellings(), lambda case: props.base64_round_trip_property(*case)),
    ]
    for name in sorted(props.TABLES):
        out.append(Target(f"params {name}: every parameter", st.data(),
                          lambda data, name=name: props.every_parameter_property(name, data), cost=2))
        out.append(Target(f"params {name}: arbitrary mappings", props.MAPPINGS,
                          lambda raw, name=name: props.mapping_property(name, raw)))
    for path in props.POSTS:
        out.append(Target(f"json {path}", props.json_requests(path),
                          lambda req, path=path: props.web_property(servers, path, req), cost=5))
    for path in props.MULTIPART_POSTS:
        out.append(Target(f"multipart {path}", props.multipart_requests(path),
                          lambda req, path=path: props.web_property(servers, path, req), cost=5))
    return out


def describe(exc: BaseException) -> tuple[str, str]:
    """(a key telling distinct failures apart, the text to print)."""
    parts = getattr(exc, "exceptions", None) or (exc,)  # hypothesis groups distinct bugs of one run
    keys, texts = [], []
    for part in parts:
        first = "".join(traceback.format_exception_only(type(part), part)).strip().splitlines()[0]
        keys.append(first[:160])
        tb = traceback.extract_tb(part.__traceback__)
        where = f"{tb[-1].filename}:{tb[-1].lineno}" if tb else "?"
        notes = "\n".join(getattr(part, "__notes__", []))
        cause = part.__cause__
        because = ""
        if cause is not None:
            ctb = traceback.extract_tb(cause.__traceback__)
            at = f" at {ctb[-1].filename}:{ctb[-1].lineno}" if ctb else ""
            because = f"\n  caused by {type(cause).__name__}: {str(cause)[:300]}{at}"
        texts.append(f"{first[:2000]}\n  raised at {where}{because}\n{notes[:4000]}")
    return " | ".join(sorted(keys)), "\n".join(texts)


def run(target: Target, examples: int, seed: int) -> None:
    def body(value: Any) -> None:
        target.calls += 1
        target.check(value)

    test = settings(props.PROFILE, max_examples=max(1, examples // target.cost), derandomize=False,
                    phases=(Phase.generate, Phase.target, Phase.shrink), report_multiple_bugs=True)(
        given(target.strategy)(body))
    target.rounds += 1
    try:
        with_seed(seed)(test)()
    except Exception as exc:  # a property failed: hypothesis has shrunk it and re-raised it
        key, text = describe(exc)
        if key not in target.failures:
            target.failures[key] = f"seed {seed}: {text}"
            print(f"\n!! {target.name}: new failure (seed {seed})\n{text}\n", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="how long to fuzz (default 5)")
    parser.add_argument("--examples", type=int, default=300,
                        help="examples per property per round, divided by its cost (default 300)")
    parser.add_argument("--only", default="", help="comma-separated name fragments: intake, base64, params, json, "
                                                   "multipart, or a path such as /set_kb")
    parser.add_argument("--seed", type=int, default=None, help="the first round's seed (default: random)")
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    root = Path(os.environ["CHECKER_INSTANCE_DIR"])
    started = time.monotonic()
    deadline = started + args.minutes * 60
    with props.loopback_only():
        servers = props.Servers(root / "servers")
        try:
            chosen = [t for t in targets(servers)
                      if not args.only or any(f.strip() and f.strip() in t.name for f in args.only.split(","))]
            if not chosen:
                parser.error(f"--only {args.only!r} names no property")
            print(f"fuzzing {len(chosen)} properties for {args.minutes:g} min (state in {root})", flush=True)
            while time.monotonic() < deadline:
                for target in chosen:
                    if time.monotonic() >= deadline:
                        break
                    run(target, args.examples, rng.randrange(2**32))
                print(f"  {time.monotonic() - started:6.0f} s: {sum(t.calls for t in chosen)} examples, "
                      f"{sum(len(t.failures) for t in chosen)} distinct failures", flush=True)
        finally:
            servers.close()

    elapsed = time.monotonic() - started
    print(f"\n{'property':58} {'rounds':>6} {'examples':>9} {'failures':>8}")
    for t in chosen:
        print(f"{t.name:58} {t.rounds:6} {t.calls:9} {len(t.failures):8}")
    total = sum(t.calls for t in chosen)
    failures = [(t.name, text) for t in chosen for text in t.failures.values()]
    print(f"\n{total} examples in {elapsed:.0f} s; {len(failures)} distinct failures")
    for name, text in failures:
        print(f"\n=== {name}\n{text}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
