"""The expert lemma lexicon (nlp/lexicon/sectors.yaml): per sector strong/weak lemmas and lemma
phrases, plus complaint and noise cues. Matching uses the normal forms of all parses, so
'стали' hits both 'стать' and 'сталь'. Hits become features of the linear models (the model
learns how much to trust each list) and are explainable."""
from __future__ import annotations

from pathlib import Path

import yaml

from nlp.text import WORD_CACHE

LEXICON_PATH = Path(__file__).resolve().parent / "lexicon" / "sectors.yaml"


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
    def load(cls, path: Path = LEXICON_PATH) -> "Lexicon":
        if not path.exists():
            return cls({})
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")))


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


def _norm(s: str) -> str:
    return str(s).strip().lower().replace("ё", "е")
