"""Scale-out of the stream on this machine: throughput of 1 vs 2 Faust workers on the same
partitioned topic (Tansu + chDB), and the rebalance pause when one of two workers is killed.

    .venvs/stream/bin/python bench/scale.py [--posts 12000] [--partitions 4]

Posts are the sample feed of four regions (message key = region, so four partitions get work).
Throughput is measured from the first stored post to the last, with every post already in the
topic and the workers warmed up. The pause is the longest time without a stored post after the
SIGKILL of one worker while posts arrive at a steady rate. Both workers share 2 cores, so the
scaling factor here shows contention as much as scale-out: on a real deployment each worker has
its own cores.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
REGIONS = ("Краснодарский край", "Ростовская область", "Воронежская область", "Тверская область")


def sample(n: int) -> list[bytes]:
    from intake.sample import generate

    per_region = n // len(REGIONS)
    out = []
    for i, region in enumerate(REGIONS):
        posts = list(generate(region, 7, 11 + i, per_day=max(50, per_region // 7 + 1)))[:per_region]
        for p in posts:
            p["id"] = f"{i}-{p['id']}"
        out += [json.dumps(p, ensure_ascii=False).encode() for p in posts]
    return out


def run(workers: int, payloads: list[bytes], partitions: int, port_base: int, kill_one: bool = False) -> dict:
    from tests.integration.stream_harness import Stack
    from tsur.config import Settings

    data = Path(tempfile.mkdtemp(prefix=f"tsur-scale-{workers}-"))
    env = {**os.environ, "TSUR_DATA_DIR": str(data), "TSUR_BROKER_PORT": str(port_base), "TSUR_TOPIC_PARTITIONS": str(partitions),
           "TSUR_WORKER_WEB_PORT": str(port_base + 10), "TSUR_PSEUDONYM_KEY": "bench-key-0123456789abcdef"}
    os.environ.update(env)
    s = Settings.from_env()
    st = Stack(s, env)
    st.migrate()
    st.start_broker()
    try:
        ws = [st.start_worker(f"worker-{i}", env={"TSUR_WORKER_WEB_PORT": str(port_base + 10 + i)}) for i in range(workers)]
        warm = payloads[:200 * partitions]
        st.publish(warm)                                   # models loaded, partitions assigned, caches warm
        st.wait_stored(len(warm), timeout=300)
        rest = payloads[len(warm):]
        st.publish(rest)
        t0, n0 = None, len(warm)
        while True:
            n = st.stored()[1]
            if n > n0 and t0 is None:
                t0, n0 = time.monotonic(), n
            if n >= len(payloads):
                break
            time.sleep(0.2)
        rate = (len(payloads) - n0) / (time.monotonic() - t0)
        result = {"workers": workers, "posts": len(rest), "posts_per_s": round(rate, 1)}
        if kill_one:
            extra = []
            for raw in payloads[:4000]:                    # the same texts again as new posts
                p = json.loads(raw)
                p["id"] = f"again-{p['id']}"
                extra.append(json.dumps(p, ensure_ascii=False).encode())
            feeder = threading.Thread(target=_steady, args=(st, extra, 200.0))
            feeder.start()
            time.sleep(5)
            ws[1].kill()
            killed = time.monotonic()
            last_n, last_change, pause = st.stored()[1], time.monotonic(), 0.0
            while last_n < len(payloads) + len(extra) and time.monotonic() - killed < 240:
                n = st.stored()[1]
                now = time.monotonic()
                if n != last_n:
                    pause = max(pause, now - last_change)
                    last_n, last_change = n, now
                time.sleep(0.1)
            feeder.join()
            result["rebalance_pause_s"] = round(pause, 1)
            result["after_kill_stored"] = last_n - len(payloads)
        return result
    finally:
        st.stop()


def _steady(st, payloads: list[bytes], rate: float) -> None:
    from intake.producer import publish

    publish(st.s.bootstrap_servers, st.s.topics["posts_raw"], payloads, rate=rate)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=12000)
    ap.add_argument("--partitions", type=int, default=4)
    args = ap.parse_args()
    os.environ.setdefault("TSUR_CACHE_DIR", str(ROOT / "data" / "cache"))
    payloads = sample(args.posts)
    print(f"{len(payloads)} sample posts from {len(REGIONS)} regions, {args.partitions} partitions, {os.cpu_count()} cores")
    one = run(1, payloads, args.partitions, 19592)
    print(f"1 worker : {one['posts_per_s']} posts/s")
    two = run(2, payloads, args.partitions, 19692, kill_one=True)
    print(f"2 workers: {two['posts_per_s']} posts/s  (scaling factor {two['posts_per_s'] / one['posts_per_s']:.2f})")
    print(f"rebalance: one of two workers SIGKILLed at 200 posts/s input → longest pause without stored posts "
          f"{two['rebalance_pause_s']} s ({two['after_kill_stored']} posts stored after the kill)")


if __name__ == "__main__":
    main()
