"""Benchmark: missing-person alert latency through the real stack (durable local broker, one warm
worker, chDB) while ordinary posts stream in: every ``--every`` seconds a missing-person post (a
positive of nlp/corpus/missing_person/heldout.jsonl) is published among the sample feed paced at
``--rate`` posts/s, and the time from its publication to the webhook receiving its alert is measured.
Also counts alerts raised by the ordinary posts (false alarms in the sample feed).

    .venvs/stream/bin/python bench/fast_lane.py [--rate 300] [--seconds 40] [--every 2]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=300, help="ordinary posts per second")
    ap.add_argument("--seconds", type=float, default=40)
    ap.add_argument("--every", type=float, default=2.0, help="seconds between missing-person posts")
    args = ap.parse_args()

    received: dict[str, float] = {}
    kinds: list[str] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            received.setdefault(body.get("post_id", ""), time.time())
            kinds.append(body.get("url", ""))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *a):
            pass

    hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    import os

    os.environ["TSUR_NOTIFY_WEBHOOK_URL"] = f"http://127.0.0.1:{hook.server_address[1]}/hook"
    from bench.local_stack import start_local_stack
    from intake.producer import publish
    from intake.raw_post import post_id_for
    from intake.sample import generate
    from tsur import processes
    from warehouse.session import warehouse_session

    s, broker, _ = start_local_stack("tsur-bench-fastlane-", 19492, 16492)
    rows = [json.loads(x) for x in (ROOT / "nlp/corpus/missing_person/heldout.jsonl").read_text(encoding="utf-8").splitlines()]
    missing = [r["text"] for r in rows if r["missing_person"]]
    ordinary = list(generate("Краснодарский край", 14, 11, per_day=max(50, int(args.rate * args.seconds) // 14 + 1)))
    worker = processes.start("worker", [sys.executable, "-m", "streams.app", "worker", "-l", "warn"], s.logs_dir)
    try:
        # warm: wait until a first post is stored (models loaded, group joined)
        publish(s.bootstrap_servers, s.topics["posts_raw"], [json.dumps(dict(ordinary[0], id="warm"), ensure_ascii=False).encode()])
        t0 = time.monotonic()
        while time.monotonic() - t0 < 180:
            with warehouse_session(s.clickhouse_dsn) as c:
                if c.query("SELECT count() FROM posts_enriched").result_rows[0][0]:
                    break
            time.sleep(0.5)
        print(f"worker warm after {time.monotonic() - t0:.1f} s", flush=True)

        n_missing = int(args.seconds / args.every)
        sent: dict[str, float] = {}       # post id -> when it was published
        per_slot = max(1, int(args.rate * args.every))
        payloads = []
        for i in range(n_missing):
            for j in range(per_slot):
                payloads.append(("o", json.dumps(dict(ordinary[(i * per_slot + j) % len(ordinary)], id=f"o{i}-{j}"),
                                                  ensure_ascii=False).encode()))
            obj = {"source": "vk", "id": f"mp{i}", "text": missing[i % len(missing)], "created_at": None,
                   "region_hint": "Краснодарский край", "url": f"https://vk.com/wall-1_mp{i}"}
            payloads.append(("m", obj))

        async def produce() -> tuple[int, float]:
            """Everything through one producer, paced: the ordinary posts in chunks of a tenth of a second."""
            from aiokafka import AIOKafkaProducer

            producer = AIOKafkaProducer(bootstrap_servers=s.bootstrap_servers, acks="all", linger_ms=5)
            await producer.start()
            topic, chunk, done = s.topics["posts_raw"], max(1, int(args.rate / 10)), 0
            start = time.time()
            try:
                for kind, p in payloads:
                    if kind == "m":
                        p["created_at"] = time.time()
                        sent[post_id_for("vk", p["id"])] = time.time()
                        await producer.send_and_wait(topic, json.dumps(p, ensure_ascii=False).encode())
                        continue
                    await producer.send(topic, p)
                    done += 1
                    if done % chunk == 0:
                        await producer.flush()
                        due = start + done / args.rate
                        if due > time.time():
                            await asyncio.sleep(due - time.time())
                await producer.flush()
            finally:
                await producer.stop()
            return done, time.time() - start

        done, wall = asyncio.run(produce())
        deadline = time.time() + 30          # (the posts the detector misses never alert)
        while time.time() < deadline and not all(pid in received for pid in sent):
            time.sleep(0.25)
        lat = sorted(received[pid] - t for pid, t in sent.items() if pid in received)
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{s.worker_web_port}/metrics").read().decode()
        alerts_total = next((ln.split()[-1] for ln in metrics.splitlines() if ln.startswith("tsur_missing_person_alerts_total")), "?")
        false_alarms = sum(1 for u in kinds if "_mp" not in u)
        print(f"ordinary posts: {done} at {args.rate:.0f}/s target ({done / wall:,.0f}/s achieved over {wall:.1f} s)")
        print(f"missing-person posts: {len(sent)}; alerts delivered to the webhook: {len(lat)} of {len(sent)}; "
              f"worker counted {alerts_total} alerts; false alarms from the ordinary posts: {false_alarms}")
        if lat:
            print(f"alert latency publish -> webhook: p50 {lat[len(lat) // 2]:.2f} s, p95 {lat[int(0.95 * (len(lat) - 1))]:.2f} s, "
                  f"max {lat[-1]:.2f} s")
    finally:
        worker.stop()
        broker.stop()
        hook.shutdown()


if __name__ == "__main__":
    main()
