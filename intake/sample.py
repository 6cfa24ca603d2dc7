"""A reproducible, realistic sample stream for demos, tests and benchmarks (``tsur sample``).

- texts: the labelled corpus phrasing (complaints without a place of their own, plus ~15 %
  noise: ads, news, thanks), with the place woven in the way people write it ('Южный, …',
  '… в посёлке Южном', '… (х. Красный)') or left to the community's home place;
- places: settlements of the region drawn by population^0.6 across all its municipalities;
- sources: VK community / Telegram channel / OK group / feedback-portal metadata shapes, with the
  community named after its home settlement ('Подслушано Усть-Лабинск');
- time: daily rhythm (quiet nights, evening peak), fewer posts at weekends;
- bursts: by default 'no water' in посёлок Южный, Усть-Лабинский район (Краснодарский край),
  for three days, or in a mid-size settlement of another region.
"""
from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Iterator

from tsur.config import PROJECT_ROOT

CORPUS_DIR = PROJECT_ROOT / "nlp" / "corpus"
MSK = timezone(timedelta(hours=3))
HOURLY = [1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 9, 9, 9, 9, 9, 9, 10, 12, 13, 12, 9, 5, 2]
SOURCES = [("vk", 0.55), ("telegram", 0.25), ("ok", 0.12), ("portal", 0.08)]
TYPE_WORD = {"г": ("город", "городе"), "п": ("посёлок", "посёлке"), "пгт": ("посёлок", "посёлке"), "с": ("село", "селе"),
             "х": ("хутор", "хуторе"), "ст-ца": ("станица", "станице"), "д": ("деревня", "деревне"), "аул": ("аул", "ауле")}
ABBR = {"г": "г.", "п": "пос.", "пгт": "пгт", "с": "с.", "х": "х.", "ст-ца": "ст-ца", "д": "д.", "аул": "аул"}


@dataclass(frozen=True)
class Burst:
    settlement: str
    municipality: str
    days: int = 3
    per_day: int = 25
    sector: str = "housing"
    keyword: str = "вод"


DEFAULT_BURSTS = {"Краснодарский край": Burst("Южный", "Усть-Лабинский район")}


def load_corpus() -> list[dict]:
    rows = []
    for path in sorted(CORPUS_DIR.glob("*.jsonl")):
        rows.extend(json.loads(l) for l in path.read_text(encoding="utf-8").splitlines() if l.strip())
    return rows


@lru_cache(maxsize=4096)
def locative(name: str) -> str:
    """'Южный' → 'Южном', 'Каменск-Шахтинский' → 'Каменске-Шахтинском', 'Усть-Лабинск' → 'Усть-Лабинске'."""
    from nlp.text import _MORPH

    def one(word: str) -> str:
        if len(word) <= 4:
            return word
        p = _MORPH.parse(word.lower())[0]
        f = p.inflect({"loct"})
        w = f.word if f else word.lower()
        return w[:1].upper() + w[1:] if word[:1].isupper() else w

    return " ".join("-".join(one(part) for part in w.split("-")) for w in name.split())


def _weave(text: str, name: str, type_code: str, rng: random.Random) -> str:
    word, word_loc = TYPE_WORD.get(type_code, ("", ""))
    body = text[:1].lower() + text[1:] if text[:1].isupper() and not text[:2].isupper() else text
    style = rng.random()
    if style < 0.3:
        return f"{name}, {body}" if rng.random() < 0.5 else f"{name}. {text}"
    if style < 0.6 and word_loc:
        return f"В {word_loc} {locative(name)} {body}" if type_code != "г" else f"В {locative(name)} {body}"
    if style < 0.8:
        return f"{text} ({ABBR.get(type_code, '')} {name})".replace("( ", "(")
    return f"{text} #{name.replace(' ', '').replace('-', '')}"


