"""The expert lemma lexicon (nlp/lexicon/sectors.yaml): per sector strong/weak lemmas and lemma
phrases, plus complaint and noise cues; and the cue words of the topic inventory (nlp/topics.yaml:
sector → subtopics → cues, from the public rubricators), one feature group per sector. Matching
uses the normal forms of all parses, so 'стали' hits both 'стать' and 'сталь'. Hits become
features of the linear models (the model learns how much to trust each list) and are explainable."""
from __future__ import annotations

from pathlib import Path

import yaml

from nlp.text import WORD_CACHE, is_function_word, lemmas

LEXICON_PATH = Path(__file__).resolve().parent / "lexicon" / "sectors.yaml"
TOPICS_PATH = Path(__file__).resolve().parent / "topics.yaml"


class Lexicon:
    def __init__(self, data: dict):
        self.words: dict[str, list[str]] = {}   # lemma -> ["lex:housing:strong", ...]
        self.phrases: dict[str, list[tuple[tuple[str, ...], str]]] = {}  # first lemma -> [(rest, label)]
        self._cache: dict[tuple[str, ...], tuple[tuple[str, ...], tuple]] = {}
        for group, entries in (data or {}).items():
            for strength in ("strong", "weak"):
                for lemma in entries.get(strength) or []:
                    self.words.setdefault(_norm(lemma), []).append(f"lex:{group}:{strength}")
            for phrase in entries.get("phrases") or []:
                parts = tuple(_norm(p) for p in str(phrase).split())
                if len(parts) >= 2:
                    self.phrases.setdefault(parts[0], []).append((parts[1:], f"lex:{group}:phrase"))

    @classmethod
    def load(cls, path: Path = LEXICON_PATH, topics: Path = TOPICS_PATH) -> "Lexicon":
        data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
        if topics.exists():
            data = {**(data or {}), **topic_groups(yaml.safe_load(topics.read_text(encoding="utf-8")))}
        return cls(data)


    def for_forms(self, forms: tuple[str, ...]) -> tuple[tuple[str, ...], tuple]:
        """Word labels and phrase continuations for one word's normal forms (memoised)."""
        hit = self._cache.get(forms)
        if hit is None:
            labels: list[str] = []
            phrases: list = []
            for form in forms:
                for label in self.words.get(form, ()):
                    if label not in labels:
                        labels.append(label)
                phrases.extend(self.phrases.get(form, ()))
            hit = (tuple(labels), tuple(phrases)) if labels or phrases else _NO_HIT
            if len(self._cache) >= WORD_CACHE:
                self._cache.clear()
            self._cache[forms] = hit
        return hit

    def hits(self, analysed: list[tuple[str, ...]]) -> list[str]:
        out: list[str] = []
        n = len(analysed)
        known = self._cache.get
        for i, forms in enumerate(analysed):
            hit = known(forms)
            if hit is None:
                hit = self.for_forms(forms)
            if hit is _NO_HIT:                  # most words
                continue
            labels, phrases = hit
            out.extend(labels)
            for rest, label in phrases:
                if i + len(rest) < n and all(r in analysed[i + 1 + k] for k, r in enumerate(rest)):
                    out.append(label)
        return out


_NO_HIT: tuple[tuple[str, ...], tuple] = ((), ())


def topic_groups(inventory: dict) -> dict:
    """The topic inventory's cues as lexicon groups, one per sector ('topic_<sector>': single cue
    words as weak lemmas, longer cues as phrases). Each cue word is put in its most probable normal
    form and function words are dropped, as the text's own words are ('записаться к врач' →
    'записаться врач'); a cue left with no word is skipped."""
    groups: dict[str, dict] = {}
    for sector, subtopics in (inventory or {}).items():
        if not isinstance(subtopics, list):
            continue                            # e.g. a list of noise kinds kept for reference
        words: list[str] = []
        phrases: list[str] = []
        for sub in subtopics:
            for cue in (sub or {}).get("cues") or []:
                parts = [lemmas(w)[0] for w in _norm(cue).replace("-", " ").split()
                         if not is_function_word(w) and not w.isdigit()]
                if len(parts) == 1:
                    words.append(parts[0])
                elif len(parts) > 1:
                    phrases.append(" ".join(parts))
        groups[f"topic_{sector}"] = {"weak": sorted(set(words)), "phrases": sorted(set(phrases))}
    return groups


def _norm(s: str) -> str:
    return str(s).strip().lower().replace("ё", "е")
