"""Features of a text for the linear models: lemmas (all parses), lemma bigrams, word-prefix
'stems' (robust to typos and unknown inflections) and expert-lexicon hits. Pure and cached.

Everything that depends on one word only (is it a content word, its normal forms, its unigram
features) is computed once per distinct word and memoised: a post then costs a dictionary
lookup per word plus its bigrams, which is what keeps enrichment at thousands of posts a second."""
from __future__ import annotations

from functools import lru_cache
from itertools import chain

import numpy as np

from nlp.lexicon import Lexicon
from nlp.text import WORD, WORD_CACHE, fold, fold_word, is_function_word, lemmas, standard

MAX_WORDS = 400  # long posts: the opening carries the complaint; bounds cost on 100 KB texts
NUM = ("num",)  # the unigram features of a number (one shared tuple: checked by identity)


def word_features(token: str) -> tuple[tuple[str, ...], str, tuple[str, ...]] | None:
    """(normal forms, head, unigram features) of a word token of a folded text (slang and Latin
    look-alikes standardised first); None for words that carry no content (function words, single
    letters). Head = the most probable normal form, or 'num' for a number."""
    word = standard(token)
    if len(word) < 2 and not word.isdigit():
        return None
    if is_function_word(word):
        return None
    forms = lemmas(word)
    head = forms[0]
    if head.isdigit():
        return forms, "num", NUM
    uni = [head, *("~" + alt for alt in forms[1:3])]
    if len(head) >= 6:
        uni.append("^" + head[:5])
    return forms, head, tuple(uni)


cached_word_features = lru_cache(maxsize=WORD_CACHE)(word_features)  # for featurize (training, tests);
# the prediction path keeps its own per-word table (FeatureColumns) and calls word_features directly


def analyse(folded: str) -> list[tuple[str, ...]]:
    """Lemma sets of the content words of a folded text (function words dropped)."""
    return [info[0] for info in map(cached_word_features, WORD.findall(folded)[:MAX_WORDS]) if info is not None]


def featurize(text: str, lexicon: Lexicon, folded: str | None = None) -> list[str]:
    feats: list[str] = []
    analysed: list[tuple[str, ...]] = []
    prev = None
    for info in map(cached_word_features, WORD.findall(fold(text) if folded is None else folded)[:MAX_WORDS]):
        if info is None:
            continue
        forms, head, uni = info
        analysed.append(forms)
        feats.extend(uni)
        if uni is NUM:
            prev = None
            continue
        if prev is not None:
            feats.append(prev + "_" + head)
        prev = head
    feats.extend(lexicon.hits(analysed))
    if not analysed:
        feats.append("empty")
    return feats


