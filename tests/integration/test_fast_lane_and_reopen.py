"""Stage two and three through the real worker (Tansu + Faust + chDB):

- the missing-person fast lane: a post about a missing person, and its look-alikes, go through the
  worker; the alert reaches a real local SMTP server (aiosmtpd), a local webhook receiver and a
  local stand-in for the Telegram Bot API, once each; the post has an incident of its own;
- quality control: a resolved incident is reopened when complaints about it continue, and not for
  a new problem elsewhere."""
import json
import secrets
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import free_port

pytestmark = pytest.mark.slow
REGION = "Краснодарский край"


class _Mail:
    def __init__(self) -> None:
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((time.time(), envelope))
        return "250 Message accepted"


@pytest.fixture
def receivers():
    """A local SMTP server and one HTTP server for the webhook (/hook) and the Bot API (/bot…)."""
    mail = _Mail()
    smtp = Controller(mail, hostname="127.0.0.1", port=free_port())
    smtp.start()
    posted: list[tuple[float, str, dict]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            posted.append((time.time(), self.path, json.loads(body)))
            reply = b'{"ok": true, "result": {}}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    http = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    try:
        yield smtp.port, mail, http.server_address[1], posted
    finally:
        http.shutdown()
        smtp.stop()


def post(i: str, text: str, at: datetime) -> bytes:
    return json.dumps({"source": "vk", "id": i, "text": text, "created_at": at.isoformat(), "region_hint": REGION,
                       "community_name": "Подслушано Усть-Лабинск", "url": f"https://vk.com/wall-1_{i}"},
                      ensure_ascii=False).encode()


def wait_for(fn, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_missing_person_alert_reaches_every_channel_once(stack, receivers):
    smtp_port, mail, http_port, posted = receivers
    token, chat = secrets.token_hex(8), "-100200300"
    worker = stack.start_worker(env={
        "TSUR_NOTIFY_EMAILS": "poisk@example.org", "TSUR_NOTIFY_SMTP_HOST": "127.0.0.1", "TSUR_NOTIFY_SMTP_PORT": str(smtp_port),
        "TSUR_NOTIFY_WEBHOOK_URL": f"http://127.0.0.1:{http_port}/hook",
        "TSUR_TELEGRAM_BOT_TOKEN": token, "TSUR_TELEGRAM_BOT_API_URL": f"http://127.0.0.1:{http_port}",
        "TSUR_NOTIFY_TELEGRAM_CHAT": chat})
    now = datetime.now(timezone.utc)
    missing = ("Внимание! Пропал мальчик 11 лет в посёлке Южном Усть-Лабинского района, ушёл из дома и не вернулся. "
               "Был одет в синюю куртку. Кто видел, звоните")
    payloads = [post("m1", missing, now),
                post("n1", "Пропал кот, рыжий, в посёлке Южном Усть-Лабинского района, помогите найти!", now),
                post("n2", "Третий день пропадает свет в посёлке Южном Усть-Лабинского района", now),
                post("n3", "Третий день нет воды в посёлке Южном Усть-Лабинского района, дети без воды!", now)]
    sent_at = time.time()
    stack.publish(payloads)
    stack.wait_stored(4, worker=worker)
    wait_for(lambda: len(mail.envelopes) >= 1 and len(posted) >= 2, what="the alert on every channel")
    time.sleep(3)                                   # nothing more arrives (the look-alikes raise none)
    assert len(mail.envelopes) == 1 and len(posted) == 2, (mail.envelopes, posted)
    hook = next(body for _, path, body in posted if path == "/hook")
    bot = next(body for _, path, body in posted if path.startswith("/bot"))
    assert hook["kind"] == "missing_person" and "мальчик" in hook["text"] and hook["url"].endswith("_m1")
    assert hook["municipality"] == "Усть-Лабинский район" and hook["settlement"] == "Южный"
    assert bot["chat_id"] == chat and "Пропал человек" in bot["text"] and hook["alert_id"] in bot["text"]
    _, envelope = mail.envelopes[0]
    assert envelope.rcpt_tos == ["poisk@example.org"] and hook["alert_id"].encode() in envelope.content
    latency = max(t for t, *_ in [*posted, *mail.envelopes]) - sent_at
    print(f"\nmissing-person alert: published → delivered on every channel in {latency:.2f} s")

    # stored: the alert names its post and the incident of its own, which no other post joined
    ((kind, incident_id),) = stack.query("SELECT kind, incident_id FROM alerts FINAL WHERE kind = 'missing_person'")
    assert incident_id == hook["incident_id"]
    ((posts_count,),) = stack.query("SELECT posts_count FROM incidents FINAL WHERE incident_id = {i:String}", i=incident_id)
    assert posts_count == 1
    metrics = __import__("urllib.request").request.urlopen(f"http://127.0.0.1:{stack.s.worker_web_port}/metrics").read().decode()
    assert 'tsur_notifications_total{channel="webhook",outcome="sent"} 1' in metrics
    assert "tsur_missing_person_alerts_total 1" in metrics


def test_resolved_incident_reopens_when_complaints_continue(stack):
    import subprocess

    from tests.conftest import tsur_cmd

    now = datetime.now(timezone.utc)
    water = "Третий день нет воды в посёлке Южном Усть-Лабинского района, водоканал молчит"
    stack.publish([post("w1", water, now - timedelta(hours=3)), post("w2", water + ", дети без воды", now - timedelta(hours=2))])
    worker = stack.start_worker()
    stack.wait_stored(2, worker=worker)
    ((iid,),) = wait_for(lambda: stack.query("SELECT incident_id FROM incident_current WHERE posts_count = 2"), what="the incident")

    r = subprocess.run(tsur_cmd("incident", "update", iid, "--status", "resolved", "--comment", "Водопровод починили"),
                       env=stack.env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: stack.query("SELECT 1 FROM incident_current WHERE incident_id = {i:String} AND status = 'resolved'", i=iid),
             what="the resolution")
    time.sleep(1)
    later = datetime.now(timezone.utc)
    stack.publish([post("w3", "Опять нет воды в посёлке Южном Усть-Лабинского района, водоканал молчит", later),
                   post("r1", "Огромные ямы на дороге в посёлке Южном Усть-Лабинского района, машины ломаются", later)])
    stack.wait_stored(4, worker=worker)
    got = wait_for(lambda: stack.query(
        "SELECT status, posts_count FROM incident_current WHERE incident_id = {i:String} AND status = 'reopened'", i=iid),
        what="the reopening")
    assert got == [("reopened", 3)]
    ((actor, comment),) = stack.query("SELECT actor, comment FROM incident_status_events FINAL "
                                      "WHERE incident_id = {i:String} AND status = 'reopened'", i=iid)
    assert actor == "tsur" and "complaints continued" in comment
    ((reopened,),) = stack.query("SELECT reopened FROM incidents FINAL WHERE incident_id = {i:String}", i=iid)
    assert reopened == 1
    # the pothole is a new incident, and nothing else was reopened
    rows = stack.query("SELECT sector, status FROM incident_current WHERE incident_id != {i:String}", i=iid)
    assert rows == [("roads", "new")]
