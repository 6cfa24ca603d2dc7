# Production images of tsur, built from the same lock as the embedded default.
#   docker build --target worker  -t tsur-worker:0.1.0 .
#   docker build --target airflow -t tsur-airflow:0.1.0 .
FROM python:3.11.7-slim-bookworm AS base
RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /opt/tsur
COPY pyproject.toml uv.lock README.md ./
COPY tsur tsur
COPY intake intake
COPY nlp nlp
COPY geo geo
COPY enrichment enrichment
COPY routing routing
COPY warehouse warehouse
COPY streams streams
COPY reports reports
COPY sql sql
COPY dags dags
COPY api api
ENV UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/opt/venv PATH=/opt/venv/bin:$PATH

FROM base AS worker
RUN uv sync --frozen --no-dev --extra stream
USER nobody
CMD ["tsur", "worker"]

FROM apache/airflow:3.3.2-python3.11 AS airflow
COPY --chown=airflow:root . /opt/tsur
RUN pip install --no-cache-dir "uv==0.13.9" && cd /opt/tsur \
 && uv export --frozen --no-dev --extra airflow --no-emit-project -o /tmp/req.txt \
 && pip install --no-cache-dir -r /tmp/req.txt && pip install --no-cache-dir --no-deps -e /opt/tsur
