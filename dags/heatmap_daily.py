"""heatmap_daily: tension points by H3 cell × sector for each region and day; PNG maps per region
and municipality, GeoJSON for dashboards. Logic: reports.heatmap."""
from __future__ import annotations

from airflow.sdk import dag, task

from reports import artifacts, heatmap, quality
from reports.dag_defaults import check_input_task, daily_dag_args, regions, report_day, reports_dir
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
    def render(region: str, logical_date=None) -> list[str]:
        from geo.municipal_areas import MunicipalAreas

        day = report_day(logical_date)
        out = artifacts.day_dir(reports_dir(), region, day)
        with hook_client() as client:
            files = heatmap.render(client, day, region, out, MunicipalAreas())
            artifacts.publish(client, day, region, "heatmap", files)
        return [str(p) for _, p in files]

    render.expand(region=build.expand(region=check_input_task().expand(region=regions())))


heatmap_daily_dag()
