"""Approximate municipal areas for any region, derived from settlement points.

Method: Voronoi cells of the region's settlements (with the neighbouring regions' settlements
as border sites, so borders fall half-way between the last villages on each side), dissolved by
municipality, clipped to a buffered concave hull of the region's points. Computed in a local
equal-distance projection, returned in WGS84, cached as GeoParquet per region.

These are APPROXIMATE areas: good for choropleths and heat-map base layers, not legal borders.
Point → municipality lookup uses an STRtree over the polygons.
"""
from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from shapely.strtree import STRtree

from geo.gazetteer import CACHE_VERSION, Gazetteer, default_cache_dir

AREAS_VERSION = f"{CACHE_VERSION}-a1"
HULL_RATIO = 0.25          # concave hull tightness (0 = tightest, 1 = convex)
HULL_BUFFER_M = 8_000      # the region extends a little beyond its outermost settlements
NEIGHBOUR_MARGIN_M = 150_000


def _local_crs(lat: float, lon: float) -> str:
    return f"+proj=aeqd +lat_0={lat:.4f} +lon_0={lon:.4f} +datum=WGS84 +units=m +no_defs"


def build_region(gz: Gazetteer, region: str) -> gpd.GeoDataFrame:
    """Municipality polygons (WGS84) of one region: columns municipality, municipality_oktmo, region, geometry."""
    t = gz.table
    mine = t[t["region"] == region]
    if mine.empty:
        raise KeyError(f"unknown region {region!r}")
    lat0, lon0 = float(mine["lat"].median()), float(mine["lon"].median())
    crs = _local_crs(lat0, lon0)
    pts = gpd.GeoSeries(gpd.points_from_xy(t["lon"], t["lat"]), crs=4326)
    region_mask = (t["region"] == region).to_numpy()
    # neighbours: other regions' settlements near this region's bounding box
    minx, miny, maxx, maxy = pts[region_mask].total_bounds
    pad = 2.5  # degrees, then filtered by projected distance
    near = ((t["lon"] > minx - pad) & (t["lon"] < maxx + pad) & (t["lat"] > miny - pad) & (t["lat"] < maxy + pad)).to_numpy()
    sel = np.flatnonzero(near)
    local = pts.iloc[sel].to_crs(crs)
    xy = np.column_stack([local.x.to_numpy(), local.y.to_numpy()])
    own = region_mask[sel]
    hull = shapely.concave_hull(shapely.MultiPoint(xy[own]), ratio=HULL_RATIO).buffer(HULL_BUFFER_M)
    keep = own | (shapely.distance(shapely.points(xy), hull) < NEIGHBOUR_MARGIN_M)
    sel, xy, own = sel[keep], xy[keep], own[keep]
    # identical coordinates would give one cell for several settlements: jitter by a metre
    _, first = np.unique(np.round(xy, 0), axis=0, return_index=True)
    uniq = np.zeros(len(xy), dtype=bool)
    uniq[first] = True
    sel, xy, own = sel[uniq], xy[uniq], own[uniq]
    cells = shapely.voronoi_polygons(shapely.MultiPoint(xy), extend_to=hull.buffer(NEIGHBOUR_MARGIN_M), ordered=True)
    polys = np.array(shapely.get_parts(cells))
    frame = gpd.GeoDataFrame({
        "municipality": t["municipality"].to_numpy()[sel][own],
        "municipality_oktmo": t["municipality_oktmo"].to_numpy()[sel][own],
        "geometry": polys[own],
    }, crs=crs)
    codes = frame.groupby("municipality")["municipality_oktmo"].agg(lambda c: c.mode().iat[0])
    dissolved = frame.drop(columns="municipality_oktmo").dissolve(by="municipality", as_index=False)
    dissolved["municipality_oktmo"] = dissolved["municipality"].map(codes)
    dissolved["geometry"] = dissolved.geometry.intersection(hull).buffer(0)
    dissolved["region"] = region
    dissolved["area_km2"] = (dissolved.geometry.area / 1e6).round(1)
    return dissolved.to_crs(4326)[["region", "municipality", "municipality_oktmo", "area_km2", "geometry"]]


class MunicipalAreas:
    """Cached municipal polygons and a fast point → municipality lookup."""

    def __init__(self, gz: Gazetteer | None = None, cache_dir: Path | None = None):
        self.cache_dir = (cache_dir or default_cache_dir()) / f"areas-{AREAS_VERSION}"
        self.gz = gz
        self._frames: dict[str, gpd.GeoDataFrame] = {}
        self._trees: dict[str, STRtree] = {}

    @staticmethod
    def shared() -> "MunicipalAreas":
        """The process's instance on the default cache dir: tasks that run one after another in one
        process (mapped map tasks, dag.test) read a region's polygons once."""
        return _shared(default_cache_dir())

    def _gz(self) -> Gazetteer:
        if self.gz is None:
            self.gz = Gazetteer.load()
        return self.gz

    def region(self, region: str) -> gpd.GeoDataFrame:
        if region in self._frames:
            return self._frames[region]
        path = self.cache_dir / (hashlib.sha1(region.encode()).hexdigest()[:12] + ".parquet")
        if path.exists():
            frame = gpd.read_parquet(path)
        else:
            frame = build_region(self._gz(), region)
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            frame.to_parquet(tmp, index=False)
            tmp.replace(path)
        self._frames[region] = frame
        return frame

    def geojson(self, region: str) -> str:
        return self.region(region).to_json(drop_id=True)

    def lookup(self, lat: float, lon: float, region: str) -> str | None:
        """The municipality of ``region`` whose approximate area holds the point, or None."""
        frame = self.region(region)
        tree = self._trees.get(region)
        if tree is None:
            tree = self._trees[region] = STRtree(frame.geometry.to_numpy())
        hits = tree.query(shapely.Point(lon, lat), predicate="intersects")
        return str(frame["municipality"].iloc[int(hits[0])]) if len(hits) else None


@functools.cache
def _shared(cache_dir: Path) -> MunicipalAreas:
    return MunicipalAreas(cache_dir=cache_dir)
