"""resident_concerns (daily) and resident_concerns_weekly: what worries residents — for the period
(1 or 7 Moscow days ending on the day) against the 28 days before it:

- the top subtopics of complaints (the topic inventory, nlp/subtopics.py) and how they moved;
- words and phrases on the rise: for each content lemma and pair of adjacent lemmas, the posts of
  the period that use it (``now``) against what the previous four weeks lead to expect for a period
  this long (``expected`` = posts then × period / 28); listed when ``now`` ≥ MIN_POSTS and
  now ≥ 2 × (expected + 1), ranked by (now − expected) / √(expected + 1) — how many standard
  deviations of a Poisson count above the expectation;
- the most discussed incidents (posts in the period);
- complaints per 10,000 residents per municipality (population from the gazetteer).

HTML + PDF + XLSX for the region, listed in published_reports (docs/quality-control.md)."""
from __future__ import annotations

import math
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from nlp.features import analyse
from nlp.text import GENERIC_WORDS, fold
from reports.heatmap import SECTOR_RU, ru_date
from reports.render import Section, write_report
from warehouse.queries import named_query

BEFORE_DAYS = 28
MIN_POSTS = 5
TOP = 15
_GENERIC = GENERIC_WORDS | {"здравствуйте", "добрый", "пожалуйста", "просить", "спасибо", "уважаемый"}


def posts(client, day: date, region: str, days: int) -> pd.DataFrame:
    """Complaint posts of the period and the 28 days before it: post_id, d, sector, municipality,
    incident_id, text, and ``now`` (in the period)."""
    df = client.query_df(named_query("concerns_posts"), parameters={"region": region, "day": day, "days": days})
    if df.empty:
        return pd.DataFrame(columns=["post_id", "d", "sector", "municipality", "incident_id", "text", "now"])
    df["d"] = pd.to_datetime(df["d"]).dt.date
    df["now"] = df["d"] > day - timedelta(days=days)
    return df


def terms(text: str) -> set[str]:
    """Content lemmas of a post and the pairs of adjacent ones ('горячий вода')."""
    seq = [forms[0] for forms in analyse(fold(text[:5000]))]
    seq = [w for w in seq if len(w) > 2 and not w.isdigit() and w not in _GENERIC]
    return set(seq) | {f"{a} {b}" for a, b in zip(seq, seq[1:]) if a != b}


def rising(df: pd.DataFrame, days: int, min_posts: int = MIN_POSTS, top: int = 20) -> pd.DataFrame:
    """Words and phrases used in more posts of the period than the four weeks before lead to expect."""
    now, before = Counter(), Counter()
    for text, in_period in zip(df["text"], df["now"]):
        (now if in_period else before).update(terms(text))
    rows = []
    for term, n in now.items():
        expected = before.get(term, 0) * days / BEFORE_DAYS
        if n >= min_posts and n >= 2 * (expected + 1):
            rows.append((term, n, round(expected, 1), (n - expected) / math.sqrt(expected + 1)))
    out = pd.DataFrame(rows, columns=["term", "now", "expected", "z"])
    if out.empty:
        return out
    # a word that rose only inside a listed pair ('горячий вода' and 'горячий') is shown once, as the pair
    pairs = {t: n for t, n in zip(out["term"], out["now"]) if " " in t}
    inside = [" " not in t and any(t in p.split() and pn >= 0.8 * n for p, pn in pairs.items())
              for t, n in zip(out["term"], out["now"])]
    out = out[[not x for x in inside]]
    return out.sort_values(["z", "now", "term"], ascending=[False, False, True]).head(top).reset_index(drop=True)


def subtopics(df: pd.DataFrame, days: int, matcher=None) -> pd.DataFrame:
    """Complaints of the period per (sector, subtopic) with the same period's mean over the weeks before."""
    if matcher is None:
        from nlp.subtopics import Subtopics

        matcher = Subtopics.load()
    keys = []
    for text, sector in zip(df["text"], df["sector"]):
        sub = matcher.match(text, sector)
        keys.append(sub.title if sub else "другое")
    t = df.assign(subtopic=keys)
    now = t[t["now"]].groupby(["sector", "subtopic"]).size().rename("now")
    before = t[~t["now"]].groupby(["sector", "subtopic"]).size().rename("before")
    out = pd.concat([now, before], axis=1).fillna(0).reset_index()
    out["expected"] = (out["before"] * days / BEFORE_DAYS).round(1)
    out = out[out["now"] > 0].sort_values(["now", "expected"], ascending=[False, True]).head(TOP)
    return out.astype({"now": int})


