"""The Telegram Bot API's ``getUpdates`` for the collector: messages in the chats and channels the
centre's bot is a member or an admin of (``TSUR_TELEGRAM_BOT_TOKEN``; a bot with a webhook set
gets its updates on the webhook route instead, api/push_intake.py).

Telegram forgets every update below the ``offset`` of a call. The collector therefore always asks
from its **confirmed** position + 1 (updates the worker stored), never from what it only
published: if the broker loses published updates, Telegram still has them (for 24 hours).

Errors: 401 (the token is wrong or revoked) and 409 (a webhook is set: the two are exclusive) stop
the bot source with one line; 429 waits ``retry_after``; others are retried.
"""
from __future__ import annotations

import json

import httpx

from intake.http_json import TransportError

DEFAULT_API_URL = "https://api.telegram.org"


class BotError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None):
        super().__init__(f"Telegram Bot API error {code}: {description}")
        self.code = code
        self.description = description
        self.retry_after = retry_after


def classify(exc: BotError) -> str:
    return "stop" if exc.code in (401, 403, 404, 409) else "retry"


async def get_updates(http: httpx.AsyncClient, base: str, token: str, offset: int | None, limit: int = 100) -> list[dict]:
    """One getUpdates call (no long polling: the collector polls on its own schedule)."""
    params = {"limit": limit, "timeout": 0,
              "allowed_updates": json.dumps(["message", "edited_message", "channel_post", "edited_channel_post"])}
    if offset is not None:
        params["offset"] = offset
    try:
        r = await http.post(f"{base}/bot{token}/getUpdates", data=params)
    except httpx.HTTPError as exc:
        raise TransportError(f"getUpdates: {type(exc).__name__}", "network") from None
    try:
        doc = json.loads(r.content)
    except ValueError:
        raise TransportError(f"getUpdates: HTTP {r.status_code}, not JSON", "bad_json" if r.status_code < 400 else f"http_{r.status_code}") from None
    if not isinstance(doc, dict):
        raise TransportError("getUpdates: the answer is not a JSON object", "bad_json")
    if not doc.get("ok"):
        code = doc.get("error_code")
        retry = (doc.get("parameters") or {}).get("retry_after") if isinstance(doc.get("parameters"), dict) else None
        raise BotError(code if isinstance(code, int) else r.status_code, str(doc.get("description", "no description"))[:200],
                       retry if isinstance(retry, int) else None)
    result = doc.get("result")
    if not isinstance(result, list):
        raise TransportError("getUpdates: no 'result' list", "bad_json")
    return [u for u in result if isinstance(u, dict) and isinstance(u.get("update_id"), int)]