def generate(region: str, days: int, seed: int, per_day: int = 300, end: date | None = None,
             bursts: list[Burst] | None = None) -> Iterator[dict]:
    """Yield posts in our plain JSON schema, in time order."""
    from geo.gazetteer import Gazetteer

    rng = random.Random(seed)
    corpus = load_corpus()
    placeless = [r for r in corpus if r["complaint"] and not r.get("place")]
    noise = [r for r in corpus if not r["complaint"]]
    if not placeless:
        raise FileNotFoundError(f"no labelled corpus found in {CORPUS_DIR}")
    t = Gazetteer.load().table
    towns = t[(t["region"] == region) & (t["population"] > 0)]
    if towns.empty:
        raise ValueError(f"no settlements for region {region!r}; use a region name as in the gazetteer, e.g. 'Краснодарский край'")
    names, types, munis = towns["name"].tolist(), towns["type"].tolist(), towns["municipality"].tolist()
    weights = (towns["population"].astype(float) ** 0.6).tolist()
    repeated = {n for n, c in Counter(names).items() if c > 1}
    bursts = DEFAULT_BURSTS.get(region) and [DEFAULT_BURSTS[region]] if bursts is None else bursts
    bursts = [b for b in (bursts or []) if any(n == b.settlement and m == b.municipality for n, m in zip(names, munis))]
    burst_texts = {b: [r["text"] for r in placeless if r["sector"] == b.sector and b.keyword in r["text"].lower()] or
                   [r["text"] for r in placeless if r["sector"] == b.sector] for b in bursts}

    end = end or (datetime.now(MSK).date() - timedelta(days=1))
    start = end - timedelta(days=days - 1)
    communities: dict[tuple[str, str], tuple[str, str]] = {}
    counter = 0

    def community(source: str, place: str) -> tuple[str, str]:
        key = (source, place)
        if key not in communities:
            name = rng.choice({
                "vk": [f"Подслушано {place}", f"Типичный {place}", f"{place} | Новости и жалобы", f"Жалобы {place}"],
                "telegram": [f"{place} 24", f"Чат жителей: {place}", f"{place} — что случилось"],
                "ok": [f"Мой {place}", f"Жители {place}"],
                "portal": ["Платформа обратной связи"],
            }[source])
            communities[key] = (str(rng.randrange(10**6, 10**9)), name)
        return communities[key]

    def post(ts: datetime, text: str, place_i: int, mention: bool) -> dict:
        nonlocal counter
        counter += 1
        source = rng.choices([s for s, _ in SOURCES], weights=[w for _, w in SOURCES])[0]
        home = names[place_i]
        cid, cname = community(source, home)
        body = _weave(text, names[place_i], types[place_i], rng) if mention else text
        item = {"source": source, "id": f"{cid}_{counter}", "text": body, "created_at": ts.isoformat(),
                "author_id": f"id{rng.randrange(10**5, 10**8)}", "community_id": cid, "community_name": cname,
                "url": f"https://example.invalid/{source}/{cid}/{counter}", "region_hint": region}
        if source != "portal":   # the community's home place, qualified when its name repeats in the region
            item["place_hint"] = f"{home}, {munis[place_i]}" if home in repeated else home
        return item

    out = []
    for d in range(days):
        day = start + timedelta(days=d)
        n = int(per_day * (0.8 if day.weekday() >= 5 else 1.0) * rng.uniform(0.85, 1.15))
        for _ in range(n):
            ts = datetime.combine(day, time(rng.choices(range(24), weights=HOURLY)[0]), MSK) + timedelta(seconds=rng.randrange(3600))
            is_noise = rng.random() < 0.15
            text = rng.choice(noise if is_noise else placeless)["text"]
            out.append(post(ts, text, rng.choices(range(len(names)), weights=weights)[0], rng.random() < 0.6))
        for b in bursts:
            if d >= days - b.days - 1 and d < days - 1 or (days <= b.days and d < days):
                i = next(k for k, (n_, m_) in enumerate(zip(names, munis)) if n_ == b.settlement and m_ == b.municipality)
                for _ in range(int(b.per_day * rng.uniform(0.8, 1.2))):
                    ts = datetime.combine(day, time(rng.randrange(7, 23)), MSK) + timedelta(seconds=rng.randrange(3600))
                    out.append(post(ts, rng.choice(burst_texts[b]), i, rng.random() < 0.8))
    out.sort(key=lambda p: p["created_at"])
    yield from out
