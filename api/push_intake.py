"""Push sources, as routes of the API service (docs/intake.md, "Push sources"):

- ``POST /intake/vk/callback`` — the VK Callback API of a community: answers the ``confirmation``
  event with TSUR_VK_CALLBACK_CONFIRMATION; every other event must carry the secret key
  TSUR_VK_CALLBACK_SECRET. ``wall_post_new`` / ``wall_repost`` / ``wall_post_edit`` (a new
  version of the same id) and ``wall_reply_new`` / ``wall_reply_edit`` become posts; other events
  are acknowledged and ignored.
- ``POST /intake/telegram/webhook`` — a Telegram bot's webhook (setWebhook with ``secret_token``):
  the header ``X-Telegram-Bot-Api-Secret-Token`` must be TSUR_TELEGRAM_WEBHOOK_SECRET;
  ``message``, ``channel_post`` and their ``edited_`` versions with text or a caption become posts.

Each answers ``ok`` / 200 only after the broker acknowledged the post (acks=all), so a platform
that gets an error (503) delivers again; ids are deterministic, so a second delivery is stored
once. A route whose secret is not set answers 404.
"""
from __future__ import annotations

import hmac
import json
from functools import lru_cache

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, PlainTextResponse

from api.context import AppContext, context, publish
from intake.adapters import telegram_update, vk_comment, vk_post

router = APIRouter(prefix="/intake", tags=["push intake"])
MAX_BODY = 1_000_000
VK_POSTS = {"wall_post_new", "wall_repost", "wall_post_edit"}
VK_COMMENTS = {"wall_reply_new", "wall_reply_edit", "wall_reply_restore"}


@lru_cache(maxsize=4)
def _registry(path: str, mtime: float):
    from intake.sources import SourcesError, load_sources

    try:
        return load_sources(path)
    except SourcesError:
        return None


def _hints(ctx: AppContext, post: dict, platform: str, handle: str) -> dict:
    """Region and place hints from the source registry when it lists the community or channel;
    else the first of TSUR_REGIONS."""
    path = ctx.settings.sources_path
    registry = _registry(str(path), path.stat().st_mtime) if path.exists() else None
    region = registry.region if registry else ctx.settings.regions[0]
    post["region_hint"] = region
    if registry:
        for src in registry.sources:
            if src.platform == platform and src.handle.lower() == handle.lower() and src.place_hint:
                post["place_hint"] = src.place_hint
                break
    return post


async def _body(request: Request) -> dict:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise HTTPException(413, f"the body is larger than {MAX_BODY} bytes")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise HTTPException(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "the body must be a JSON object")
    return body


def _same(given, expected: str) -> bool:
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


@router.post("/vk/callback", response_class=PlainTextResponse, summary="VK Callback API of a community (→ posts.raw)")
async def vk_callback(request: Request, ctx: AppContext = Depends(context)) -> PlainTextResponse:
    s = ctx.settings
    if not s.vk_callback_secret:
        raise HTTPException(404, "the VK Callback API is off: set TSUR_VK_CALLBACK_SECRET and TSUR_VK_CALLBACK_CONFIRMATION")
    body = await _body(request)
    kind = body.get("type")
    if kind == "confirmation":
        if not s.vk_callback_confirmation:
            raise HTTPException(404, "TSUR_VK_CALLBACK_CONFIRMATION is not set (the string VK shows in the community's Callback API settings)")
        return PlainTextResponse(s.vk_callback_confirmation)
    if not _same(body.get("secret"), s.vk_callback_secret):
        raise HTTPException(403, "wrong or missing secret key")
    obj = body.get("object")
    post = None
    try:
        if kind in VK_POSTS and isinstance(obj, dict):
            post = vk_post(obj, {})
        elif kind in VK_COMMENTS and isinstance(obj, dict):
            owner = obj.get("post_owner_id", obj.get("owner_id"))
            post = vk_comment(obj, int(owner), int(obj["post_id"]))
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        raise HTTPException(400, f"a malformed {kind} object") from None
    if post is not None:
        owner = post["id"].split("_")[0]
        await run_in_threadpool(publish, ctx, "posts_raw", [_hints(ctx, post, "vk", owner)])
    return PlainTextResponse("ok")


@router.post("/telegram/webhook", summary="Telegram bot webhook (→ posts.raw)")
async def telegram_webhook(request: Request, ctx: AppContext = Depends(context)) -> JSONResponse:
    s = ctx.settings
    if not s.telegram_webhook_secret:
        raise HTTPException(404, "the Telegram webhook is off: set TSUR_TELEGRAM_WEBHOOK_SECRET (and pass it as secret_token to setWebhook)")
    if not _same(request.headers.get("X-Telegram-Bot-Api-Secret-Token"), s.telegram_webhook_secret):
        raise HTTPException(403, "wrong or missing X-Telegram-Bot-Api-Secret-Token")
    update = await _body(request)
    try:
        post = telegram_update(update)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        raise HTTPException(400, "a malformed message in the update") from None
    if post is not None:
        await run_in_threadpool(publish, ctx, "posts_raw", [_hints(ctx, post, "telegram", post["community_id"])])
    return JSONResponse({"ok": True})
