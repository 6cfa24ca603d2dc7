"""heatmap_daily: incidents per H3 cell (resolutions 7 and 8) × sector with a tension index
against the trailing 28-day mean of the same cell and sector; PNG maps per region and per
municipality (approximate municipal polygons as the base layer) and GeoJSON for dashboards."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import h3
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import Normalize  # noqa: E402
from shapely.geometry import Polygon  # noqa: E402

from reports.artifacts import replace_region_day  # noqa: E402

SECTOR_RU = {"all": "все отрасли", "healthcare": "здравоохранение", "education": "образование", "transport": "транспорт",
             "roads": "дороги", "energy": "энергетика", "housing": "ЖКХ", "waste": "ТКО", "social": "соцзащита",
             "landscaping": "благоустройство", "other": "прочее"}
MONTHS = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"]


def ru_date(d: date) -> str:
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def build(client, day: date, region: str) -> int:
    """Replace the region-day in report_heatmap_daily; return the number of cells written."""
    return replace_region_day(client, "report_heatmap_daily", "heatmap_daily", day, region)


def cells(client, day: date, region: str, resolution: int = 8, sector: str = "all") -> pd.DataFrame:
    return client.query_df(
        "SELECT h3, municipality, settlement, incidents, posts, baseline, tension, lat, lon FROM report_heatmap_daily FINAL "
        "WHERE day = {d:Date} AND region = {r:String} AND resolution = {res:UInt8} AND sector = {s:String}",
        parameters={"d": day, "r": region, "res": resolution, "s": sector})


def cell_polygon(cell: str) -> Polygon:
    return Polygon([(lon, lat) for lat, lon in h3.cell_to_boundary(cell)])


def geojson(frame: pd.DataFrame) -> dict:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": cell_polygon(r.h3).__geo_interface__,
         "properties": {"h3": r.h3, "municipality": r.municipality, "settlement": r.settlement, "incidents": int(r.incidents),
                        "posts": int(r.posts), "baseline": round(float(r.baseline), 3), "tension": round(float(r.tension), 3)}}
        for r in frame.itertuples()]}


def render_map(frame: pd.DataFrame, areas, title: str, path: Path, focus=None, top: int = 8) -> Path:
    """A readable map: municipal polygons, H3 cells coloured by tension, labels of the top cells, legend."""
    fig, ax = plt.subplots(figsize=(10, 9), dpi=110)
    base = areas if focus is None else areas[areas["municipality"] == focus]
    areas.plot(ax=ax, color="#f4f4f0", edgecolor="#9a9a9a", linewidth=0.5)
    if focus is not None:
        base.plot(ax=ax, color="#ecebe4", edgecolor="#444444", linewidth=1.2)
    norm = Normalize(vmin=1.0, vmax=max(3.0, float(frame["tension"].max()) if len(frame) else 3.0))
    cmap = plt.get_cmap("YlOrRd")
    for r in frame.itertuples():
        poly = cell_polygon(r.h3)
        x, y = poly.exterior.xy
        ax.fill(x, y, color=cmap(norm(r.tension)), edgecolor="#7a0000", linewidth=0.4, alpha=0.9)
    if len(frame):   # cells are small at region scale: a marker per cell, sized by incidents, coloured by tension
        ax.scatter(frame["lon"], frame["lat"], s=25 + 40 * frame["incidents"].astype(float) ** 0.5, c=frame["tension"],
                   cmap=cmap, norm=norm, edgecolors="#7a0000", linewidths=0.5, alpha=0.85, zorder=3)
    for r in frame.sort_values(["tension", "incidents"], ascending=False).head(top).itertuples():
        ax.annotate(f"{r.settlement or r.municipality}: {r.incidents}", (r.lon, r.lat), xytext=(6, 6), textcoords="offset points",
                    fontsize=8, color="#222222", bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "#999999", "alpha": 0.85})
    minx, miny, maxx, maxy = base.total_bounds
    pad_x, pad_y = (maxx - minx) * 0.04 + 0.01, (maxy - miny) * 0.04 + 0.01
    ax.set_xlim(minx - pad_x, maxx + pad_x)
    ax.set_ylim(miny - pad_y, maxy + pad_y)
    ax.set_aspect(1 / max(0.2, __import__("math").cos(__import__("math").radians((miny + maxy) / 2))))
    ax.set_title(title, fontsize=12)
    ax.set_xlabel("долгота")
    ax.set_ylabel("широта")
    sm = plt.cm.ScalarMappable(norm=norm, cmap=cmap)
    fig.colorbar(sm, ax=ax, shrink=0.6, label="Индекс напряжённости (инциденты за день / средний фон за 28 дней)")
    ax.text(0.01, 0.01, "Границы муниципалитетов приблизительные (по населённым пунктам)", transform=ax.transAxes,
            fontsize=7, color="#666666")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
    return path


def render(client, day: date, region: str, out_dir: Path, areas_source) -> list[tuple[str, Path]]:
    """Region map + GeoJSON, and one map per municipality with incidents; returns (scope, path)."""
    frame = cells(client, day, region, resolution=7)     # region scale: ~5 km² cells
    fine = cells(client, day, region, resolution=8)      # municipality scale: ~0.7 km² cells
    areas = areas_source.region(region)
    files: list[tuple[str, Path]] = []
    title = f"{region}: очаги напряжённости, {ru_date(day)}\n(все отрасли, {int(frame['incidents'].sum()) if len(frame) else 0} инцидентов)"
    files.append(("region", render_map(frame, areas, title, out_dir / "heatmap.png")))
    gj = out_dir / "heatmap.geojson"
    gj.write_text(json.dumps(geojson(fine), ensure_ascii=False), encoding="utf-8")
    files.append(("region", gj))
    for muni, part in fine.groupby("municipality"):
        if not muni or muni not in set(areas["municipality"]):
            continue
        code = str(areas.loc[areas["municipality"] == muni, "municipality_oktmo"].iloc[0])
        files.append((code, render_map(part, areas, f"{muni}: очаги напряжённости, {ru_date(day)}", out_dir / f"heatmap-{code}.png",
                                       focus=muni)))
    return files
