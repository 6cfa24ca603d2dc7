"""The project's labelled corpus (nlp/corpus/*.jsonl, see docs/labelling.md) and its fixed split.

A post belongs to the held-out split when a stable hash of its text falls in the last 20 %:
the split never changes when posts are added, and held-out posts are never used for training."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
SECTORS = ("healthcare", "education", "transport", "roads", "energy", "housing", "waste", "social", "landscaping", "other")
HELDOUT_PERCENT = 20


@dataclass(frozen=True)
class Example:
    text: str
    sector: str
    complaint: bool
    place: str | None = None
    district: str | None = None
    region: str | None = None

    @property
    def heldout(self) -> bool:
        return is_heldout(self.text)


def is_heldout(text: str) -> bool:
    digest = hashlib.sha256(text.strip().encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 >= 100 - HELDOUT_PERCENT


def load(directory: Path = CORPUS_DIR) -> list[Example]:
    out, seen = [], set()
    for path in sorted(directory.glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            d = json.loads(line)
            if d["sector"] not in SECTORS:
                raise ValueError(f"{path.name}:{n}: unknown sector {d['sector']!r}")
            key = d["text"].strip()
            if key in seen:  # exact duplicates would leak between the splits
                continue
            seen.add(key)
            out.append(Example(d["text"], d["sector"], bool(d["complaint"]), d.get("place"), d.get("district"), d.get("region")))
    return out


def split(examples: list[Example]) -> tuple[list[Example], list[Example]]:
    train = [e for e in examples if not e.heldout]
    held = [e for e in examples if e.heldout]
    return train, held
