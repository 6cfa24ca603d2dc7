"""chronic_problems (weekly): prevention — the place × sector pairs where incidents keep recurring
(default ≥ 3 in 90 days), their trend, and a fair, explained score (sql/queries/chronic_problems.sql):
one report per municipality (HTML + PDF + XLSX, e-mailed to its head like the SLA reports) and one
for the region, plus the dashboard's panel (/api/chronic)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd

from reports.heatmap import SECTOR_RU, ru_date
from reports.render import Section, write_report
from warehouse.queries import named_query

MIN_INCIDENTS = 3
WINDOW_DAYS = 90
TOP_REGION = 30

COLUMNS_RU = {
    "rank": "Место", "municipality": "Муниципалитет", "settlement": "Населённый пункт", "sector_ru": "Отрасль",
    "incidents": "Инцидентов", "recent": "За 30 дней", "trend": "Тренд", "reopened": "Повторно", "score": "Балл",
    "why": "Почему в списке", "example_url": "Последнее обращение",
}


def build(client, day: date, region: str, min_incidents: int = MIN_INCIDENTS, window_days: int = WINDOW_DAYS) -> int:
    """Replace the region-day in report_chronic_problems (as ``artifacts.replace_region_day`` does, with
    the two thresholds as parameters too); return the number of place × sector rows."""
    client.command("DELETE FROM report_chronic_problems WHERE day = {day:Date} AND region = {region:String}",
                   parameters={"day": day, "region": region})
    client.command(named_query("chronic_problems"), parameters={
        "day": day, "region": region, "min_incidents": min_incidents, "window_days": window_days,
        "computed_at": datetime.now(timezone.utc)})
    return len(figures(client, day, region))


def figures(client, day: date, region: str, municipality: str | None = None, limit: int = 1000) -> pd.DataFrame:
    """The region-day's chronic problems (one municipality's when given), highest score first."""
    return client.query_df(
        "SELECT * FROM report_chronic_problems FINAL WHERE day = {d:Date} AND region = {r:String} "
        "AND ({every:Bool} OR municipality = {m:String}) ORDER BY score DESC, incidents DESC, place_key, sector LIMIT {n:UInt32}",
        parameters={"d": day, "r": region, "m": municipality or "", "every": municipality is None, "n": limit})


def municipalities(client, day: date, region: str) -> list[dict[str, str]]:
    rows = client.query("SELECT municipality, any(oktmo) FROM report_chronic_problems FINAL WHERE day = {d:Date} "
                        "AND region = {r:String} AND municipality != '' GROUP BY municipality ORDER BY municipality",
                        parameters={"d": day, "r": region}).result_rows
    return [{"municipality": m, "oktmo": str(o)} for m, o in rows]


def trend_label(recent: int, earlier: int, window_days: int = WINDOW_DAYS) -> str:
    """'растёт' / 'снижается' / 'держится' by the last 30 days against the days before, per 30 days."""
    before = earlier * 30 / max(window_days - 30, 1)
    if recent >= before + 1 and recent >= 1.5 * before:
        return "растёт"
    if recent + 1 <= before and recent <= before / 1.5:
        return "снижается"
    return "держится"


def explain(row) -> str:
    """Why a pair is on the list, in words a municipal head reads."""
    parts = [f"{int(row.incidents)} инцидентов за {WINDOW_DAYS} дней",
             f"{int(row.recent)} за последние 30 дней ({trend_label(int(row.recent), int(row.earlier))})"]
    if row.reopened:
        parts.append(f"{int(row.reopened)} открывались повторно после решения")
    return "; ".join(parts)


def table(rows: pd.DataFrame) -> pd.DataFrame:
    t = rows.reset_index(drop=True).copy()
    t["rank"] = range(1, len(t) + 1)
    t["sector_ru"] = t["sector"].map(SECTOR_RU).fillna(t["sector"])
    t["trend"] = [trend_label(int(r), int(e)) for r, e in zip(t["recent"], t["earlier"])]
    t["why"] = [explain(r) for r in t.itertuples()]
    t["score"] = t["score"].round(1)
    t["settlement"] = t["settlement"].where(t["settlement"] != "", "весь муниципалитет")
    return t[list(COLUMNS_RU)].rename(columns=COLUMNS_RU)


NOTE = ("Пары «место × отрасль», где за {w} дней по {d} включительно было не меньше {n} инцидентов. Балл = инциденты × "
        "тренд × (1 + доля повторно открытых): считаются инциденты, а не сообщения (громкое сообщество не обгоняет тихое), "
        "рост за последние 30 дней и решения, которые не удержались, поднимают пару в списке. Тренд — последние 30 дней "
        "против предыдущих, в пересчёте на 30 дней; множитель от 0,5 до 2.")


@dataclass
class ReportData:
    day: date
    region: str
    municipality: str | None          # None: the region's report
    oktmo: str
    rows: pd.DataFrame


def load(client, day: date, region: str, municipality: str | None = None, oktmo: str = "") -> ReportData:
    return ReportData(day, region, municipality, oktmo,
                      figures(client, day, region, municipality, limit=TOP_REGION if municipality is None else 1000))


def write(data: ReportData, out_dir: Path, min_incidents: int = MIN_INCIDENTS) -> dict[str, Path]:
    """chronic-<oktmo>.html/.pdf/.xlsx (a municipality) or chronic-region.* (the region's top pairs)."""
    where = data.municipality or data.region
    note = NOTE.format(w=WINDOW_DAYS, d=ru_date(data.day), n=min_incidents)
    if data.municipality is None:
        note += f" Показаны {TOP_REGION} пар с наибольшим баллом по региону."
    sections = [Section("Повторяющиеся проблемы", table(data.rows) if len(data.rows) else None,
                        note=note if len(data.rows) else "Повторяющихся проблем за период нет.")]
    name = f"chronic-{data.oktmo or 'unknown'}" if data.municipality else "chronic-region"
    return write_report(out_dir / name, f"Хронические проблемы: {where}", f"{data.region}, неделя по {ru_date(data.day)}", sections)


def deliver(reports: list[tuple[str, dict[str, Path]]], recipients, day: date, send, sender: str) -> int:
    """E-mail each municipal head their report (and the region's to the regional list); messages sent."""
    from reports.delivery import build_message

    sent = 0
    for muni, files in reports:
        to = recipients.regional() if muni is None else recipients.for_municipality(muni)
        if not to:
            continue
        msg = build_message(sender, to, f"Хронические проблемы: {muni or 'регион'}, неделя по {ru_date(day)}",
                            files["html"].read_text(encoding="utf-8"), [files["pdf"], files["xlsx"]])
        send(msg)
        sent += 1
    return sent
