#!/usr/bin/env bash
# Install everything tsur needs into two virtualenvs from the one lock (uv.lock):
#   .venvs/stream   the Faust worker + CLI   (faust-streaming; mode-streaming pins croniter < 6)
#   .venvs/airflow  Airflow 3.3 + providers  (needs croniter >= 6.2.2)
# Both get the shared code (tsur, intake, nlp, geo, warehouse, streams, reports) installed editable.
# Everything is byte-compiled at install (--compile-bytecode, compileall): with PYTHONDONTWRITEBYTECODE
# set, as on many CI machines, every process would otherwise recompile Airflow on each start
# (import airflow 4.3 s -> 1.8 s, the worker's imports 2.0 s -> 0.9 s; docs/daily-products.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never UV_LINK_MODE="${UV_LINK_MODE:-hardlink}"
if ! command -v uv >/dev/null 2>&1; then
  echo "installing uv (Python package manager) with pip ..."
  python3 -m pip install --quiet --user "uv>=0.9,<1" 2>/dev/null || python3 -m pip install --quiet "uv>=0.9,<1"
  export PATH="$HOME/.local/bin:$PATH"
fi
PY="${TSUR_PYTHON:-$(command -v python3.11 || command -v python3)}"
echo "syncing .venvs/stream (Faust worker) ..."
UV_PROJECT_ENVIRONMENT=.venvs/stream uv sync --frozen --python "$PY" --extra stream --group bench --group web-test --compile-bytecode --quiet
echo "syncing .venvs/airflow (Airflow) ..."
UV_PROJECT_ENVIRONMENT=.venvs/airflow uv sync --frozen --python "$PY" --extra airflow --compile-bytecode --quiet
echo "byte-compiling the project's packages ..."
for venv in .venvs/stream .venvs/airflow; do
  "$venv/bin/python" -m compileall -q -j 0 tsur intake nlp geo enrichment routing warehouse streams reports api dags >/dev/null
done
# Optional: pdftoppm (Debian poppler-utils) lets the tests render report PDF pages to PNG artefacts.
if ! command -v pdftoppm >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing poppler-utils (pdftoppm) for PDF previews ..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils) >/dev/null 2>&1 \
    || echo "  (poppler-utils not installed; PDF previews in tests are skipped)"
fi
# Chromium (Debian) for the dashboard's browser test; Playwright drives it, never downloads one.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium for the dashboard browser test ..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core) >/dev/null 2>&1 \
    || echo "  (chromium not installed; the browser test fails under CI=true, is skipped otherwise)"
fi
echo "installed: .venvs/stream/bin/tsur, .venvs/airflow/bin/airflow"
