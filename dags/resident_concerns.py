"""resident_concerns (daily) and resident_concerns_weekly: what worries residents — top subtopics,
words and phrases on the rise against the previous four weeks, the most discussed incidents,
complaints per 10,000 residents per municipality (HTML/PDF/XLSX per region). Logic: reports.concerns.
Airflow DAGs made by reports.dag_defaults.region_report_dag."""
from __future__ import annotations

from reports import concerns
from reports.dag_defaults import region_report_dag

region_report_dag("resident_concerns", "45 1 * * *", 1, "concerns", concerns.build_report, __doc__)
region_report_dag("resident_concerns_weekly", "30 2 * * 1", 7, "concerns_weekly", concerns.build_report, __doc__)
