"""Benchmark: the missing-person detector (nlp/missing_person.py) on the hand-written labelled sets
(nlp/corpus/missing_person: dev, used while writing the rules, and heldout, not), precision and
recall per set, the errors by kind, and its speed on ordinary posts (the labelled corpus).

    .venvs/stream/bin/python bench/missing_person.py [--errors] [--posts 20000]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nlp.missing_person import detect  # noqa: E402

SETS = ROOT / "nlp" / "corpus" / "missing_person"


def score(name: str, show_errors: bool) -> None:
    rows = [json.loads(line) for line in (SETS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    tp = fp = fn = tn = 0
    wrong = Counter()
    for row in rows:
        hit = detect(row["text"])
        gold = bool(row["missing_person"])
        if hit and gold:
            tp += 1
        elif hit:
            fp += 1
            wrong[f"false alarm: {row['kind']}"] += 1
        elif gold:
            fn += 1
            wrong[f"missed: {row['kind']}"] += 1
        else:
            tn += 1
        if show_errors and bool(hit) != gold:
            print(f"  [{'FP' if hit else 'FN'} {row['kind']}] {hit.evidence if hit else ''} | {row['text'][:160]!r}")
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    print(f"{name:8s} n={len(rows):4d}  positives={tp + fn:3d}  precision {p:.3f}  recall {r:.3f}  F1 {f1:.3f}  "
          f"(tp {tp}, fp {fp}, fn {fn}, tn {tn})")
    for what, n in sorted(wrong.items()):
        print(f"           {n:3d}  {what}")


def speed(posts: int) -> None:
    from nlp import corpus

    texts = [p.text for p in corpus.load()][:posts]
    t0 = time.perf_counter()
    hits = sum(1 for t in texts if detect(t))
    dt = time.perf_counter() - t0
    print(f"speed: {len(texts)} corpus posts in {dt:.3f} s = {len(texts) / dt:,.0f} posts/s on one core; "
          f"{hits} flagged ({hits / len(texts):.2%} of the corpus)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--errors", action="store_true", help="print every wrong decision")
    ap.add_argument("--posts", type=int, default=20000, help="corpus posts for the speed measurement")
    args = ap.parse_args()
    for name in ("dev", "heldout"):
        score(name, args.errors)
    speed(args.posts)


if __name__ == "__main__":
    main()
