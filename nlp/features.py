"""Features of a text for the linear models: lemmas (all parses), lemma bigrams, word-prefix
'stems' (robust to typos and unknown inflections) and expert-lexicon hits. Pure and cached."""
from __future__ import annotations

from nlp.lexicon import Lexicon
from nlp.text import fold, is_function_word, lemmas, standard_words

MAX_WORDS = 400  # long posts: the opening carries the complaint; bounds cost on 100 KB texts


def analyse(folded: str) -> list[tuple[str, ...]]:
    """Lemma sets of the content words of a folded text (function words dropped)."""
    out = []
    for w in standard_words(folded)[:MAX_WORDS]:
        if len(w) < 2 and not w.isdigit():
            continue
        if is_function_word(w):
            continue
        out.append(lemmas(w))
    return out


def featurize(text: str, lexicon: Lexicon, folded: str | None = None) -> list[str]:
    analysed = analyse(fold(text) if folded is None else folded)
    feats: list[str] = []
    prev = None
    for forms in analysed:
        head = forms[0]
        if head.isdigit():
            feats.append("num")
            prev = None
            continue
        feats.append(head)
        for alt in forms[1:3]:
            feats.append("~" + alt)
        if len(head) >= 6:
            feats.append("^" + head[:5])
        if prev is not None:
            feats.append(prev + "_" + head)
        prev = head
    feats.extend(lexicon.hits(analysed))
    if not analysed:
        feats.append("empty")
    return feats
