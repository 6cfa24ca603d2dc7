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
