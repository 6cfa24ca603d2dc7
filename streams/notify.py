"""Deliver alerts to people: e-mail through SMTP, a webhook URL (JSON POST), a Telegram bot chat.

The worker's ``deliver_alerts`` agent reads the alerts topic and hands each alert of a configured
kind (``TSUR_NOTIFY_KINDS``, default ``missing_person``) to every configured channel, retrying a
failing channel with backoff; the alert's offset is committed only afterwards, so a worker that
stops mid-way delivers it again (at least once; the alert id in every message lets a receiver drop a
repeat). A channel that still fails after ``attempts`` tries is given up for that alert and the
alert goes to the dead-letter topic with the reason. Configuration: docs/quality-control.md.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass, field

log = logging.getLogger("tsur.notify")

TITLES = {"missing_person": "Пропал человек", "tension": "Всплеск жалоб"}


@dataclass(frozen=True)
class Channels:
    kinds: tuple[str, ...] = ("missing_person",)
    emails: tuple[str, ...] = ()
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_starttls: bool = False
    sender: str = "tsur@localhost"
    webhook_url: str = ""
    telegram_token: str = field(default="", repr=False)
    telegram_chat: str = ""
    telegram_api: str = "https://api.telegram.org"
    attempts: int = 5
    timeout: float = 10.0

    @classmethod
    def from_settings(cls, s) -> Channels:
        return cls(kinds=s.notify_kinds, emails=s.notify_emails, smtp_host=s.notify_smtp_host, smtp_port=s.notify_smtp_port,
                   smtp_user=s.notify_smtp_user, smtp_password=s.notify_smtp_password,
                   smtp_starttls=s.notify_smtp_starttls, sender=s.notify_sender, webhook_url=s.notify_webhook_url,
                   telegram_token=s.telegram_bot_token, telegram_chat=s.notify_telegram_chat,
                   telegram_api=s.telegram_bot_api_url)

    def names(self) -> list[str]:
        """The configured channels."""
        out = []
        if self.emails and self.smtp_host:
            out.append("email")
        if self.webhook_url:
            out.append("webhook")
        if self.telegram_token and self.telegram_chat:
            out.append("telegram")
        return out


def alert_text(alert: dict) -> tuple[str, str]:
    """(subject, plain text) of an alert: what, where, when, the post and its link."""
    kind = alert.get("kind", "")
    place = ", ".join(x for x in (alert.get("settlement"), alert.get("municipality"), alert.get("region")) if x) or "место не определено"
    subject = f"[tsur] {TITLES.get(kind, kind)}: {place}"
    lines = [f"{TITLES.get(kind, kind)} — {place}"]
    if alert.get("created_at"):
        lines.append(f"Время поста: {alert['created_at']}")
    if alert.get("lat") is not None and alert.get("lon") is not None:
        lines.append(f"Координаты: {alert['lat']:.5f}, {alert['lon']:.5f}")
    if alert.get("url"):
        lines.append(f"Пост: {alert['url']}")
    if alert.get("text"):
        lines += ["", alert["text"]]
    if kind == "tension":
        lines.append(f"Жалоб: {alert.get('observed')} (ожидалось {alert.get('baseline')}), отрасль {alert.get('sector')}")
    lines += ["", f"alert_id: {alert.get('alert_id')}"]
    return subject, "\n".join(lines)


async def _email(ch: Channels, alert: dict) -> None:
    from email.message import EmailMessage

    from reports.delivery import send_smtp

    subject, body = alert_text(alert)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = ch.sender, ", ".join(ch.emails), subject
    msg["X-Tsur-Alert-Id"] = str(alert.get("alert_id", ""))
    msg.set_content(body)
    await asyncio.to_thread(send_smtp, msg, ch.smtp_host, ch.smtp_port, ch.smtp_user or None, ch.smtp_password or None,
                            ch.smtp_starttls, ch.timeout)


async def _post_json(session, url: str, payload: dict, timeout: float) -> None:
    import aiohttp

    async with session.post(url, json=payload, timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
        if resp.status >= 300:
            raise RuntimeError(f"HTTP {resp.status}: {(await resp.text())[:200]}")


async def _webhook(ch: Channels, alert: dict, session) -> None:
    await _post_json(session, ch.webhook_url, alert, ch.timeout)


async def _telegram(ch: Channels, alert: dict, session) -> None:
    _, body = alert_text(alert)
    url = f"{ch.telegram_api.rstrip('/')}/bot{ch.telegram_token}/sendMessage"
    await _post_json(session, url, {"chat_id": ch.telegram_chat, "text": body[:4000], "disable_web_page_preview": True},
                     ch.timeout)


class Notifier:
    """Delivers alerts to the configured channels, once per alert id within a process."""

    def __init__(self, channels: Channels, backoff: float = 0.5):
        self.channels = channels
        self.backoff = backoff
        self.delivered: OrderedDict[str, None] = OrderedDict()   # recent alert ids (a redelivered message)
        self.sent = {name: 0 for name in ("email", "webhook", "telegram")}
        self.failed = dict(self.sent)
        self._session = None

    def wanted(self, alert: dict) -> bool:
        return alert.get("kind") in self.channels.kinds and bool(self.channels.names())

    async def deliver(self, alert: dict) -> dict[str, str]:
        """Send one alert to every channel (retrying each); returns the channels that failed, with why."""
        aid = str(alert.get("alert_id", ""))
        if aid in self.delivered:
            return {}
        if self._session is None:
            import aiohttp

            self._session = aiohttp.ClientSession()
        senders = {"email": lambda: _email(self.channels, alert), "webhook": lambda: _webhook(self.channels, alert, self._session),
                   "telegram": lambda: _telegram(self.channels, alert, self._session)}
        failures = {}
        results = await asyncio.gather(*(self._with_retries(name, senders[name]) for name in self.channels.names()))
        for name, error in zip(self.channels.names(), results):
            if error:
                failures[name] = error
                self.failed[name] += 1
            else:
                self.sent[name] += 1
        self.delivered[aid] = None
        while len(self.delivered) > 10_000:
            self.delivered.popitem(last=False)
        return failures

    async def _with_retries(self, name: str, send) -> str | None:
        delay = self.backoff
        for attempt in range(1, self.channels.attempts + 1):
            try:
                await send()
                return None
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"[:300]
                log.warning("alert delivery by %s failed (attempt %d of %d): %s", name, attempt, self.channels.attempts, error)
                if attempt < self.channels.attempts:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 30.0)
        return error

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def parse_alert(value: bytes) -> dict | None:
    try:
        obj = json.loads(value)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None
