"""The transport part the platform clients (VK, OK, the Telegram preview) share: pacing requests,
and one HTTP POST of a form that answers a JSON object. What went wrong on the way is a :class:`TransportError` with a short code for the
metrics ("network", "http_503", "bad_json"); the collector retries those after a backoff."""
from __future__ import annotations

import asyncio
import json
import time

import httpx


class TransportError(Exception):
    """The request did not give a usable answer (network, HTTP status, malformed JSON); retry."""

    def __init__(self, reason: str, code: str):
        super().__init__(reason)
        self.code = code


async def post_form(http: httpx.AsyncClient, url: str, form: dict[str, str], what: str) -> dict:
    """POST ``form`` to ``url``; the answer's JSON object, or TransportError."""
    try:
        r = await http.post(url, data=form)
    except httpx.HTTPError as exc:
        raise TransportError(f"{what}: {type(exc).__name__}", "network") from None
    if r.status_code >= 400:
        raise TransportError(f"{what}: HTTP {r.status_code}", f"http_{r.status_code}")
    try:
        doc = json.loads(r.content)
    except ValueError:
        raise TransportError(f"{what}: the answer is not JSON", "bad_json") from None
    if not isinstance(doc, dict):
        raise TransportError(f"{what}: the answer is not a JSON object", "bad_json")
    return doc


class Pacer:
    """At most ``rps`` request starts per second (shared by every request of one token)."""

    def __init__(self, rps: float):
        self.interval = 1.0 / rps
        self.next_at = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = time.monotonic()
            if self.next_at > now:
                await asyncio.sleep(self.next_at - now)
            self.next_at = max(now, self.next_at) + self.interval
