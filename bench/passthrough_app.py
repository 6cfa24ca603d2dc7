"""A plain Faust pass-through agent (reference for bench/stream.py): consume a topic, count, nothing else."""
import os
import time

import faust

app = faust.App("bench-passthrough", broker=os.environ["BENCH_BROKER"], value_serializer="raw", store="memory://",
                web_enabled=False, consumer_auto_offset_reset="earliest", broker_session_timeout=10.0,
                broker_rebalance_timeout=10.0, topic_disable_leader=True)
topic = app.topic(os.environ["BENCH_TOPIC"], value_type=bytes)
TARGET = int(os.environ["BENCH_N"])
seen = 0
first = None


@app.agent(topic)
async def count(stream):
    global seen, first
    async for _ in stream:
        if first is None:
            first = time.monotonic()
        seen += 1
        if seen == TARGET:
            print(f"PASSTHROUGH {TARGET} {time.monotonic() - first:.3f}", flush=True)


if __name__ == "__main__":
    app.main()
