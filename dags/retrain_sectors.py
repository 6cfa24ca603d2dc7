"""retrain_sectors: weekly, the sector model learns its region's language from the operators'
sector corrections. Runs `tsur train-sectors --with-corrections --publish-if-better` (corpus +
corrections; held-out split and the labelled sets of TSUR_SECTOR_EVAL compared with the deployed
model): a candidate that scores worse anywhere is not published (the task is skipped, the log says
where it lost); a published model is loaded by the workers at their next start (docs/enrichment.md)."""
from __future__ import annotations

import os
import subprocess
import sys

from airflow.sdk import dag, task

from reports.dag_defaults import daily_dag_args

REFUSED = 3     # tsur.cli.REFUSED: the candidate scored worse


@dag(**{**daily_dag_args("retrain_sectors", "0 3 * * 1", ["weekly", "model"], __doc__), "catchup": False})
def retrain_sectors_dag():
    @task
    def retrain() -> str:
        from airflow.sdk.exceptions import AirflowSkipException

        cmd = [sys.executable, "-m", "tsur.cli", "train-sectors", "--with-corrections", "--publish-if-better"]
        for path in filter(None, os.environ.get("TSUR_SECTOR_EVAL", "").split(os.pathsep)):
            cmd += ["--eval", path]
        done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
        print(done.stdout)
        if done.returncode == REFUSED:
            raise AirflowSkipException("candidate scored worse than the deployed model: not published")
        if done.returncode != 0:
            raise RuntimeError(f"train-sectors failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
        return done.stdout.strip().splitlines()[-1]

    retrain()


retrain_sectors_dag()
