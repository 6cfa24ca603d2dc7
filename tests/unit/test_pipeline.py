import json
from datetime import datetime, timezone

from streams.pipeline import process_batch

KEY = b"k" * 32
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def msg(i, **over):
    d = {"source": "tg", "id": i, "text": f"пост {i}", "created_at": "2026-11-20T10:00:00Z"}
    d.update(over)
    return json.dumps(d).encode()


def test_batch_splits_valid_and_dead_letters_and_dedups():
    messages = [(msg(1), 0, 10), (b"garbage", 0, 11), (msg(2), 1, 5), (msg(1), 1, 6), (msg(3, text=None), 0, 12)]
    r = process_batch(messages, KEY, now=NOW)
    assert [p.source_post_id for p in r.posts] == ["1", "2"]
    assert [(d.offset, d.partition) for d in r.dead_letters] == [(11, 0), (12, 0)]
    assert "JSON" in r.dead_letters[0].reason and "text" in r.dead_letters[1].reason
    (table, rows, cols), = r.warehouse_batches()
    assert table == "posts_raw" and len(rows) == 2 and len(cols) == len(rows[0])


def test_dead_letter_payload_is_bounded():
    r = process_batch([(b"\xff" * 100_000, 0, 1)], KEY, now=NOW)
    assert len(r.dead_letters[0].payload) <= 10_000
