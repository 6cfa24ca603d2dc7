"""Settlement points: the nearest settlement to a coordinate, and great-circle distances.

Kept apart from the gazetteer's table so that a loaded place resolver holds two float arrays, not
the table (and does not import pandas); the KD-tree is built on the first geotag that needs it."""
from __future__ import annotations

import math
from functools import cached_property

import numpy as np

EARTH_KM = 6371.0


class SettlementPoints:
    def __init__(self, lat, lon):
        self._coords = np.radians(np.column_stack([np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)]))

    def __len__(self) -> int:
        return len(self._coords)

    @cached_property
    def _tree(self):
        from scipy.spatial import cKDTree

        lat, lon = self._coords[:, 0], self._coords[:, 1]
        return cKDTree(np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)]))

    def nearest(self, lat: float, lon: float) -> tuple[int, float]:
        """The row of the settlement nearest to a point and its distance in km."""
        la, lo = math.radians(lat), math.radians(lon)
        d, i = self._tree.query([math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)])
        return int(i), float(2 * EARTH_KM * math.asin(min(1.0, d / 2)))

    def distance_km(self, i: int, lat: float, lon: float) -> float:
        la1, lo1 = self._coords[i]
        la2, lo2 = math.radians(lat), math.radians(lon)
        h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
        return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(h)))

    def __getstate__(self) -> dict:           # pickled without the tree (rebuilt on demand)
        return {"_coords": self._coords}
