"""Telegram public channels through their web preview, ``https://t.me/s/<channel>``: HTML, no
account needed. A page holds about 20 messages; ``?before=<id>`` pages back, ``?after=<id>``
forward. :func:`parse_page` turns a page into messages; :func:`channel_post` into plain posts
(id ``<channel>/<message id>``, as in the page's ``data-post``).

What the preview cannot give: private channels and groups, and the message author inside a
group (channels show no author). Those need an account over MTProto (docs/intake.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import httpx
import lxml.html

DEFAULT_WEB_URL = "https://t.me"


@dataclass(frozen=True)
class Message:
    id: int
    text: str
    created_at: str          # ISO 8601, UTC


@dataclass(frozen=True)
class Page:
    title: str
    messages: list[Message]   # oldest first, as the page shows them


class PageError(Exception):
    def __init__(self, reason: str, code: str):
        super().__init__(reason)
        self.code = code


def _text(node) -> str:
    for br in node.iter("br"):
        br.tail = "\n" + (br.tail or "")
    return node.text_content().strip()


def parse_page(html: bytes | str, channel: str) -> Page:
    """Messages of one preview page with text; service messages, posts without text (a photo or a
    poll alone) and messages of another channel (a forwarded-from link) are left out."""
    try:
        root = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError) as exc:
        raise PageError(f"t.me/s/{channel}: not an HTML page ({exc})", "bad_html") from None
    title_node = root.find_class("tgme_channel_info_header_title")
    title = title_node[0].text_content().strip() if title_node else ""
    out = []
    for node in root.find_class("tgme_widget_message"):
        post = node.get("data-post") or ""
        name, _, number = post.rpartition("/")
        if name.lower() != channel.lower() or not number.isdigit() or "service_message" in (node.get("class") or ""):
            continue
        texts = node.find_class("tgme_widget_message_text")
        times = [t for t in node.iter("time") if t.get("datetime")]
        if not texts or not times:
            continue
        text = _text(texts[-1])
        try:
            created = datetime.fromisoformat(times[-1].get("datetime")).astimezone(timezone.utc).isoformat()
        except ValueError:
            continue
        if text:
            out.append(Message(int(number), text, created))
    out.sort(key=lambda m: m.id)
    return Page(title, out)


def channel_post(msg: Message, channel: str, title: str) -> dict:
    """One message as a plain post."""
    return {"source": "telegram", "id": f"{channel}/{msg.id}", "text": msg.text, "created_at": msg.created_at,
            "community_id": channel, "community_name": title or channel, "url": f"https://t.me/{channel}/{msg.id}"}


async def fetch_page(http: httpx.AsyncClient, base: str, channel: str, before: int | None = None,
                     after: int | None = None) -> Page:
    params = {"before": before} if before else {"after": after} if after is not None else {}
    try:
        r = await http.get(f"{base}/s/{channel}", params=params)
    except httpx.HTTPError as exc:
        raise PageError(f"t.me/s/{channel}: {type(exc).__name__}", "network") from None
    if r.status_code == 429:
        raise PageError(f"t.me/s/{channel}: too many requests (HTTP 429)", "http_429")
    if r.status_code >= 400:
        raise PageError(f"t.me/s/{channel}: HTTP {r.status_code}", f"http_{r.status_code}")
    if 300 <= r.status_code < 400:    # t.me sends a channel without a public preview to t.me/<name>
        raise PageError(f"t.me/s/{channel}: redirected to {r.headers.get('location', '?')}: no public preview", "not_public")
    return parse_page(r.content, channel)
