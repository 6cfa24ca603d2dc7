"""A small client of the VK API (documented JSON over HTTPS, v5.199) for the collector.

Only what the collector needs: ``wall.get``, ``wall.getComments``, ``newsfeed.search`` and
``utils.resolveScreenName``, sent as POST forms (the token never appears in a URL), paced to
``rps`` requests per second per token. Errors come back as :class:`VKError` with the API's code;
:func:`classify` says what the collector does with each (docs/intake.md, "VK errors"):

- 6 (too many requests per second), 9 (flood control), 10 (internal error), HTTP 5xx, network
  errors, malformed JSON → **retry** after a backoff;
- 29 (the method's daily rate limit reached) → **pause** this source for an hour;
- 5 (authorisation failed: the token expired or was revoked) → **stop** every VK source with one
  clear line (``tsur doctor`` says it too);
- 15, 18, 19, 30, 100, 113 (access denied, deleted, private, unknown owner) → **skip** this source.
"""
from __future__ import annotations

from dataclasses import dataclass

import httpx

from intake.http_json import Pacer, TransportError, post_form

API_VERSION = "5.199"
DEFAULT_API_URL = "https://api.vk.com/method"
RETRY_CODES = {1, 6, 9, 10}
PAUSE_CODES = {29}
STOP_CODES = {5}
SKIP_CODES = {15, 18, 19, 30, 100, 113}


class VKError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(f"VK error {code}: {message}")
        self.code = code
        self.message = message


def classify(exc: Exception) -> str:
    """What the collector does after this error: "retry", "pause", "stop" or "skip"."""
    if isinstance(exc, VKError):
        if exc.code in STOP_CODES:
            return "stop"
        if exc.code in PAUSE_CODES:
            return "pause"
        if exc.code in SKIP_CODES:
            return "skip"
        return "retry"
    return "retry"


@dataclass
class VKClient:
    http: httpx.AsyncClient
    token: str
    api_url: str = DEFAULT_API_URL
    pacer: Pacer | None = None

    async def call(self, method: str, **params) -> dict | list:
        """One API method; its ``response`` or VKError / TransportError."""
        if self.pacer:
            await self.pacer.wait()
        form = {k: str(v) for k, v in params.items() if v is not None}
        form.update(access_token=self.token, v=API_VERSION)
        doc = await post_form(self.http, f"{self.api_url}/{method}", form, method)
        if "error" in doc:
            err = doc["error"] if isinstance(doc["error"], dict) else {}
            code = err.get("error_code")
            raise VKError(code if isinstance(code, int) else -1, str(err.get("error_msg", "no message"))[:200])
        if "response" not in doc:
            raise TransportError(f"{method}: the answer has neither 'response' nor 'error'", "bad_json")
        return doc["response"]

    async def resolve_owner(self, screen_name: str) -> int:
        """The owner id of a screen name (a community: negative); VKError 113 if unknown."""
        found = await self.call("utils.resolveScreenName", screen_name=screen_name)
        if not isinstance(found, dict) or not isinstance(found.get("object_id"), int):
            raise VKError(113, f"no user or community is called {screen_name!r}")
        return -found["object_id"] if found.get("type") in ("group", "page", "event") else found["object_id"]

    async def wall_page(self, owner_id: int, offset: int, count: int = 100) -> tuple[list[dict], list[dict]]:
        """(posts, communities) of one wall.get page, newest first (a pinned post may come first)."""
        body = await self.call("wall.get", owner_id=owner_id, offset=offset, count=count, extended=1)
        return _items(body), _list(body, "groups")

    async def comments_page(self, owner_id: int, post_id: int, offset: int, count: int = 100) -> tuple[list[dict], int]:
        """(comments, total) of one wall.getComments page, oldest first, with their first replies."""
        body = await self.call("wall.getComments", owner_id=owner_id, post_id=post_id, offset=offset, count=count,
                               sort="asc", thread_items_count=10)
        total = body.get("current_level_count", body.get("count", 0)) if isinstance(body, dict) else 0
        return _items(body), int(total) if isinstance(total, int) else 0

    async def search_page(self, query: str, start_time: int, start_from: str | None, count: int = 200
                          ) -> tuple[list[dict], list[dict], str | None]:
        """(posts, communities, next_from) of one newsfeed.search page, newest first."""
        body = await self.call("newsfeed.search", q=query, start_time=start_time, start_from=start_from, count=count, extended=1)
        nxt = body.get("next_from") if isinstance(body, dict) else None
        return _items(body), _list(body, "groups"), nxt if isinstance(nxt, str) and nxt else None


def _items(body) -> list[dict]:
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise TransportError("the response has no 'items' list", "bad_json")
    return [i for i in body["items"] if isinstance(i, dict)]


def _list(body, name: str) -> list[dict]:
    value = body.get(name) if isinstance(body, dict) else None
    return [g for g in value if isinstance(g, dict)] if isinstance(value, list) else []
