"""The enricher as a whole: safe to call from several threads (its per-word tables grow as it goes)."""
import threading

from nlp import corpus


def test_threads_enriching_at_once_get_what_one_thread_gets():
    from enrichment.enricher import Enricher

    texts = [e.text for e in corpus.load()]
    posts = [{"text": t.upper() if k % 5 == 0 else t, "region_hint": "Ростовская область" if k % 3 else None}
             for k, t in enumerate(texts)]
    expected = [r.to_json() for r in Enricher.load().enrich_batch(posts)]

    fresh = Enricher.load()
    fresh.what._columns.MAX_KEPT = 500          # tables start afresh often: the most mutation
    fresh.what._columns._reset()
    got: dict[int, list] = {}

    def work(k: int) -> None:
        chunk = posts[k::4]
        got[k] = [r.to_json() for batch in range(0, len(chunk), 25) for r in fresh.enrich_batch(chunk[batch:batch + 25])]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(4):
        assert got[k] == expected[k::4]
