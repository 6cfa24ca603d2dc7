"""heatmap_daily: tension points by H3 cell × sector for each region and day; PNG maps per region
and municipality, GeoJSON for dashboards. Logic: reports.heatmap.

One mapped task instance per map (``draw``: the region's map and GeoJSON, then one per municipality):
the executor draws them in parallel and a failure retries one map. Each holds the warehouse only to
read its cells and to list its files; drawing runs outside the embedded store's lock."""
from __future__ import annotations

from airflow.sdk import dag, get_current_context, task

from reports import artifacts, heatmap, quality
from reports.dag_defaults import (
    RENDER_POOL,
    check_input_task,
    daily_dag_args,
    log_written,
    regions,
    report_day,
    reports_dir,
)
from warehouse.airflow_hook import hook_client


@dag(**daily_dag_args("heatmap_daily", "30 0 * * *", ["daily"], __doc__))
def heatmap_daily_dag():
    @task
    def build(region: str, logical_date=None) -> str:
        with hook_client() as client:
            n = heatmap.build(client, report_day(logical_date), region)
        if n == 0:
            raise quality.DataQualityError(f"{region} {report_day(logical_date)}: no heat-map cells although the day has complaints")
        return region

    @task
    def maps(built: list[str], logical_date=None) -> list[dict]:
        """One target per map; the day's listing of heat-map files is emptied first and refilled by
        the draw tasks."""
        from geo.municipal_areas import MunicipalAreas

        day, areas = report_day(logical_date), MunicipalAreas.shared()
        out = []
        with hook_client() as client:
            for region in built:
                artifacts.publish(client, day, region, "heatmap", [])
                out += [{"region": region, **t} for t in heatmap.targets(client, day, region, areas.region(region))]
        return out

    @task(pool=RENDER_POOL, map_index_template="{{ map_name }}")
    def draw(target: dict, logical_date=None) -> None:
        from geo.municipal_areas import MunicipalAreas

        get_current_context()["map_name"] = target["municipality"] or target["region"]
        day, region, scope = report_day(logical_date), target["region"], target["scope"]
        with hook_client() as client:
            frames = heatmap.load(client, day, region, target["municipality"])
        files = heatmap.draw(frames, MunicipalAreas.shared().region(region), day, region, target["municipality"], scope,
                             artifacts.day_dir(reports_dir(), region, day))
        with hook_client() as client:
            artifacts.publish(client, day, region, "heatmap", files, scope=scope)
        log_written(target["municipality"] or region, [p for _, p in files])

    draw.expand(target=maps(build.expand(region=check_input_task().expand(region=regions()))))


heatmap_daily_dag()
