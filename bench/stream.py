"""Benchmark of the real-time path on this machine: one worker, the embedded broker (Tansu) and
chDB. Prints end-to-end throughput (raw → enriched → ClickHouse) next to a plain Faust
pass-through agent measured in the same run, and the produce → stored latency (p50/p95) at a
fixed rate — once per broker storage (durable ``s3`` on localbucket, the default, and ``memory``),
each on a fresh stack, with a table of both at the end.

    .venvs/stream/bin/python bench/stream.py [--posts 20000] [--rate 500] [--seconds 20] [--storage s3,memory]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its waited-for children so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """The process and its descendants (the worker's enrichment process), from /proc."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            todo.extend(int(c) for c in task.read_text().split())
    return out


def tree_cpu_seconds(pid: int) -> float:
    total = 0.0
    for p in process_tree(pid):
        try:
            total += cpu_seconds(p)
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def tree_rss_mb(pid: int) -> list[float]:
    """Resident memory (MB) of the process and of each descendant."""
    out = []
    for p in process_tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except FileNotFoundError:
            continue
        out.append(int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("VmRSS:"))) / 1024)
    return out


def stored_so_far(port: int) -> int:
    """Posts the worker has stored so far (its /metrics): polling the embedded store instead would
    take its lock from the worker every time (the worker's session would close and reopen)."""
    import re
    import urllib.request

    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    except OSError:
        return 0
    m = re.search(r"^tsur_posts_stored_total ([0-9.]+)", text, re.M)
    return int(float(m[1])) if m else 0


def worker_stages(port: int) -> dict[str, float]:
    """Seconds per batch stage so far, from the worker's /metrics (tsur_batch_stage_seconds_total)."""
    import re
    import urllib.request

    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    stages = {m[1]: float(m[2]) for m in re.finditer(r'tsur_batch_stage_seconds_total\{stage="(\w+)"\} ([0-9.]+)', text)}
    batches = re.search(r"^tsur_batch_seconds_total ([0-9.]+)", text, re.M)
    stages["(batches in all)"] = float(batches[1]) if batches else float("nan")
    return stages


