"""Approximate municipal areas from settlement points (Voronoi, dissolved, clipped)."""
import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def areas():
    from geo.gazetteer import Gazetteer
    from geo.municipal_areas import MunicipalAreas

    return MunicipalAreas(Gazetteer.load(ROOT / "data" / "cache"), cache_dir=ROOT / "data" / "cache")


@pytest.mark.parametrize("region, km2", [("Краснодарский край", 75_485), ("Ростовская область", 100_967)])
def test_region_polygons_are_plausible(areas, region, km2):
    frame = areas.region(region)
    t = areas.gz.table
    assert set(frame["municipality"]) == set(t[t["region"] == region]["municipality"])
    assert frame.geometry.is_valid.all() and (frame["area_km2"] > 0).all()
    assert 0.8 * km2 < frame["area_km2"].sum() < 1.3 * km2          # official area ± the approximation
    assert frame["municipality_oktmo"].str.fullmatch(r"\d{5}000").all()


def test_point_lookup_matches_settlements(areas):
    t = areas.gz.table
    rows = t[t["region"] == "Ростовская область"].sample(300, random_state=1)
    ok = sum(areas.lookup(la, lo, "Ростовская область") == m for la, lo, m in zip(rows.lat, rows.lon, rows.municipality))
    assert ok / len(rows) >= 0.97
    assert areas.lookup(47.2357, 39.7015, "Ростовская область") == "город Ростов-на-Дону"
    assert areas.lookup(55.75, 37.62, "Ростовская область") is None   # Moscow is not in the region


def test_geojson_for_dashboards(areas):
    import json

    doc = json.loads(areas.geojson("Краснодарский край"))
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 44