class FeatureColumns:
    """``featurize`` straight to the columns of a vocabulary, for a whole batch: the prediction path.

    Each distinct word gets a row once (its unigram and lexicon-word columns, the id of its head
    for bigrams, whether a lexicon phrase starts with it, its ``word_flags``); a batch is then a
    dictionary lookup per token and a few numpy operations: the columns of all its words gathered
    at once, bigrams looked up by the pair of head ids in a sorted key array, lexicon phrases
    checked (in Python) only where a word starts one. The result is the columns of exactly the
    features of ``featurize`` that the vocabulary knows (unknown ones carry no weight in a linear
    model), as a multiset (tests/unit/test_what.py)."""

    MAX_KEPT = WORD_CACHE    # distinct words kept; the table starts afresh beyond

    def __init__(self, vocabulary: dict[str, int], lexicon: Lexicon, word_flags=None):
        self.vocabulary = vocabulary
        self.lexicon = lexicon
        self.word_flags = word_flags          # token → int bit set, OR-ed per document (or None)
        # 'a_b' = the bigram of heads a and b (heads never contain '_'; lexicon labels start with 'lex:')
        bigrams = {tuple(f.split("_", 1)): j for f, j in vocabulary.items() if "_" in f and not f.startswith("lex:")}
        self._head_id = {h: k for k, h in enumerate(sorted({h for pair in bigrams for h in pair}))}
        self._nh = max(1, len(self._head_id))
        keyed = sorted((self._head_id[a] * self._nh + self._head_id[b], j) for (a, b), j in bigrams.items())
        self._pair_key = np.array([k for k, _ in keyed], dtype=np.int64)
        self._pair_col = np.array([j for _, j in keyed], dtype=np.int64)
        self._empty = vocabulary.get("empty")
        self._reset()

    def _reset(self) -> None:
        self._ids: dict[str, int] = {}        # token → row
        self._forms: list = []                # row → normal forms (None: not a content word)
        self._phrases: list = []              # row → lexicon phrases starting with the word, by their second word
        self._pair_phrases: dict[int, tuple] = {}   # rows (first << 32 | second) → phrases they may start
        cap = 1024
        self._content = np.zeros(cap, dtype=bool)
        self._phrase = np.zeros(cap, dtype=bool)
        self._head = np.full(cap, -1, dtype=np.int64)   # head id in bigrams; -1: a number, or in no bigram
        self._start = np.zeros(cap, dtype=np.int64)     # the word's columns: _cols[start:start + len]
        self._len = np.zeros(cap, dtype=np.int64)
        self._flags = np.zeros(cap, dtype=np.int64)
        self._cols = np.zeros(4 * cap, dtype=np.int64)
        self._ncols = 0

    def _add(self, tokens) -> None:
        """Give each new token a row."""
        vocab, head_id = self.vocabulary.get, self._head_id.get
        rows = []
        for token in tokens:
            folded = fold_word(token)
            wf = word_features(folded)
            flags = self.word_flags(folded) if self.word_flags else 0
            if wf is None:
                rows.append((token, None, (), -1, (), flags))
                continue
            forms, head, uni = wf
            labels, phrases = self.lexicon.for_forms(forms)
            cols = [j for j in map(vocab, uni + labels) if j is not None]
            by_second: dict[str, list] = {}
            for rest, label in phrases:
                by_second.setdefault(rest[0], []).append((rest, label))
            rows.append((token, forms, by_second, -1 if uni is NUM else head_id(head, -1), cols, flags))
        first = len(self._forms)
        need, ncols = first + len(rows), self._ncols + sum(len(r[4]) for r in rows)
        if need > len(self._content):
            size = max(need, 2 * len(self._content))
            for name in ("_content", "_phrase", "_head", "_start", "_len", "_flags"):
                old = getattr(self, name)
                new = np.full(size, -1 if name == "_head" else 0, dtype=old.dtype)
                new[:len(old)] = old
                setattr(self, name, new)
        if ncols > len(self._cols):
            new = np.zeros(max(ncols, 2 * len(self._cols)), dtype=np.int64)
            new[:self._ncols] = self._cols[:self._ncols]
            self._cols = new
        at = self._ncols
        for row, (token, forms, phrases, head, cols, flags) in enumerate(rows, first):
            self._ids[token] = row
            self._forms.append(forms)
            self._phrases.append(phrases)
            self._content[row] = forms is not None
            self._phrase[row] = bool(phrases)
            self._head[row] = head
            self._start[row], self._len[row] = at, len(cols)
            self._cols[at:at + len(cols)] = cols
            self._flags[row] = flags
            at += len(cols)
        self._ncols = at

    def _phrase_candidates(self, first: int, second: int) -> tuple:
        """The lexicon phrases that start with word row ``first`` and go on with row ``second``."""
        by_second, forms = self._phrases[first], self._forms[second]
        found = tuple(c for f in forms for c in by_second.get(f, ()))
        if len(self._pair_phrases) >= self.MAX_KEPT:
            self._pair_phrases.clear()
        self._pair_phrases[(first << 32) | second] = found
        return found

    def batch(self, token_lists: list[list[str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For the word tokens of each document (``WORD.findall`` of the folded text, or the raw words
        of a text that ``folds_by_word``: a token is folded when it gets its row): the (document,
        column) pairs of its features, whether it has no content word, and the OR of its tokens'
        ``word_flags`` (over its first MAX_WORDS tokens)."""
        n = len(token_lists)
        lists = [t[:MAX_WORDS] for t in token_lists]
        flat = list(chain.from_iterable(lists))
        got = list(map(self._ids.get, flat))
        if None in got:
            new = set(flat).difference(self._ids)
            if len(self._ids) + len(new) > self.MAX_KEPT:
                self._reset()
                new = set(flat)
            self._add(sorted(new))
            got = list(map(self._ids.__getitem__, flat))
        ids = np.fromiter(got, dtype=np.int64, count=len(got))
        doc = np.repeat(np.arange(n, dtype=np.int64), np.fromiter(map(len, lists), dtype=np.int64, count=n))
        flags = np.zeros(n, dtype=np.int64)
        if len(ids):
            np.bitwise_or.at(flags, doc, self._flags[ids])
        keep = self._content[ids]
        cid, cdoc = ids[keep], doc[keep]
        # each content word's own columns, gathered for the whole batch
        lens = self._len[cid]
        ends = np.cumsum(lens)
        at = np.arange(int(ends[-1]) if len(ends) else 0, dtype=np.int64) + np.repeat(self._start[cid] - (ends - lens), lens)
        parts_doc, parts_col = [np.repeat(cdoc, lens)], [self._cols[at]]
        # bigrams of neighbouring content words of one document (a number breaks the chain)
        head = self._head[cid]
        pair = (head[:-1] >= 0) & (head[1:] >= 0) & (cdoc[:-1] == cdoc[1:])
        if pair.any() and len(self._pair_key):
            key = head[:-1][pair] * self._nh + head[1:][pair]
            pos = np.minimum(np.searchsorted(self._pair_key, key), len(self._pair_key) - 1)
            hit = self._pair_key[pos] == key
            parts_doc.append(cdoc[1:][pair][hit])
            parts_col.append(self._pair_col[pos[hit]])
        # lexicon phrases: only where a word starts one, and only those whose second word follows
        # (the candidates of each pair of neighbouring words are kept)
        extra_doc, extra_col = [], []
        starts = np.flatnonzero(self._phrase[cid[:-1]] & (cdoc[:-1] == cdoc[1:]))
        if len(starts):
            pairs = ((cid[starts] << 32) | cid[starts + 1]).tolist()
            found = list(map(self._pair_phrases.get, pairs))
            forms_of, vocab, m = self._forms, self.vocabulary.get, len(cid)
            cid_l = cdoc_l = None
            for k, (pair, cands) in enumerate(zip(pairs, found)):
                if cands is None:
                    cands = self._phrase_candidates(pair >> 32, pair & 0xFFFFFFFF)
                if not cands:
                    continue
                if cid_l is None:
                    cid_l, cdoc_l = cid.tolist(), cdoc.tolist()
                p = int(starts[k])
                d = cdoc_l[p]
                for rest, label in cands:
                    last = p + len(rest)
                    if last < m and cdoc_l[last] == d and all(r in forms_of[cid_l[p + 1 + k]] for k, r in enumerate(rest)):
                        j = vocab(label)
                        if j is not None:
                            extra_doc.append(d)
                            extra_col.append(j)
        empty = np.bincount(cdoc, minlength=n) == 0
        if self._empty is not None:
            extra_doc.extend(np.flatnonzero(empty).tolist())
            extra_col.extend([self._empty] * int(empty.sum()))
        if extra_doc:
            parts_doc.append(np.array(extra_doc, dtype=np.int64))
            parts_col.append(np.array(extra_col, dtype=np.int64))
        return np.concatenate(parts_doc), np.concatenate(parts_col), empty, flags
