"""A small client of the Odnoklassniki (OK) REST API for the collector: ``mediatopic.getTopics``
of a group (its feed of topics, newest first, paged by ``anchor``).

Every call is signed as the API requires: ``sig`` = md5 of the sorted ``key=value`` parameters
(without ``access_token``) followed by md5(access_token + application secret key), lower-case
hex. Keys come from the environment only (TSUR_OK_APP_KEY, TSUR_OK_APP_SECRET, TSUR_OK_TOKEN).

Errors come back as :class:`OKError` with the API's code; :func:`classify` says what the
collector does: 102/103/104 (session expired or invalid, bad signature) → stop every OK source;
100/300/455 (bad parameter, not found, permission denied) → skip the source; anything else,
HTTP 5xx, network errors and malformed JSON → retry after a backoff.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import httpx

from intake.http_json import Pacer, TransportError, post_form

DEFAULT_API_URL = "https://api.ok.ru/fb.do"
STOP_CODES = {102, 103, 104}
SKIP_CODES = {100, 300, 455}


class OKError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(f"OK error {code}: {message}")
        self.code = code
        self.message = message


def classify(exc: Exception) -> str:
    if isinstance(exc, OKError):
        return "stop" if exc.code in STOP_CODES else "skip" if exc.code in SKIP_CODES else "retry"
    return "retry"


def signature(params: dict[str, str], access_token: str, secret_key: str) -> str:
    """The request signature of the OK API."""
    session_secret = hashlib.md5((access_token + secret_key).encode()).hexdigest()
    joined = "".join(f"{k}={params[k]}" for k in sorted(params) if k not in ("access_token", "session_key", "sig"))
    return hashlib.md5((joined + session_secret).encode()).hexdigest()


@dataclass
class OKClient:
    http: httpx.AsyncClient
    app_key: str
    secret_key: str
    token: str
    api_url: str = DEFAULT_API_URL
    pacer: Pacer | None = None

    async def call(self, method: str, **params) -> dict:
        if self.pacer:
            await self.pacer.wait()
        form = {k: str(v) for k, v in params.items() if v is not None}
        form.update(application_key=self.app_key, method=method, format="json")
        form["sig"] = signature(form, self.token, self.secret_key)
        form["access_token"] = self.token
        doc = await post_form(self.http, self.api_url, form, method)
        if "error_code" in doc:
            code = doc["error_code"]
            raise OKError(code if isinstance(code, int) else -1, str(doc.get("error_msg", "no message"))[:200])
        return doc

    async def topics_page(self, gid: str, anchor: str | None, count: int = 50) -> tuple[list[dict], str | None]:
        """(topics, anchor of the next, older page or None) of a group's feed, newest first."""
        body = await self.call("mediatopic.getTopics", gid=gid, count=count, anchor=anchor)
        topics = body.get("media_topics")
        if not isinstance(topics, list):
            raise TransportError("mediatopic.getTopics: no 'media_topics' list", "bad_json")
        nxt = body.get("anchor") if body.get("has_more") else None
        return [t for t in topics if isinstance(t, dict)], nxt if isinstance(nxt, str) and nxt else None
