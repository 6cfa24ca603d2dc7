"""A reproducible sample stream for demos and tests (``tsur sample``).

Posts are drawn from the labelled corpus (nlp/corpus), spread over the requested days with a
daily rhythm (quiet nights, busy evenings) and given the metadata shapes of real sources
(VK wall posts, Telegram channel messages, OK group posts, the feedback portal).
"""
from __future__ import annotations

import json
import random
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Iterator

from tsur.config import PROJECT_ROOT

CORPUS_DIR = PROJECT_ROOT / "nlp" / "corpus"
MSK = timezone(timedelta(hours=3))
# Relative activity per hour of day (Moscow time): quiet at night, peaks mid-morning and evening.
HOURLY = [1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 9, 9, 9, 9, 9, 9, 10, 12, 13, 12, 9, 5, 2]
SOURCES = [("vk", 0.55), ("telegram", 0.25), ("ok", 0.12), ("portal", 0.08)]


def load_corpus(directory: Path = CORPUS_DIR) -> list[dict]:
    rows = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def _community(source: str, place: str | None, rng: random.Random) -> tuple[str, str]:
    where = place or rng.choice(["район", "город", "край"])
    names = {
        "vk": [f"Подслушано {where}", f"Типичный {where}", f"{where} | Новости и жалобы", f"Жалобы {where}"],
        "telegram": [f"{where} 24", f"Чат жителей: {where}", f"{where} — что случилось"],
        "ok": [f"Мой {where}", f"Жители {where}"],
        "portal": ["Платформа обратной связи"],
    }[source]
    name = rng.choice(names)
    return str(rng.randrange(10**6, 10**9)), name


def generate(region: str, days: int, seed: int, per_day: int = 300, end: date | None = None) -> Iterator[dict]:
    """Yield posts in our plain JSON schema, in time order."""
    rng = random.Random(seed)
    corpus = load_corpus()
    if not corpus:
        raise FileNotFoundError(f"no labelled corpus found in {CORPUS_DIR}")
    end = end or (datetime.now(MSK).date() - timedelta(days=1))
    start = end - timedelta(days=days - 1)
    communities: dict[tuple[str, str | None], tuple[str, str]] = {}
    counter = 0
    for d in range(days):
        day = start + timedelta(days=d)
        n = int(per_day * (0.8 if day.weekday() >= 5 else 1.0) * rng.uniform(0.85, 1.15))
        stamps = sorted(
            datetime.combine(day, time(h), MSK) + timedelta(seconds=rng.randrange(3600))
            for h in rng.choices(range(24), weights=HOURLY, k=n)
        )
        for ts in stamps:
            item = rng.choice(corpus)
            source = rng.choices([s for s, _ in SOURCES], weights=[w for _, w in SOURCES])[0]
            place = item.get("place")
            ckey = (source, place)
            if ckey not in communities:
                communities[ckey] = _community(source, place, rng)
            cid, cname = communities[ckey]
            counter += 1
            post = {
                "source": source,
                "id": f"{cid}_{counter}",
                "text": item["text"],
                "created_at": ts.isoformat(),
                "author_id": f"id{rng.randrange(10**5, 10**8)}",
                "community_id": cid,
                "community_name": cname,
                "url": f"https://example.invalid/{source}/{cid}/{counter}",
                "region_hint": region,
            }
            if place and item.get("region") == region:
                post["place_hint"] = place
            yield post
