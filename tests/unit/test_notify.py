"""Alert delivery (streams/notify.py): message text, channel selection, retries and give-up, once per
alert id — against a real local HTTP receiver, and a closed port for the failing channel."""
import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from streams.notify import Channels, Notifier, alert_text
from tests.conftest import free_port

ALERT = {"alert_id": "a1", "kind": "missing_person", "region": "Краснодарский край", "municipality": "Усть-Лабинский район",
         "settlement": "Южный", "created_at": "2026-12-05T10:00:00+00:00", "lat": 45.2, "lon": 39.7,
         "url": "https://vk.com/wall-1_1", "text": "Пропал мальчик 11 лет"}


def test_alert_text_names_what_where_and_the_link():
    subject, body = alert_text(ALERT)
    assert subject == "[tsur] Пропал человек: Южный, Усть-Лабинский район, Краснодарский край"
    assert "https://vk.com/wall-1_1" in body and "Пропал мальчик" in body and "alert_id: a1" in body and "45.20000" in body


def test_channels_and_kinds():
    assert Channels().names() == []
    assert Channels(emails=("a@b.ru",)).names() == []                 # no SMTP host: no e-mail channel
    ch = Channels(emails=("a@b.ru",), smtp_host="127.0.0.1", webhook_url="http://x/", telegram_token="t", telegram_chat="1")
    assert ch.names() == ["email", "webhook", "telegram"]
    n = Notifier(Channels(webhook_url="http://x/"))
    assert n.wanted(ALERT) and not n.wanted({**ALERT, "kind": "tension"})
    assert not Notifier(Channels()).wanted(ALERT)                     # nothing configured: nothing to do


def test_delivers_once_per_alert_and_gives_up_on_a_dead_channel():
    got = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    dead = f"http://127.0.0.1:{free_port()}"                         # nothing listens there
    ch = Channels(webhook_url=f"http://127.0.0.1:{server.server_address[1]}/hook", telegram_token="tok",
                  telegram_chat="42", telegram_api=dead, attempts=3, timeout=2)

    async def run():
        n = Notifier(ch, backoff=0.01)
        try:
            first = await n.deliver(ALERT)
            again = await n.deliver(ALERT)                              # a redelivered message: not sent twice
            return n, first, again
        finally:
            await n.close()

    try:
        n, first, again = asyncio.run(run())
    finally:
        server.shutdown()
    assert got == [ALERT] and again == {}
    assert set(first) == {"telegram"} and "Connect" in first["telegram"]
    assert n.sent == {"email": 0, "webhook": 1, "telegram": 0} and n.failed["telegram"] == 1
