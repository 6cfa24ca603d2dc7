"""Benchmark of live intake: one collector (tsur collect's code, in this process) against the local
replay of VK and Telegram (intake/replay_server.py, its own process), the embedded broker (Tansu),
one worker and chDB.

1. Throughput: --posts posts over --walls VK walls and --channels Telegram channels, all visible at
   once; the collector reads and publishes them (acknowledged by the broker). Prints posts/s.
2. Latency: posts appear at the replay at --rate per second for --seconds (each when the clock
   reaches its created_at); the collector polls every --poll seconds and the worker stores them.
   Prints, per post, "visible at the replay (created_at) → taken by the worker (ingested_at)"
   from the stored rows, the worker's own "ingest → stored" p95 (its /metrics), and their sum as
   an upper bound of the p95 of visible → stored.

    .venvs/stream/bin/python bench/intake.py [--posts 20000] [--rate 200] [--seconds 30] [--poll 1]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def sample(n: int, walls: int, channels: int, t0: float, step: float) -> list[dict]:
    out = []
    for i in range(n):
        k = i % (walls + channels)
        out.append({"source": "vk" if k < walls else "telegram", "id": f"b{i}", "text": f"Третий день нет воды на улице Ленина, дом {i}",
                    "author_id": f"id{i % 997}", "created_at": datetime.fromtimestamp(t0 + i * step, tz=timezone.utc).isoformat(),
                    "community_id": str(2_000_000 + k), "community_name": f"Подслушано {k}", "place_hint": "Усть-Лабинск"})
    return out


def serve(posts: list[dict], path: Path, port: int, logs: Path, in_time: bool):
    from tsur import processes

    path.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in posts), encoding="utf-8")
    argv = [sys.executable, "-m", "intake.replay_server", "--sample", str(path), "--port", str(port)] + (["--in-time"] if in_time else [])
    server = processes.start(f"replay-{port}", argv, logs)
    while not processes.port_open("127.0.0.1", port):
        if not server.alive():
            raise SystemExit(server.tail())
        time.sleep(0.1)
    return server


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=20000)
    ap.add_argument("--walls", type=int, default=40)
    ap.add_argument("--channels", type=int, default=10)
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--poll", type=float, default=1.0)
    args = ap.parse_args()

    from bench.local_stack import start_local_stack
    from warehouse.session import warehouse_session
    from intake.collector import Collector, Endpoints
    from intake.replay_server import Replay
    from tsur import processes

    s, broker, data = start_local_stack("tsur-bench-intake-", 19492, 16492)
    children = [broker]
    try:
        # 1. throughput: everything visible at once, publish only
        posts = sample(args.posts, args.walls, args.channels, time.time() - 3600, 0.1)
        mirror = Replay()
        served = mirror.load_sample(posts)
        reg = mirror.registry("Краснодарский край", served["places"], backfill_days=1, poll_seconds=3600)
        children.append(serve(posts, data / "throughput.jsonl", 18781, s.logs_dir, in_time=False))
        ep = Endpoints("http://127.0.0.1:18781/method", "http://127.0.0.1:18781", mirror.token, vk_rps=10000, telegram_rps=10000)

        async def throughput() -> tuple[float, dict]:
            async with Collector(s, reg, ep, say=lambda m: None) as col:
                t0 = time.perf_counter()
                for st in col.states:
                    st.owner_id = int(st.source.handle) if st.source.kind == "wall" else None
                    st.resume = False
                totals = await col.run(once=True, confirm_wait=0)
                return time.perf_counter() - t0, totals

        seconds, totals = asyncio.run(throughput())
        print(f"throughput: {totals['published']} posts from {len(reg.sources)} sources read and acknowledged by the broker "
              f"in {seconds:.2f} s = {totals['published'] / seconds:,.0f} posts/s (one collector, replay in its own process)")

        # 2. latency: posts appear at --rate per second; worker running; collector polling every --poll s
        worker = processes.start("worker", [sys.executable, "-m", "streams.app", "worker", "-l", "warn"], s.logs_dir)
        children.append(worker)
        n = int(args.rate * args.seconds)
        lead = 15.0                                   # the worker's group join and the first polls come first
        start = time.time() + lead
        live = sample(n, args.walls, args.channels, start, 1.0 / args.rate)
        for p in live:
            p["community_id"] = str(int(p["community_id"]) + 1000)
        mirror2 = Replay()
        served2 = mirror2.load_sample(live)
        reg2 = mirror2.registry("Краснодарский край", served2["places"], backfill_days=1, poll_seconds=args.poll)
        children.append(serve(live, data / "live.jsonl", 18782, s.logs_dir, in_time=True))
        ep2 = Endpoints("http://127.0.0.1:18782/method", "http://127.0.0.1:18782", mirror2.token, vk_rps=10000, telegram_rps=10000)

        async def latency() -> dict:
            stop = asyncio.Event()
            async with Collector(s, reg2, ep2, say=lambda m: None) as col:
                for st in col.states:
                    st.owner_id = int(st.source.handle) if st.source.kind == "wall" else None
                task = asyncio.create_task(col.run(stop=stop))
                deadline = start + args.seconds + 120
                while col.confirmed < n and time.time() < deadline:
                    if not worker.alive():
                        raise SystemExit(f"the worker stopped:\n{worker.tail(20)}")
                    await asyncio.sleep(0.5)
                stop.set()
                totals = await task
                return totals

        totals2 = asyncio.run(latency())
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{s.worker_web_port}/metrics", timeout=10) as r:
            metrics = r.read().decode()
        store_p95 = next(float(line.split()[-1]) for line in metrics.splitlines() if line.startswith('tsur_ingest_to_store_seconds{quantile="0.95"}'))
        ids = sorted(f"-{2_001_000 + k}" for k in range(args.walls)) + [f"c{2_001_000 + k}" for k in range(args.walls, args.walls + args.channels)]
        with warehouse_session(s.clickhouse_dsn) as c:
            (count, q50, q95, qmax), = c.query(
                "SELECT count(), quantile(0.5)(d), quantile(0.95)(d), max(d) FROM (SELECT dateDiff('millisecond', created_at, ingested_at) / 1000 AS d "
                "FROM posts_raw FINAL WHERE splitByChar('_', source_post_id)[1] IN {ids:Array(String)} "
                "OR splitByChar('/', source_post_id)[1] IN {ids:Array(String)})", parameters={"ids": ids}).result_rows
        print(f"latency at {args.rate:g} posts/s for {args.seconds:g} s, poll every {args.poll:g} s: {count} of {n} stored "
              f"({totals2['confirmed']} confirmed by the collector); visible at the replay → taken by the worker p50 {q50:.2f} s, "
              f"p95 {q95:.2f} s, max {qmax:.2f} s; the worker's ingest → stored p95 {store_p95:.2f} s; "
              f"visible → stored p95 ≤ {q95 + store_p95:.2f} s (target ≤ poll + 2 s = {args.poll + 2:g} s)")
    finally:
        for child in reversed(children):
            child.stop()
    print(f"data dir {data}")


if __name__ == "__main__":
    main()