def per_10k(df: pd.DataFrame, region: str, population: pd.Series | None = None) -> pd.DataFrame:
    """Complaints of the period per municipality per 10,000 residents (the gazetteer's population)."""
    if population is None:
        from geo.gazetteer import Gazetteer

        t = Gazetteer.load().table
        population = t[t["region"] == region].groupby("municipality")["population"].sum()
    counts = df[df["now"] & (df["municipality"] != "")].groupby("municipality").size().rename("complaints")
    out = pd.concat([counts, population.rename("population")], axis=1, join="inner").reset_index()
    out = out[out["population"] > 0]
    out["per_10k"] = (out["complaints"] / out["population"] * 10_000).round(2)
    return out.sort_values(["per_10k", "complaints"], ascending=False).rename(columns={"index": "municipality"})


def discussed(client, df: pd.DataFrame, top: int = 10) -> pd.DataFrame:
    counts = df[df["now"] & (df["incident_id"] != "")].groupby("incident_id").size().rename("posts").reset_index()
    counts = counts.sort_values(["posts", "incident_id"], ascending=[False, True]).head(top)
    if counts.empty:
        return counts
    info = client.query_df(named_query("concerns_incidents"), parameters={"ids": list(counts["incident_id"])})
    return counts.merge(info, on="incident_id", how="left")


def build_report(client, day: date, region: str, out_dir: Path, days: int = 1) -> dict[str, Path]:
    df = posts(client, day, region, days)
    label = "за сутки" if days == 1 else f"за {days} дней"
    n_now, history = int(df["now"].sum()), int((~df["now"]).sum())
    subs = subtopics(df, days) if len(df) else pd.DataFrame()
    rise = rising(df, days) if history else pd.DataFrame()      # nothing to compare with: no list
    top_inc = discussed(client, df)
    dens = per_10k(df, region)

    def ratio(r) -> str:
        return f"в {(r.now + 1) / (r.expected + 1):.1f} раза чаще обычного".replace(".", ",")

    sections = [
        Section("Главные темы", None if subs.empty else pd.DataFrame({
            "Отрасль": subs["sector"].map(SECTOR_RU).fillna(subs["sector"]), "Тема": subs["subtopic"],
            f"Жалоб {label}": subs["now"], "Обычно за такой срок": subs["expected"]}),
            note=f"{n_now} жалоб {label}. «Обычно» — среднее за такой же срок по предыдущим {BEFORE_DAYS} дням. Темы — по "
                 "перечню подтем отраслей (рубрикатор ПОС «Госуслуги. Решаем вместе» и тематические группы ЦУР)."),
        Section("Растущие слова и фразы", None if rise.empty else pd.DataFrame({
            "Слово или фраза": rise["term"], f"Постов {label}": rise["now"], "Ожидалось": rise["expected"],
            "Почему": [ratio(r) for r in rise.itertuples()], "Отклонение, σ": rise["z"].round(1)}),
            note=f"Слово или фраза попадает в список, если встретилась не меньше чем в {MIN_POSTS} жалобах {label} и хотя бы "
                 f"вдвое чаще, чем ожидалось по {BEFORE_DAYS} предыдущим дням; порядок — по отклонению от ожидания в "
                 "стандартных отклонениях пуассоновского счёта, (наблюдалось − ожидалось) / √(ожидалось + 1)."
                 if not rise.empty else "Растущих слов нет: ничто не встречалось заметно чаще обычного." if history
                 else f"Жалоб за предыдущие {BEFORE_DAYS} дней нет: сравнивать не с чем."),
        Section("Самые обсуждаемые инциденты", None if top_inc.empty else pd.DataFrame({
            "Муниципалитет": top_inc["municipality"], "Населённый пункт": top_inc["settlement"],
            "Отрасль": top_inc["sector"].map(SECTOR_RU).fillna(top_inc["sector"]), "Суть": top_inc["title"],
            f"Сообщений {label}": top_inc["posts"], "Ссылка": top_inc["source_url"]}),
            note="" if not top_inc.empty else "Инцидентов за период нет."),
        Section("Жалобы на 10 000 жителей", None if dens.empty else pd.DataFrame({
            "Муниципалитет": dens["municipality"], f"Жалоб {label}": dens["complaints"], "Население": dens["population"],
            "На 10 000 жителей": dens["per_10k"]}),
            note="Население — сумма населённых пунктов муниципалитета в справочнике (gazetteer); сравнение долей, "
                 "а не количеств, чтобы крупные города не заслоняли малые."),
    ]
    name = "concerns" if days == 1 else f"concerns-{days}d"
    return write_report(out_dir / name, f"Что волнует жителей: {region}", f"{ru_date(day)}, {label}", sections)
