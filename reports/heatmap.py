"""heatmap_daily: incidents per H3 cell (resolutions 7 and 8) × sector with a tension index
against the trailing 28-day mean of the same cell and sector; PNG maps per region and per
municipality (approximate municipal polygons as the base layer) and GeoJSON for dashboards."""
from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path

import h3
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.collections import PatchCollection, PolyCollection  # noqa: E402
from matplotlib.colors import Normalize  # noqa: E402
from matplotlib.patches import PathPatch  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402
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


def cells(client, day: date, region: str, resolution: int = 8, sector: str = "all", municipality: str | None = None) -> pd.DataFrame:
    return client.query_df(
        "SELECT h3, municipality, settlement, incidents, posts, baseline, tension, lat, lon FROM report_heatmap_daily FINAL "
        "WHERE day = {d:Date} AND region = {r:String} AND resolution = {res:UInt8} AND sector = {s:String} "
        "AND ({every:Bool} OR municipality = {m:String})",
        parameters={"d": day, "r": region, "res": resolution, "s": sector, "m": municipality or "", "every": municipality is None})


def cell_polygon(cell: str) -> Polygon:
    return Polygon([(lon, lat) for lat, lon in h3.cell_to_boundary(cell)])


def geojson(frame: pd.DataFrame) -> dict:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": cell_polygon(r.h3).__geo_interface__,
         "properties": {"h3": r.h3, "municipality": r.municipality, "settlement": r.settlement, "incidents": int(r.incidents),
                        "posts": int(r.posts), "baseline": round(float(r.baseline), 3), "tension": round(float(r.tension), 3)}}
        for r in frame.itertuples()]}


def _shape_patches(geoms) -> list[PathPatch]:
    """Matplotlib patches of (multi)polygons, holes kept; drawn straight onto the axes (geopandas'
    plot() redraws the whole figure twice per call, which is most of a small map's time)."""
    patches = []
    for geom in geoms:
        for poly in getattr(geom, "geoms", [geom]):
            rings = [np.asarray(ring.coords)[:, :2] for ring in (poly.exterior, *poly.interiors)]
            codes = np.concatenate([[MplPath.MOVETO] + [MplPath.LINETO] * (len(r) - 2) + [MplPath.CLOSEPOLY] for r in rings])
            patches.append(PathPatch(MplPath(np.concatenate(rings), codes)))
    return patches


def render_map(frame: pd.DataFrame, areas, title: str, path: Path, focus=None, top: int = 8) -> Path:
    """A readable map: municipal polygons, H3 cells coloured by tension, labels of the top cells, legend.
    The layout is fixed, so the figure is drawn once, by savefig."""
    fig = plt.figure(figsize=(10, 9), dpi=110)
    ax = fig.add_axes((0.08, 0.06, 0.74, 0.86))
    cax = fig.add_axes((0.86, 0.25, 0.025, 0.5))
    base = areas if focus is None else areas[areas["municipality"] == focus]
    ax.add_collection(PatchCollection(_shape_patches(areas.geometry), facecolor="#f4f4f0", edgecolor="#9a9a9a", linewidth=0.5))
    if focus is not None:
        ax.add_collection(PatchCollection(_shape_patches(base.geometry), facecolor="#ecebe4", edgecolor="#444444", linewidth=1.2))
    norm = Normalize(vmin=1.0, vmax=max(3.0, float(frame["tension"].max()) if len(frame) else 3.0))
    cmap = plt.get_cmap("YlOrRd")
    if len(frame):
        hexes = [np.asarray(cell_polygon(c).exterior.coords) for c in frame["h3"]]
        ax.add_collection(PolyCollection(hexes, facecolors=cmap(norm(frame["tension"].astype(float).to_numpy())),
                                         edgecolors="#7a0000", linewidths=0.4, alpha=0.9, zorder=2))
        # cells are small at region scale: a marker per cell, sized by incidents, coloured by tension
        ax.scatter(frame["lon"], frame["lat"], s=25 + 40 * frame["incidents"].astype(float) ** 0.5, c=frame["tension"],
                   cmap=cmap, norm=norm, edgecolors="#7a0000", linewidths=0.5, alpha=0.85, zorder=3)
    for r in frame.sort_values(["tension", "incidents"], ascending=False).head(top).itertuples():
        ax.annotate(f"{r.settlement or r.municipality}: {r.incidents}", (r.lon, r.lat), xytext=(6, 6), textcoords="offset points",
                    fontsize=8, color="#222222", zorder=4,
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "#999999", "alpha": 0.85})
    minx, miny, maxx, maxy = base.total_bounds
    pad_x, pad_y = (maxx - minx) * 0.04 + 0.01, (maxy - miny) * 0.04 + 0.01
    ax.set_xlim(minx - pad_x, maxx + pad_x)
    ax.set_ylim(miny - pad_y, maxy + pad_y)
    ax.set_aspect(1 / max(0.2, math.cos(math.radians((miny + maxy) / 2))))
    ax.set_title(title, fontsize=12)
    ax.set_xlabel("долгота")
    ax.set_ylabel("широта")
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), cax=cax,
                 label="Индекс напряжённости (инциденты за день / средний фон за 28 дней)")
    ax.text(0.01, 0.01, "Границы муниципалитетов приблизительные (по населённым пунктам)", transform=ax.transAxes,
            fontsize=7, color="#666666")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
    return path


