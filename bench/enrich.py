"""Benchmark: full enrichment (what + where) throughput on one core, memory of a loaded enricher
covering all of Russia (and after a flood of new words has filled every per-word cache, as in a
long-running worker), the natasha NER pipeline on the same texts for reference, and quality on the
held-out split of the labelled corpus (sector accuracy / macro-F1, settlement and municipality
accuracy where the text names a place).

    .venvs/stream/bin/python bench/enrich.py [--posts 5000] [--flood 300000] [--natasha 500]
"""
from __future__ import annotations

import argparse
import gc
import os
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nlp import corpus  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def reference_loop_s() -> float:
    """Seconds for 10 million pure-Python additions (best of 3): how fast this machine is right now
    (a shared machine's speed varies by tens of per cent between runs; compare runs by it)."""
    best = float("inf")
    for _ in range(3):
        t0, total = time.perf_counter(), 0
        for i in range(10_000_000):
            total += i
        best = min(best, time.perf_counter() - t0)
    return best


def typical_posts(n: int, seed: int = 7) -> list[dict]:
    """200–400 character posts made of corpus posts (a post, then more of the same thread)."""
    rng = random.Random(seed)
    ex = corpus.load()
    out = []
    while len(out) < n:
        parts = [rng.choice(ex)]
        while sum(len(p.text) for p in parts) < 200:
            parts.append(rng.choice(ex))
        text = " ".join(p.text for p in parts)[:400]
        out.append({"text": text, "region_hint": parts[0].region})
    return out


def flood_posts(n_words: int, base: list[dict], per_post: int = 12, seed: int = 3):
    """Batches of 500 posts, each a typical post with ``per_post`` words it has never seen inserted:
    dictionary word forms in order (pymorphy3's own dictionary, read lazily), a third of them with a
    typo, a fifth capitalised, and a random number: a stream's long tail of vocabulary."""
    import pymorphy3

    rng = random.Random(seed)
    letters = "абвгдежзийклмнопрстуфхцчшщыэюя"
    words = (p.word for p in pymorphy3.MorphAnalyzer().iter_known_word_parses("") if p.word.isalpha())
    last, made, batch = None, 0, []
    while made < n_words:
        post = rng.choice(base)["text"].split()
        for _ in range(per_post):
            w = next(words)
            while w == last:
                w = next(words)
            last, made = w, made + 1
            r = rng.random()
            if r < 0.33:
                i = rng.randrange(len(w))
                w = w[:i] + rng.choice(letters) + w[i + 1:]
            elif r < 0.53:
                w = w.capitalize()
            post.insert(rng.randrange(len(post) + 1), w)
        post.insert(rng.randrange(len(post) + 1), str(rng.randrange(10 ** 6)))
        batch.append({"text": " ".join(post)})
        if len(batch) == 500:
            yield batch
            batch = []
    if batch:
        yield batch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posts", type=int, default=5000)
    ap.add_argument("--flood", type=int, default=300_000, help="new distinct words for the memory test (0 to skip)")
    ap.add_argument("--natasha", type=int, default=500, help="texts for the natasha reference (0 to skip)")
    args = ap.parse_args()
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core

    from enrichment.enricher import Enricher

    base = rss_mb()
    t0 = time.perf_counter()
    enricher = Enricher.load()
    gc.collect()
    load_s = time.perf_counter() - t0
    loaded = rss_mb()
    posts = typical_posts(args.posts)
    avg_len = sum(len(p["text"]) for p in posts) / len(posts)

    enricher.enrich_batch(posts[:200])  # warm caches the way a running worker has them
    t0 = time.perf_counter()
    for i in range(0, len(posts), 500):
        enricher.enrich_batch(posts[i:i + 500])
    dt = time.perf_counter() - t0
    rate = len(posts) / dt
    warm = []                           # three sets of new posts: the machine's speed varies by ±15 %
    for seed in (99, 100, 101):
        more = typical_posts(1000, seed=seed)
        t0 = time.perf_counter()
        for i in range(0, len(more), 500):
            enricher.enrich_batch(more[i:i + 500])
        warm.append(len(more) / (time.perf_counter() - t0))
    warm_rate = sorted(warm)[1]

    print(f"machine: pure-Python reference loop {reference_loop_s():.2f} s (10 M additions; lower is faster)")
    print(f"enricher: loaded in {load_s:.1f} s; RSS {loaded:.0f} MB (process before load {base:.0f} MB); "
          f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(f"throughput (one core, {len(posts)} posts, avg {avg_len:.0f} chars), first pass (per-word caches filling): "
          f"{rate:,.0f} posts/s ({1e6 / rate:.0f} µs/post); then 3 x 1000 new posts with warm caches: median "
          f"{warm_rate:,.0f} posts/s ({1e6 / warm_rate:.0f} µs/post; {', '.join(f'{r:,.0f}' for r in warm)})")
    if args.flood:
        from nlp.text import WORD_CACHE

        n, t0 = 0, time.perf_counter()
        for batch in flood_posts(args.flood, posts):
            enricher.enrich_batch(batch)
            n += len(batch)
        flood_rate = n / (time.perf_counter() - t0)
        print(f"vocabulary flood: {n:,} posts carrying {args.flood:,} words never seen before (per-word caches hold "
              f"{WORD_CACHE:,} words each): {flood_rate:,.0f} posts/s; RSS after {rss_mb():.0f} MB, "
              f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB (limit 500)")

    if args.natasha:
        from natasha import Doc, NewsEmbedding, NewsMorphTagger, NewsNERTagger, Segmenter

        emb = NewsEmbedding()
        seg, morph, ner = Segmenter(), NewsMorphTagger(emb), NewsNERTagger(emb)
        texts = [p["text"] for p in posts[: args.natasha]]
        t0 = time.perf_counter()
        for t in texts:
            d = Doc(t)
            d.segment(seg)
            d.tag_morph(morph)
            d.tag_ner(ner)
        nat = len(texts) / (time.perf_counter() - t0)
        print(f"natasha segmenter+morph+NER on the same texts: {nat:,.0f} texts/s -> enrichment is {rate / nat:.1f}x faster (first pass), {warm_rate / nat:.1f}x (warm)")

    # quality on the held-out split
    from nlp import what

    m = what.evaluate(enricher.what)
    print(what.format_report(m))
    _, held = corpus.split(corpus.load())
    named = [e for e in held if e.place]
    res = enricher.enrich_batch([{"text": e.text} for e in named])
    fold = lambda s: (s or "").lower().replace("ё", "е")
    s_ok = sum(fold(r.settlement) == fold(e.place) for e, r in zip(named, res))
    with_region = [(e, r) for e, r in zip(named, res) if e.region]
    r_ok = sum(fold(r.region) == fold(e.region) for e, r in with_region)
    with_district = [(e, r) for e, r in zip(named, res) if e.district]
    d_ok = sum(fold(e.district).split()[0][:6] in fold(r.municipality) for e, r in with_district if r.municipality)
    print(f"location (held-out posts naming a place, no hints): settlement {s_ok}/{len(named)} = {s_ok / max(1, len(named)):.3f}; "
          f"region {r_ok}/{len(with_region)} = {r_ok / max(1, len(with_region)):.3f}; "
          f"municipality {d_ok}/{len(with_district)} = {d_ok / max(1, len(with_district)):.3f}")


if __name__ == "__main__":
    main()