def print_stages(stages: dict[str, float], posts: int, wall: float) -> None:
    stages.pop("(batches in all)")
    print(f"where the time goes (the {posts} posts of the throughput run, {wall:.1f} s; µs per post, share of the run):")
    for stage, seconds in stages.items():
        note = "  (runs while the next batch is validated and enriched)" if stage == "insert" else ""
        print(f"  {stage:<13} {seconds / posts * 1e6:8.1f} µs  {seconds / wall:6.1%}{note}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=20000)
    ap.add_argument("--rate", type=float, default=500)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--storage", default="s3,memory", help="broker storages to measure, in order (default s3,memory)")
    args = ap.parse_args()
    storages = [x.strip() for x in args.storage.split(",") if x.strip()]
    if len(storages) == 1:                  # one storage: measure here, in this process
        from intake.sample import generate

        posts = list(generate("Краснодарский край", 14, 7, per_day=max(50, args.posts // 14)))[: args.posts]
        print("RESULT " + json.dumps(run(storages[0], posts, args, 19392, 16392)))
        return
    results = []                            # several: each in its own process (one chDB store per process)
    for storage in storages:
        print(f"== broker storage {storage} ==", flush=True)
        out = subprocess.run([sys.executable, __file__, "--posts", str(args.posts), "--rate", str(args.rate),
                              "--seconds", str(args.seconds), "--storage", storage], capture_output=True, text=True)
        lines = out.stdout.splitlines()
        print("\n".join(ln for ln in lines if not ln.startswith("RESULT ")), flush=True)
        if out.returncode != 0 or not any(ln.startswith("RESULT ") for ln in lines):
            raise SystemExit(f"the {storage} run failed:\n{out.stderr[-3000:]}")
        results.append((storage, json.loads(next(ln for ln in lines if ln.startswith("RESULT "))[7:])))
    print(f"\n{'storage':<8} {'pass-through ev/s':>18} {'end-to-end posts/s':>19} {'share':>6} {'p50 s':>6} {'p95 s':>6}")
    for storage, r in results:
        print(f"{storage:<8} {r['pass']:>18,.0f} {r['e2e']:>19,.0f} {r['e2e'] / r['pass']:>6.0%} {r['p50']:>6.2f} {r['p95']:>6.2f}")


def run(storage: str, posts: list[dict], args, broker_port: int, web_port: int) -> dict:
    """One storage on a fresh stack: pass-through, throughput, latency; prints and returns the figures."""
    os.environ["TSUR_BROKER_STORAGE"] = storage
    from bench.local_stack import start_local_stack
    from intake.producer import publish
    from tsur import processes
    from warehouse.session import warehouse_session

    s, broker, data = start_local_stack(f"tsur-bench-{storage}-", broker_port, web_port)
    payloads = [json.dumps(p, ensure_ascii=False).encode() for p in posts]
    brokers = [("broker", broker.broker)] + ([("broker-s3", broker.s3)] if broker.s3 else [])

    def stored() -> int:
        with warehouse_session(s.clickhouse_dsn) as c:
            return int(c.query("SELECT count() FROM posts_enriched").result_rows[0][0])

    try:
        # 1. plain Faust pass-through on a copy of the stream
        publish(s.bootstrap_servers, "bench.copy", payloads)
        env = {**os.environ, "BENCH_BROKER": s.broker_url, "BENCH_TOPIC": "bench.copy", "BENCH_N": str(len(payloads))}
        pt = processes.start("passthrough", [sys.executable, str(Path(__file__).with_name("passthrough_app.py")), "worker", "-l", "warn"],
                             s.logs_dir, env=env)
        t0 = time.monotonic()
        line = None
        while time.monotonic() - t0 < 600 and line is None and pt.alive():
            for l in pt.log_path.read_text(errors="replace").splitlines():
                if "PASSTHROUGH " in l:
                    line = l[l.index("PASSTHROUGH "):]
            time.sleep(0.5)
        pt.stop()
        pass_rate = len(payloads) / float(line.split()[2]) if line else float("nan")

        # 2. the real worker, everything already in the topic
        publish(s.bootstrap_servers, s.topics["posts_raw"], payloads)
        worker = processes.start("worker", [sys.executable, "-m", "streams.app", "worker", "-l", "warn"], s.logs_dir)
        first_t = None
        while True:
            n = stored_so_far(s.worker_web_port)
            if n and first_t is None:
                first_t, first_n = time.monotonic(), n
                cpu0 = {k: tree_cpu_seconds(p.proc.pid) for k, p in [("worker", worker)] + brokers}
            if n >= len(payloads):
                break
            if not worker.alive():
                raise SystemExit(f"worker died:\n{worker.tail(20)}")
            time.sleep(0.1)
        wall = max(1e-9, time.monotonic() - first_t)
        e2e = (len(payloads) - first_n) / wall
        busy = {k: (tree_cpu_seconds(p.proc.pid) - cpu0[k]) / wall for k, p in [("worker", worker)] + brokers}
        rss = tree_rss_mb(worker.proc.pid)
        time.sleep(1.0)                     # the last batch sends its messages after it is stored
        stages = worker_stages(s.worker_web_port)
        if stored() < len(payloads):
            raise SystemExit(f"the worker counted {len(payloads)} posts stored, the store holds {stored()}")

        # 3. latency at a fixed rate: the producer paces itself (tsur ingest --rate); post i is due
        # at t0 + i / rate, and its stored time is its enriched_at
        paced = [dict(p, id=f"lat-{i}") for i, p in enumerate(posts[: int(args.rate * args.seconds)])]
        t0 = time.time()
        sent_at = {obj["id"]: t0 + i / args.rate for i, obj in enumerate(paced)}
        publish(s.bootstrap_servers, s.topics["posts_raw"], (json.dumps(o, ensure_ascii=False).encode() for o in paced), rate=args.rate)
        deadline = time.time() + 120
        from intake.raw_post import post_id_for

        ids = {post_id_for(o["source"], o["id"]): o["id"] for o in paced}
        while time.time() < deadline and stored_so_far(s.worker_web_port) < len(payloads) + len(ids):
            time.sleep(0.5)
        with warehouse_session(s.clickhouse_dsn) as c:
            rows = c.query("SELECT post_id, toUnixTimestamp64Milli(enriched_at) FROM posts_enriched WHERE post_id IN {i:Array(String)}",
                           parameters={"i": list(ids)}).result_rows
        lat = sorted(ms / 1000 - sent_at[ids[pid]] for pid, ms in rows)
        worker.stop()
        p50, p95 = lat[len(lat) // 2], lat[int(0.95 * (len(lat) - 1))]
        print(f"plain Faust pass-through agent: {pass_rate:,.0f} events/s ({len(payloads)} posts)")
        print(f"end-to-end one worker (raw -> enriched -> incidents -> ClickHouse): {e2e:,.0f} posts/s ({len(payloads)} posts)")
        print(f"latency produce -> enriched row written at {args.rate:.0f} posts/s for {args.seconds:.0f} s: "
              f"p50 {p50:.2f} s, p95 {p95:.2f} s ({len(lat)} posts; the INSERT itself adds its duration)")
        print(f"share of the pass-through: {e2e / pass_rate:.0%}")
        print(f"CPU cores busy during the throughput run (the worker with its enrichment process; {os.cpu_count()} on this machine): "
              + ", ".join(f"{k} {v:.2f}" for k, v in busy.items()))
        print("worker memory after the throughput run: " + " + ".join(f"{m:,.0f}" for m in rss)
              + f" MB RSS (the worker{', its enrichment process' if len(rss) > 1 else ''})")
        print_stages(stages, len(payloads), wall)
        return {"pass": pass_rate, "e2e": e2e, "p50": p50, "p95": p95}
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
