"""sla_daily: per municipality and responsible body — received, answered on time / late, overdue
now, median and p90 time to first answer and to resolution, share within deadline, week-over-week
change, the share of resolved incidents reopened because complaints continued and the median time
to a lasting resolution (docs/quality-control.md), the oldest overdue incidents with links.
HTML + PDF + XLSX per municipality, e-mailed to its head (recipients from a config file)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from reports.artifacts import replace_region_day
from reports.heatmap import SECTOR_RU, ru_date
from reports.render import Section, write_report

COLUMNS_RU = {
    "responsible_body": "Ответственный орган", "received": "Поступило", "answered_on_time": "Ответ в срок",
    "answered_late": "Ответ с опозданием", "overdue_now": "Просрочено сейчас", "resolved": "Решено",
    "median_first_answer_h": "Медиана до ответа, ч", "p90_first_answer_h": "P90 до ответа, ч",
    "median_resolution_h": "Медиана до решения, ч", "p90_resolution_h": "P90 до решения, ч",
    "within_deadline_share": "В срок, %", "change": "Изменение к прошлой неделе, п.п.",
    "reopened_share": "Повторно открыто, %", "median_lasting_resolution_h": "Медиана до устойчивого решения, ч",
}


def build(client, day: date, region: str) -> int:
    """Replace the region-day in report_sla_daily and report_sla_overdue (the oldest overdue incidents
    per municipality); return the number of report_sla_daily rows written."""
    replace_region_day(client, "report_sla_overdue", "sla_overdue", day, region)
    return replace_region_day(client, "report_sla_daily", "sla_daily", day, region)


def figures(client, day: date, region: str, municipality: str | None = None) -> pd.DataFrame:
    """The region-day's rows of report_sla_daily (one municipality's when given)."""
    return client.query_df("SELECT * FROM report_sla_daily FINAL WHERE day = {d:Date} AND region = {r:String} "
                           "AND ({every:Bool} OR municipality = {m:String}) ORDER BY municipality, received DESC",
                           parameters={"d": day, "r": region, "m": municipality or "", "every": municipality is None})


def municipalities(client, day: date, region: str) -> list[dict[str, str]]:
    """The municipalities with figures for the region-day: [{"municipality", "oktmo"}] (one report each)."""
    rows = client.query("SELECT municipality, any(oktmo) FROM report_sla_daily FINAL WHERE day = {d:Date} AND region = {r:String} "
                        "AND municipality != '' GROUP BY municipality ORDER BY municipality",
                        parameters={"d": day, "r": region}).result_rows
    return [{"municipality": m, "oktmo": str(o)} for m, o in rows]


def oldest_overdue(client, day: date, region: str, municipality: str, limit: int = 15) -> pd.DataFrame:
    """The municipality's oldest incidents without a first answer past its deadline at the end of the
    day (report_sla_overdue, written by build)."""
    return client.query_df(
        "SELECT first_seen, settlement, sector, title, responsible_body, first_answer_due, source_url "
        "FROM report_sla_overdue FINAL WHERE day = {d:Date} AND region = {r:String} AND municipality = {m:String} "
        "ORDER BY first_seen, incident_id LIMIT {n:UInt32}",
        parameters={"r": region, "m": municipality, "d": day, "n": limit})


@dataclass
class MunicipalityData:
    """What one municipality's report shows, read from the warehouse (load); writing it needs no client."""

    day: date
    region: str
    municipality: str
    oktmo: str
    rows: pd.DataFrame      # report_sla_daily, one row per responsible body
    overdue: pd.DataFrame   # the oldest overdue incidents


def load(client, day: date, region: str, municipality: str, oktmo: str) -> MunicipalityData:
    return MunicipalityData(day, region, municipality, oktmo, figures(client, day, region, municipality),
                            oldest_overdue(client, day, region, municipality))


def _table(rows: pd.DataFrame) -> pd.DataFrame:
    t = rows.copy()
    t["within_deadline_share"] = (t["within_deadline_share"] * 100).round(1)
    t["change"] = ((rows["within_deadline_share"] - rows["within_deadline_share_prev"]) * 100).round(1)
    # quality control: of the incidents marked resolved, the share reopened because complaints continued
    t["reopened_share"] = (rows["reopened"] / rows["resolved_once"].where(rows["resolved_once"] > 0) * 100).round(1)
    return t[list(COLUMNS_RU)].rename(columns=COLUMNS_RU)


def write(data: MunicipalityData, out_dir: Path) -> dict[str, Path]:
    """The municipality's report as sla-<oktmo>.html/.pdf/.xlsx in ``out_dir``; {format: path}."""
    rows, day = data.rows, data.day
    total = rows[["received", "answered_on_time", "answered_late", "overdue_now", "resolved"]].sum()
    judged = total["answered_on_time"] + total["answered_late"] + total["overdue_now"]
    share = f"{100 * total['answered_on_time'] / judged:.1f} %".replace(".", ",") if judged else "—"
    overdue = data.overdue.copy()
    if len(overdue):
        overdue["sector"] = overdue["sector"].map(SECTOR_RU).fillna(overdue["sector"])
    overdue = overdue.rename(columns={
        "first_seen": "Поступило", "settlement": "Населённый пункт", "sector": "Отрасль", "title": "Суть обращения",
        "responsible_body": "Ответственный", "first_answer_due": "Срок ответа", "source_url": "Ссылка"})
    sections = [
        Section("Сводка по ответственным органам", _table(rows),
                note=f"За 7 дней по {ru_date(day)} включительно поступило {int(total['received'])} инцидентов; ответ в срок — {share}; "
                     f"просрочено сейчас — {int(total['overdue_now'])}. Время — по Москве."),
        Section("Самые давние просроченные обращения", overdue if len(overdue) else None,
                note="" if len(overdue) else "Просроченных обращений нет."),
    ]
    return write_report(out_dir / f"sla-{data.oktmo or 'unknown'}", f"Отчёт об обработке обращений: {data.municipality}",
                        f"{data.region}, {ru_date(day)}", sections)


def render(client, day: date, region: str, out_dir: Path) -> list[tuple[str, str, dict[str, Path]]]:
    """(municipality, oktmo, files) for every municipality with figures, one after another (the DAG
    maps the same load + write over municipalities as parallel tasks)."""
    return [(m["municipality"], m["oktmo"], write(load(client, day, region, **m), out_dir))
            for m in municipalities(client, day, region)]


def deliver(reports: list[tuple[str, str, dict[str, Path]]], recipients, day: date, region: str, send, sender: str) -> int:
    """E-mail each municipal head their report; returns the number of messages sent."""
    from reports.delivery import build_message

    sent = 0
    for muni, _, files in reports:
        to = recipients.for_municipality(muni)
        if not to:
            continue
        html = files["html"].read_text(encoding="utf-8")
        msg = build_message(sender, to, f"Отчёт об обработке обращений: {muni}, {ru_date(day)}", html,
                            [files["pdf"], files["xlsx"]])
        send(msg)
        sent += 1
    return sent
