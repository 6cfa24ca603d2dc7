"""regional_rollup (daily) and regional_rollup_weekly: the municipal centres rolled up to the
regional centre — totals by sector, fair SLA ranking, trends, the heat map. Logic: reports.rollup.
Runs after sla_daily and heatmap_daily of the same day (its quality check fails otherwise).
Airflow DAGs made by reports.dag_defaults.region_report_dag."""
from __future__ import annotations

from reports import rollup
from reports.dag_defaults import region_report_dag

region_report_dag("regional_rollup", "15 1 * * *", 1, "rollup", rollup.build_report, __doc__)
region_report_dag("regional_rollup_weekly", "30 1 * * 1", 7, "rollup_weekly", rollup.build_report, __doc__)
