"""regional_rollup (daily and weekly): the municipal centres (МЦУ) rolled up to the regional
centre (ЦУР): totals by sector, SLA compliance by municipality with fair rankings (only above a
minimum volume, by rate not count, ranked by the lower bound of the 95 % Wilson interval, the
interval shown), trend lines, and the region's heat map. HTML + PDF."""
from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from reports.heatmap import SECTOR_RU, ru_date  # noqa: E402
from reports.quality import DataQualityError  # noqa: E402
from reports.render import Section, write_report  # noqa: E402

MIN_VOLUME = 10


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion k/n."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def ranking(sla: pd.DataFrame, min_volume: int = MIN_VOLUME) -> pd.DataFrame:
    """One row per municipality: volume, rate within deadline, its interval, rank (or none below the minimum)."""
    g = sla.groupby("municipality", as_index=False)[["received", "answered_on_time", "answered_late", "overdue_now"]].sum()
    g["judged"] = g["answered_on_time"] + g["answered_late"] + g["overdue_now"]
    g["rate"] = g.apply(lambda r: r.answered_on_time / r.judged if r.judged else float("nan"), axis=1)
    bounds = g.apply(lambda r: wilson(int(r.answered_on_time), int(r.judged)), axis=1)
    g["low"], g["high"] = [b[0] for b in bounds], [b[1] for b in bounds]
    ranked = g[g["judged"] >= min_volume].sort_values(["low", "rate"], ascending=False)
    g["rank"] = pd.NA
    g.loc[ranked.index, "rank"] = range(1, len(ranked) + 1)
    return g.sort_values(["rank", "judged"], ascending=[True, False], na_position="last")


def sector_totals(client, day: date, region: str, days: int) -> pd.DataFrame:
    return client.query_df(
        "SELECT sector, countIf(toDate(first_seen, 'Europe/Moscow') > {d:Date} - {n:UInt16}) AS now_, "
        "countIf(toDate(first_seen, 'Europe/Moscow') <= {d:Date} - {n:UInt16}) AS prev_ FROM incident_current "
        "WHERE region = {r:String} AND toDate(first_seen, 'Europe/Moscow') BETWEEN {d:Date} - 2 * {n:UInt16} + 1 AND {d:Date} "
        "GROUP BY sector ORDER BY now_ DESC", parameters={"d": day, "r": region, "n": days})


def trend(client, day: date, region: str, days: int = 28) -> pd.DataFrame:
    return client.query_df(
        "SELECT toDate(first_seen, 'Europe/Moscow') AS d, sector, count() AS n FROM incident_current "
        "WHERE region = {r:String} AND toDate(first_seen, 'Europe/Moscow') BETWEEN {d0:Date} AND {d:Date} GROUP BY d, sector ORDER BY d",
        parameters={"r": region, "d": day, "d0": day - timedelta(days=days - 1)})


def build_report(client, day: date, region: str, out_dir: Path, period_days: int = 1) -> dict[str, Path]:
    sla = client.query_df("SELECT * FROM report_sla_daily FINAL WHERE day = {d:Date} AND region = {r:String}",
                          parameters={"d": day, "r": region})
    if sla.empty:
        raise DataQualityError(f"{region} {day}: report_sla_daily has no rows; run sla_daily for this day first")
    label = "за сутки" if period_days == 1 else f"за {period_days} дней"
    totals = sector_totals(client, day, region, period_days)
    totals["Отрасль"] = totals["sector"].map(SECTOR_RU).fillna(totals["sector"])
    totals = totals.rename(columns={"now_": f"Инцидентов {label}", "prev_": "За предыдущий период"})
    fig1, ax = plt.subplots(figsize=(8, 4))
    ax.barh(totals["Отрасль"][::-1], totals[f"Инцидентов {label}"][::-1], color="#c0392b")
    ax.set_xlabel("инцидентов")
    ax.set_title(f"Инциденты по отраслям {label}")
    fig1.tight_layout()

    rank = ranking(sla)
    table = pd.DataFrame({
        "Место": rank["rank"], "Муниципалитет": rank["municipality"], "Обращений (7 дней)": rank["judged"],
        "Ответ в срок, %": (rank["rate"] * 100).round(1),
        "95 % интервал, %": [f"{100 * lo:.0f}–{100 * hi:.0f}" for lo, hi in zip(rank["low"], rank["high"])],
        "Просрочено сейчас": rank["overdue_now"],
    })
    tr = trend(client, day, region)
    fig2, ax2 = plt.subplots(figsize=(9, 4))
    if not tr.empty:
        for sector, part in tr.groupby("sector"):
            ax2.plot(part["d"], part["n"], marker=".", label=SECTOR_RU.get(sector, sector))
        ax2.legend(fontsize=7, ncol=2)
    ax2.set_title("Инциденты по дням за 28 дней")
    ax2.set_ylabel("инцидентов в день")
    fig2.autofmt_xdate()
    fig2.tight_layout()
    heatmap = out_dir / "heatmap.png"
    sections = [
        Section("Итоги по отраслям", totals[["Отрасль", f"Инцидентов {label}", "За предыдущий период"]], figure=fig1),
        Section("Соблюдение сроков по муниципалитетам", table,
                note=f"Места — только для муниципалитетов не менее чем с {MIN_VOLUME} обращениями за 7 дней; сравниваются доли, "
                     "а не количества; порядок — по нижней границе 95 % интервала Уилсона, чтобы малые выборки не выигрывали случайно."),
        Section("Динамика", None, figure=fig2),
        Section("Тепловая карта региона", None, image=heatmap if heatmap.exists() else None,
                note="" if heatmap.exists() else "Карта за этот день ещё не построена (DAG heatmap_daily)."),
    ]
    name = "rollup" if period_days == 1 else f"rollup-{period_days}d"
    files = write_report(out_dir / name, f"Сводка ЦУР: {region}", f"{ru_date(day)}, {label}", sections, formats=("html", "pdf"))
    plt.close(fig1)
    plt.close(fig2)
    return files
