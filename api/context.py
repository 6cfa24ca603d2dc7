"""What every request handler shares: settings, the warehouse lease, caches, API-key checks."""
from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field

from fastapi import HTTPException, Request

from api import keys
from warehouse.lease import WarehouseLease
from api.queries import BaselineCache
from tsur.config import Settings

KEY_HEADER = "X-API-Key"
log = logging.getLogger("tsur.api")


@dataclass
class AppContext:
    settings: Settings
    lease: WarehouseLease
    baselines: BaselineCache = field(default_factory=BaselineCache)
    _areas: dict[str, str] = field(default_factory=dict)
    _areas_lock: threading.Lock = field(default_factory=threading.Lock)

    def areas_geojson(self, region: str) -> str:
        """Approximate municipal polygons of the region (geo.municipal_areas, cached as GeoParquet
        on disk and here in memory), simplified to ~100 m for the browser."""
        with self._areas_lock:
            if region not in self._areas:
                from geo.municipal_areas import MunicipalAreas

                frame = MunicipalAreas().region(region).copy()
                frame["geometry"] = frame.geometry.simplify(0.001, preserve_topology=True)
                self._areas[region] = json.dumps(json.loads(frame.to_json(drop_id=True)), ensure_ascii=False)
            return self._areas[region]

    def keep_baselines_warm(self, stop: threading.Event, every_s: float = 60.0) -> None:
        """Until ``stop``: keep the heat-map baselines of today (Moscow) cached for every region,
        sector and resolution (past data: a few queries when the day turns or the cache expires)."""
        from datetime import datetime

        from api.queries import MSK, warm_baselines
        from nlp.corpus import SECTORS

        while not stop.is_set():
            today = datetime.now(MSK).date()
            for region in self.settings.regions:
                try:
                    warm_baselines(self.lease.run, self.baselines, region, today, ["all", *SECTORS])
                except Exception as exc:  # the store busy or unreachable: the requests compute them
                    log.info("could not warm the heat-map baselines of %s: %s", region, exc)
            stop.wait(every_s)

    def run(self, fn, scope: str | None = None, presented: str | None = None):
        """Run ``fn(client)`` on the warehouse thread, after checking the API key when ``scope`` is
        given (``read`` is checked only when TSUR_API_READ_KEY=on). Returns (result, key or None)."""
        need = scope if scope != "read" or self.settings.api_read_key else None

        def job(client):
            key = authorise(client, presented, need) if need else None
            return fn(client), key

        return self.lease.run(job)


def authorise(client, presented: str | None, scope: str) -> keys.ApiKey:
    """401 without a valid key, 403 when its scope is too small."""
    if not presented:
        raise HTTPException(401, f"an API key is required: send it in the {KEY_HEADER} header", headers={"WWW-Authenticate": "ApiKey"})
    key = keys.verify(client, presented)
    if key is None:
        raise HTTPException(401, "the API key is not valid (unknown, malformed or revoked)", headers={"WWW-Authenticate": "ApiKey"})
    if not key.allows(scope):
        raise HTTPException(403, f"the API key of {key.organisation} has the {key.scope} scope; this needs {scope}")
    return key


def publish(ctx: AppContext, topic_key: str, objs: list[dict]) -> None:
    """Send JSON messages to a topic and wait for the broker's acknowledgement (intake.producer):
    400 for text that is not valid Unicode, 503 when the broker cannot take them (nothing sent)."""
    from intake.producer import publish as send

    try:
        payloads = [json.dumps(o, ensure_ascii=False).encode() for o in objs]
    except UnicodeEncodeError:
        raise HTTPException(400, "the text holds unpaired surrogates (not valid Unicode)") from None
    try:
        send(ctx.settings.bootstrap_servers, ctx.settings.topics[topic_key], payloads)
    except Exception as exc:  # aiokafka's connection/timeout errors, or a refused request
        name = type(exc).__name__
        raise HTTPException(503, f"the broker at TSUR_BROKER_URL={ctx.settings.broker_url} cannot take the message now ({name}); "
                                 "nothing was stored, send it again later") from None


def context(request: Request) -> AppContext:
    return request.app.state.tsur


def presented_key(request: Request, fallback: str | None = None) -> str | None:
    return request.headers.get(KEY_HEADER) or fallback
