"""``create_app(settings)``: the FastAPI app of `tsur dashboard` — the built-in dashboard at ``/``
(static files in api/static, Leaflet vendored), its JSON under ``/api``, Open311 GeoReport v2
under ``/open311/v2``, the OpenAPI schema at ``/openapi.json``. docs/dashboard.md."""
from __future__ import annotations

import contextlib
import logging
import threading
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from api import dashboard, open311, push_intake
from api.context import AppContext
from warehouse.lease import WarehouseLease
from tsur.config import Settings
from warehouse.session import WarehouseError

STATIC_DIR = Path(__file__).resolve().parent / "static"
log = logging.getLogger("tsur.api")


def _first_error(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "bad request"
    e = errors[0]
    where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path"))
    return f"{where}: {e.get('msg', 'invalid')}" if where else str(e.get("msg", "invalid"))


def create_app(settings: Settings) -> FastAPI:
    ctx = AppContext(settings=settings, lease=WarehouseLease(settings.clickhouse_dsn, min(settings.warehouse_lock_timeout, 30.0)))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        for region in settings.regions:      # build/load the municipal polygons before the first page load
            try:
                ctx.areas_geojson(region)
            except Exception as exc:  # an unknown region: the page says so, the API still serves
                log.warning("no municipal areas for %s: %s", region, exc)
        stop = threading.Event()
        warm = threading.Thread(target=ctx.keep_baselines_warm, args=(stop,), name="tsur-baselines", daemon=True)
        warm.start()
        yield
        stop.set()
        warm.join(timeout=30)
        ctx.lease.close()

    app = FastAPI(
        title="tsur: dashboard and Open311 GeoReport v2 API",
        version="1.0",
        description="Built-in dashboard JSON (/api) and Open311 GeoReport v2 (/open311/v2) over the tsur warehouse. "
                    "Writes need an API key (X-API-Key); see docs/dashboard.md.",
        lifespan=lifespan,
    )
    app.state.tsur = ctx

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        if request.url.path.startswith("/open311/"):
            return open311.error_response(request.url.path, exc.status_code, str(exc.detail), exc.headers)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        if request.url.path.startswith("/open311/"):
            return open311.error_response(request.url.path, 400, _first_error(exc))
        return JSONResponse({"detail": _first_error(exc)}, status_code=422)

    @app.exception_handler(WarehouseError)
    async def warehouse_error(request: Request, exc: WarehouseError):
        if request.url.path.startswith("/open311/"):
            return open311.error_response(request.url.path, 503, str(exc))
        return JSONResponse({"detail": str(exc)}, status_code=503)

    app.include_router(dashboard.router)
    app.include_router(open311.router)
    app.include_router(push_intake.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8")

    def openapi_with_keys() -> dict:
        """The generated schema plus the API-key scheme: writes always need it, reads when
        TSUR_API_READ_KEY=on."""
        if app.openapi_schema is None:
            from fastapi.openapi.utils import get_openapi

            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schema.setdefault("components", {})["securitySchemes"] = {
                "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key",
                           "description": "tsur_<id>_<secret>, from `tsur api-key create ORGANISATION --scope read|write`"}}
            for path, ops in schema["paths"].items():
                for method, op in ops.items():
                    if method == "post" or settings.api_read_key:
                        op["security"] = [{"ApiKey": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi_with_keys
    return app