REGION_SCOPE = "region"


def targets(client, day: date, region: str, areas) -> list[dict[str, str]]:
    """The maps of a region-day: the region's ({"municipality": "", "scope": "region"}) and one per
    municipality with cells and a polygon ({"municipality", "scope": its ОКТМО})."""
    codes = dict(zip(areas["municipality"], areas["municipality_oktmo"].astype(str)))
    names = [m for (m,) in client.query(
        "SELECT DISTINCT municipality FROM report_heatmap_daily FINAL WHERE day = {d:Date} AND region = {r:String} "
        "AND resolution = 8 AND sector = 'all' AND municipality != '' ORDER BY municipality",
        parameters={"d": day, "r": region}).result_rows]
    return [{"municipality": "", "scope": REGION_SCOPE}] + [{"municipality": m, "scope": codes[m]} for m in names if m in codes]


def load(client, day: date, region: str, municipality: str = "") -> dict[str, pd.DataFrame]:
    """The cells a map shows: the region's ("coarse", resolution 7, and "fine", resolution 8, for the
    GeoJSON) or a municipality's ("fine")."""
    if municipality:   # municipality scale: ~0.7 km² cells
        return {"fine": cells(client, day, region, resolution=8, municipality=municipality)}
    return {"coarse": cells(client, day, region, resolution=7), "fine": cells(client, day, region, resolution=8)}


def draw(frames: dict[str, pd.DataFrame], areas, day: date, region: str, municipality: str, scope: str,
         out_dir: Path) -> list[tuple[str, Path]]:
    """One map's files, (scope, path): the region's heatmap.png and heatmap.geojson, or a municipality's
    heatmap-<ОКТМО>.png. Needs no warehouse client."""
    if municipality:
        return [(scope, render_map(frames["fine"], areas, f"{municipality}: очаги напряжённости, {ru_date(day)}",
                                   out_dir / f"heatmap-{scope}.png", focus=municipality))]
    coarse = frames["coarse"]
    title = f"{region}: очаги напряжённости, {ru_date(day)}\n(все отрасли, {int(coarse['incidents'].sum()) if len(coarse) else 0} инцидентов)"
    gj = out_dir / "heatmap.geojson"
    gj.write_text(json.dumps(geojson(frames["fine"]), ensure_ascii=False), encoding="utf-8")
    return [(REGION_SCOPE, render_map(coarse, areas, title, out_dir / "heatmap.png")), (REGION_SCOPE, gj)]


def render(client, day: date, region: str, out_dir: Path, areas_source) -> list[tuple[str, Path]]:
    """Every map of the region-day one after another, (scope, path) (the DAG maps the same load +
    draw over targets as parallel tasks)."""
    areas = areas_source.region(region)
    return [f for t in targets(client, day, region, areas)
            for f in draw(load(client, day, region, t["municipality"]), areas, day, region, t["municipality"], t["scope"], out_dir)]
