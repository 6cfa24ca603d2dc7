"""Figures of the reliability tests (kills survived, outage seconds, fuzzed inputs, posts lost),
collected during a pytest session, printed as a table at its end (tests/conftest.py) and saved to
test-artifacts/reliability.json for bench/reliability.py."""
from __future__ import annotations

import json
import os
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
RECORDS: list[dict] = []
COLUMNS = ("scenario", "produced", "stored", "lost", "double", "kills", "outage_s", "fuzzed", "crashes", "note")


def scale(name: str, default: float) -> float:
    """Size of a fault scenario: the CI default, or FAULT_<NAME> (bench/reliability.py sets the long run)."""
    return float(os.environ.get(f"FAULT_{name.upper()}", default))


def record(scenario: str, **figures) -> None:
    RECORDS.append({"scenario": scenario, **figures})
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "reliability.json"
    previous = json.loads(path.read_text()) if path.exists() else []
    previous = [r for r in previous if r.get("scenario") != scenario]
    path.write_text(json.dumps(previous + [RECORDS[-1]], ensure_ascii=False, indent=1))


def table(records: list[dict]) -> str:
    rows = [[str(r.get(c, "")) for c in COLUMNS] for r in records]
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(COLUMNS)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([line(COLUMNS), line(["-" * w for w in widths]), *(line(r) for r in rows)])
