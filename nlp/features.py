"""Features of a text for the linear models: lemmas (all parses), lemma bigrams, word-prefix
'stems' (robust to typos and unknown inflections) and expert-lexicon hits. Pure and cached.

Everything that depends on one word only (is it a content word, its normal forms, its unigram
features) is computed once per distinct word and memoised: a post then costs a dictionary
lookup per word plus its bigrams, which is what keeps enrichment at thousands of posts a second."""
from __future__ import annotations

from functools import lru_cache

from nlp.lexicon import Lexicon
from nlp.text import WORD, fold, is_function_word, lemmas, standard

MAX_WORDS = 400  # long posts: the opening carries the complaint; bounds cost on 100 KB texts
NUM = ("num",)  # the unigram features of a number (one shared tuple: checked by identity)


@lru_cache(maxsize=400_000)
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


def analyse(folded: str) -> list[tuple[str, ...]]:
    """Lemma sets of the content words of a folded text (function words dropped)."""
    return [info[0] for info in map(word_features, WORD.findall(folded)[:MAX_WORDS]) if info is not None]


def featurize(text: str, lexicon: Lexicon, folded: str | None = None) -> list[str]:
    feats: list[str] = []
    analysed: list[tuple[str, ...]] = []
    prev = None
    for info in map(word_features, WORD.findall(fold(text) if folded is None else folded)[:MAX_WORDS]):
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


_UNSEEN = object()


class FeatureColumns:
    """``featurize`` straight to the columns of a vocabulary: the prediction path. Each distinct
    word's unigram and lexicon-word columns are computed once and kept; bigrams are looked up by
    their pair of heads; lexicon phrases are checked only after a word that starts one. The result
    is the columns of exactly the features of ``featurize`` that the vocabulary knows (unknown ones
    carry no weight in a linear model), as a multiset (tests/unit/test_what.py)."""

    MAX_KEPT = 400_000       # distinct words kept; the table starts afresh beyond

    def __init__(self, vocabulary: dict[str, int], lexicon: Lexicon):
        self.vocabulary = vocabulary
        self.lexicon = lexicon
        # 'a_b' = the bigram of heads a and b (heads never contain '_'; lexicon labels start with 'lex:')
        self._bigram = {tuple(f.split("_", 1)): j for f, j in vocabulary.items() if "_" in f and not f.startswith("lex:")}
        self._empty = vocabulary.get("empty")
        self._words: dict[str, tuple | None] = {}

    def _word(self, token: str) -> tuple | None:
        """(columns, head or None for a number, normal forms, lexicon phrases starting here) or None."""
        wf = word_features(token)
        info = None
        if wf is not None:
            forms, head, uni = wf
            labels, phrases = self.lexicon.for_forms(forms)
            cols = tuple(j for j in map(self.vocabulary.get, uni + labels) if j is not None)
            info = (cols, None if uni is NUM else head, forms, phrases)
        if len(self._words) >= self.MAX_KEPT:
            self._words.clear()
        self._words[token] = info
        return info

    def columns(self, tokens: list[str]) -> tuple[list[int], bool]:
        """Columns of a folded text's word tokens (``WORD.findall``), and whether it had no content word."""
        out: list[int] = []
        analysed: list[tuple[str, ...]] = []
        phrase_at: list[tuple[int, tuple]] = []
        known, bigram = self._words.get, self._bigram.get
        prev = None
        for token in tokens[:MAX_WORDS]:
            info = known(token, _UNSEEN)
            if info is _UNSEEN:
                info = self._word(token)
            if info is None:
                continue
            cols, head, forms, phrases = info
            out.extend(cols)
            if phrases:
                phrase_at.append((len(analysed), phrases))
            analysed.append(forms)
            if head is None:
                prev = None
                continue
            if prev is not None:
                j = bigram((prev, head))
                if j is not None:
                    out.append(j)
            prev = head
        n = len(analysed)
        for i, phrases in phrase_at:
            for rest, label in phrases:         # most fail on the next word: test it first
                if i + len(rest) < n and rest[0] in analysed[i + 1] and all(r in analysed[i + 1 + k] for k, r in enumerate(rest)):
                    j = self.vocabulary.get(label)
                    if j is not None:
                        out.append(j)
        if not analysed and self._empty is not None:
            out.append(self._empty)
        return out, not analysed
