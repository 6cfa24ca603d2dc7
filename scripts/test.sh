#!/usr/bin/env bash
# The whole test suite: pure + integration tests in the stream env (real Tansu broker, real Faust
# workers, chDB), then the Airflow tests in the Airflow env (DagBag, dag.test() against chDB).
# Extra arguments go to both pytest runs (e.g. -m "not slow" for the fast subset).
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p test-artifacts
status=0
run() {  # pytest exit 5 = no tests collected: treat as failure, a suite that runs nothing proves nothing
  "$@"; local rc=$?
  if [ $rc -ne 0 ]; then echo "FAILED ($rc): $*"; status=1; fi
}
run .venvs/stream/bin/python -m pytest tests --ignore=tests/airflow -p no:cacheprovider --durations=15 "$@"
run .venvs/airflow/bin/python -m pytest tests/airflow -p no:cacheprovider --durations=10 "$@"
exit $status
