"""Telegram over MTProto with a user account (Telethon): channels and groups the account is a
member of, including those without a public web preview.

Credentials from the environment: ``TSUR_TELEGRAM_API_ID`` and ``TSUR_TELEGRAM_API_HASH`` (from
my.telegram.org); the authorised session lives in ``<data dir>/secrets/telegram-account.session``
and is made once, interactively, by ``tsur telegram-login`` (phone number and the code Telegram
sends). Nothing else is stored.

Reading: ``iter_messages(chat, min_id=<position>, reverse=True)`` — oldest first, only messages
after the position; the first start reads from ``backfill_days`` ago (``offset_date``). Ids match
the Bot API and the web preview (``<public name>/<id>`` when the chat is named by its public name,
else ``<chat id>_<id>``), so one chat read two ways is stored once.

MTProto cannot be served by a local fake over its real protocol: the tests drive this module
through a stand-in client at the library's boundary (``iter_messages``, ``FloodWaitError``).
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

SESSION_NAME = "telegram-account"


class AccountError(Exception):
    """``code``: "not_authorised" (stop), "flood_wait" (wait ``retry_after`` s), "no_chat" (skip), "rpc" (retry)."""

    def __init__(self, code: str, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after


def session_path(data_dir: Path) -> Path:
    return data_dir / "secrets" / SESSION_NAME


def telethon_client(session: Path, api_id: int, api_hash: str):
    from telethon import TelegramClient

    session.parent.mkdir(parents=True, exist_ok=True)
    return TelegramClient(str(session), api_id, api_hash)


def account_message(msg, chat: str) -> dict | None:
    """A Telethon message as a plain post; None without text (a photo without a caption, a service message)."""
    text = getattr(msg, "message", None) or ""
    if not isinstance(text, str) or not text.strip():
        return None
    named = not chat.lstrip("-").isdigit()
    chat_id = getattr(msg, "chat_id", None)
    sid = f"{chat}/{msg.id}" if named else f"{chat_id if chat_id is not None else chat}_{msg.id}"
    date = msg.date if msg.date.tzinfo else msg.date.replace(tzinfo=timezone.utc)
    post = {"source": "telegram", "id": sid, "text": text, "created_at": date.astimezone(timezone.utc).isoformat(),
            "community_id": chat if named else str(chat_id if chat_id is not None else chat), "community_name": chat}
    sender = getattr(msg, "sender_id", None)
    if sender is not None:
        post["author_id"] = str(sender)
    if named:
        post["url"] = f"https://t.me/{chat}/{msg.id}"
    return post


class AccountReader:
    """One connected client for every account source of a collector."""

    def __init__(self, make_client: Callable[[], object]):
        self.make_client = make_client
        self.client = None

    async def _ready(self):
        if self.client is None:
            client = self.make_client()
            await client.connect()
            if not await client.is_user_authorized():
                await client.disconnect()
                raise AccountError("not_authorised", "the Telegram account session is not authorised; run `tsur telegram-login` "
                                                     "(TSUR_TELEGRAM_API_ID and TSUR_TELEGRAM_API_HASH set)")
            self.client = client
        return self.client

    async def messages(self, chat: str, min_id: int | None, since: datetime, limit: int = 2000) -> list:
        """Messages after ``min_id`` (or since ``since`` when there is no position), oldest first."""
        from telethon import errors

        client = await self._ready()
        entity = int(chat) if chat.lstrip("-").isdigit() else chat
        kwargs = {"reverse": True, "limit": limit}
        if min_id is not None:
            kwargs["min_id"] = min_id
        else:
            kwargs["offset_date"] = since
        try:
            return [m async for m in client.iter_messages(entity, **kwargs)]
        except errors.FloodWaitError as exc:
            raise AccountError("flood_wait", f"Telegram asks to wait {exc.seconds} s (FLOOD_WAIT)", retry_after=exc.seconds) from None
        except (errors.ChannelPrivateError, errors.UsernameNotOccupiedError, errors.UsernameInvalidError,
                errors.ChatAdminRequiredError, ValueError) as exc:
            raise AccountError("no_chat", f"{chat}: {type(exc).__name__}: {str(exc)[:120]} (not a chat this account can read)") from None
        except errors.RPCError as exc:
            raise AccountError("rpc", f"{chat}: {type(exc).__name__}: {str(exc)[:120]}") from None

    async def close(self) -> None:
        if self.client is not None:
            await self.client.disconnect()
            self.client = None


async def login(session: Path, api_id: int, api_hash: str) -> str:
    """Authorise the session interactively (phone number, code, 2FA password if set); returns who."""
    client = telethon_client(session, api_id, api_hash)
    await client.start()
    me = await client.get_me()
    await client.disconnect()
    return f"{getattr(me, 'first_name', '') or ''} (id {getattr(me, 'id', '?')})"
