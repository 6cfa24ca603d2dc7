"""The subtopic of a post within its sector, from the topic inventory (nlp/topics.yaml): the subtopic
whose cues the post matches most (a cue phrase counts 2, a cue word 1; ties go to the inventory's
order), or none. Cues and text are compared as lemmas (any parse of a text word), function words dropped, the way the
inventory's cues reach the sector model (nlp.lexicon.topic_groups). Used by the analysis of what
worries residents (reports/concerns.py)."""
from __future__ import annotations

from dataclasses import dataclass

import yaml

from nlp.features import analyse
from nlp.lexicon import TOPICS_PATH, _norm
from nlp.text import fold, is_function_word, lemmas


@dataclass(frozen=True)
class Subtopic:
    id: str
    title: str
    sector: str
    words: frozenset
    phrases: tuple[tuple[str, ...], ...]


class Subtopics:
    def __init__(self, by_sector: dict[str, list[Subtopic]]):
        self.by_sector = by_sector
        self.titles = {s.id: s.title for subs in by_sector.values() for s in subs}

    @classmethod
    def load(cls, path=TOPICS_PATH) -> Subtopics:
        inventory = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        by_sector: dict[str, list[Subtopic]] = {}
        for sector, subs in inventory.items():
            if not isinstance(subs, list):
                continue
            for sub in subs:
                words, phrases = set(), []
                for cue in sub.get("cues") or []:
                    parts = tuple(lemmas(w)[0] for w in _norm(cue).replace("-", " ").split()
                                  if not is_function_word(w) and not w.isdigit())
                    if len(parts) == 1:
                        words.add(parts[0])
                    elif parts:
                        phrases.append(parts)
                by_sector.setdefault(sector, []).append(Subtopic(sub["id"], sub["title"], sector, frozenset(words), tuple(phrases)))
        return cls(by_sector)

    def match(self, text: str, sector: str) -> Subtopic | None:
        subs = self.by_sector.get(sector)
        if not subs:
            return None
        seq = analyse(fold(text[:5000]))            # lemma sets (every parse) of the content words
        present = {form for forms in seq for form in forms}
        best, best_score = None, 0
        for sub in subs:
            score = len(sub.words & present) + sum(2 for p in sub.phrases if _contains(seq, p))
            if score > best_score:
                best, best_score = sub, score
        return best


def _contains(seq: list[tuple[str, ...]], phrase: tuple[str, ...]) -> bool:
    """Whether the phrase's lemmas occur in a row in the text (any parse of each word)."""
    n = len(phrase)
    return any(all(phrase[j] in seq[i + j] for j in range(n)) for i in range(len(seq) - n + 1))
