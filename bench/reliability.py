"""The long reliability run: the fault scenarios of tests/integration/test_faults.py at full size
(100,000 posts and 10 SIGKILLs, 60 s broker and warehouse outages) plus the intake fuzzing, then
the reliability table (kills survived, outage seconds survived, fuzzed inputs, posts lost).

    .venvs/stream/bin/python bench/reliability.py [--posts 100000] [--kills 10] [--outage 60]

CI runs the same tests at a smaller size (20,000 posts, 20 s outages) on every push.
Takes ≈ 15 minutes on a 2-core machine.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=100_000, help="posts streamed while the worker is killed")
    ap.add_argument("--kills", type=int, default=10, help="SIGKILLs at random moments")
    ap.add_argument("--outage", type=float, default=60, help="seconds the broker, then the warehouse, is away")
    args = ap.parse_args()

    from tests.reliability import ARTIFACTS, table

    results = ARTIFACTS / "reliability.json"
    results.unlink(missing_ok=True)
    env = {**os.environ, "FAULT_POSTS": str(args.posts), "FAULT_KILLS": str(args.kills), "FAULT_OUTAGE_S": str(args.outage)}
    t0 = time.monotonic()
    print(f"running the fault scenarios: {args.posts} posts, {args.kills} kills, {args.outage:.0f} s outages …", flush=True)
    rc = subprocess.call([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-s",
                          "tests/integration/test_faults.py", "tests/unit/test_fuzz_intake.py"], cwd=ROOT, env=env)
    records = json.loads(results.read_text()) if results.exists() else []
    print(f"\n== reliability ({time.monotonic() - t0:.0f} s, pytest exit {rc})")
    print(table(records) if records else "no scenario finished")
    lost = sum(int(r.get("lost") or 0) for r in records)
    print(f"posts lost in total: {lost}")
    return rc or (1 if lost else 0)


if __name__ == "__main__":
    sys.exit(main())
