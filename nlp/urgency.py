"""Urgency: a small explainable score in [0, 1] from outage duration, danger to life or
children, mass impact and emergency words. Returns the score and the reasons that fired."""
from __future__ import annotations

import re
from functools import lru_cache, reduce
from operator import or_

from nlp.text import WORD, WORD_CACHE, fold

# The duration rule's regex alternatives, each with its own anchors (see _ANCHORS): the rule's
# words ('день', 'уже', digits) are common, and trying only the alternatives whose anchors occur
# keeps the regex work small.
_DURATION_PARTS: list[tuple[str, tuple[tuple[str, ...], ...]]] = [
    (r"(?:втор|трет|четверт|пят|шест|седьм|десят)\w*\s+(?:день|дня|сутки|суток|неделю|недели|месяц)",
     (("втор", "трет", "четверт", "пят", "шест", "седьм", "десят"), ("^день", "^дня", "^сутки", "^суток", "^неделю", "^недели", "^месяц"))),
    (r"(?:\d+|два|две|три|четыре|пять|шесть|семь|несколько)\s+(?:дн|дней|суток|недел|месяц)",
     ((*"0123456789", "два", "две", "три", "четыре", "пять", "шесть", "семь", "несколько"), ("^дн", "^суток", "^недел", "^месяц"))),
    (r"(?:целую|всю|уже)\s+неделю", (("целую", "всю", "уже"), ("^неделю",))),
    (r"с\s+(?:понедельника|вторника|среды|четверга|пятницы|субботы|воскресенья)",
     (("^понедельника", "^вторника", "^среды", "^четверга", "^пятницы", "^субботы", "^воскресенья"),)),
    (r"который\s+(?:день|месяц|год)", (("который",), ("^день", "^месяц", "^год"))),
    (r"сколько\s+можно", (("сколько",), ("^можно",))),
]

_RULES: list[tuple[str, float, re.Pattern]] = [
    ("длительность", 0.35, re.compile("|".join(p for p, _ in _DURATION_PARTS))),
    ("угроза жизни", 0.45, re.compile(
        r"угроз\w*\s+жизн|опасн\w*\s+для\s+жизни|может\s+(?:убить|погибнуть|упасть|рухнуть|обрушиться)"
        r"|обрушен|обрушил|рухнул|пожар|горит|задымлен|утечк\w*\s+газа|пахнет\s+газом|запах\s+газа|оголенн\w*\s+провод"
        r"|провод\w*\s+(?:висят|лежат|на\s+земле)|искрит|открыт\w*\s+люк|провал\w*|погиб|смерт|умер|насмерть")),
    ("дети и уязвимые", 0.25, re.compile(
        r"\bдет(?:и|ей|ям|ьми)\b|\bребен|\bшкольник|\bмладен|\bгрудн|\bинвалид|\bпожил|\bбабушк|\bдедушк|\bстарик|\bбеременн|\bлежач")),
    ("массовость", 0.3, re.compile(
        r"весь\s+(?:поселок|поселок|район|микрорайон|город|хутор|станиц\w*|сел\w*|квартал|дом|подъезд)"
        r"|вс(?:ей|ю|е)\s+(?:улиц\w*|станиц\w*|деревн\w*|поселк\w*)|несколько\s+(?:домов|улиц|поселков|сел)"
        r"|(?:сотни|тысячи|сотен|тысяч)\s+(?:человек|жителей|людей|семей)|целый\s+(?:квартал|район|поселок|микрорайон)")),
    ("чрезвычайная ситуация", 0.4, re.compile(
        r"\bавари[яи]\b|аварийн|прорыв|прорвало|затоп|потоп|наводнен|подтоплен|\bчс\b|чрезвычайн|эвакуац|замерза\w*"
        r"|мороз\w*\s+без\s+(?:тепла|отопления|света)|без\s+(?:тепла|отопления)\s+в\s+мороз|\bскорая\s+не\s+(?:приехала|едет)")),
]


# Which rules can fire at all, from the post's words. Each rule lists alternatives; an alternative
# is a set of anchor groups that must all occur, each group satisfied by one of its anchors in some
# word (a substring; '^' = at the start of a word, for text the regex puts after whitespace). The
# anchors follow the regexes: a rule's regex can only match when one of its alternatives holds.
# A word's group mask (``word_anchors``) is computed once per distinct word (the classifier's
# per-word table keeps it), and a rule runs its (slower) regex only when one of its alternatives
# holds; the duration rule runs only the regex alternative whose anchors hold.
_ANCHORS: dict[str, list[tuple[tuple[str, ...], ...]]] = {
    "длительность": [alt for _, alt in _DURATION_PARTS],
    "угроза жизни": [
        (("обрушен", "обрушил", "рухнул", "пожар", "горит", "задымлен", "искрит", "погиб", "смерт", "умер", "провал"),),
        (("угроз",), ("^жизн",)),
        (("опасн",), ("^жизни",)),
        (("может",), ("^убить", "^погибнуть", "^упасть", "^рухнуть", "^обрушиться")),
        (("^газ",), ("утечк", "пахнет", "запах")),
        (("оголенн",), ("^провод",)),
        (("провод",), ("^висят", "^лежат", "^земле")),
        (("открыт",), ("^люк",)),
    ],
    "дети и уязвимые": [
        (("дет", "ребен", "школьник", "младен", "грудн", "инвалид", "пожил", "бабушк", "дедушк", "старик", "беременн", "лежач"),),
    ],
    "массовость": [
        (("весь",), ("^поселок", "^район", "^микрорайон", "^город", "^хутор", "^станиц", "^сел", "^квартал", "^дом", "^подъезд")),
        (("вс",), ("^улиц", "^станиц", "^деревн", "^поселк")),
        (("несколько",), ("^домов", "^улиц", "^поселков", "^сел")),
        (("сотн", "тысяч"), ("^человек", "^жител", "^людей", "^семей")),
        (("целый",), ("^квартал", "^район", "^поселок", "^микрорайон")),
    ],
    "чрезвычайная ситуация": [
        (("авари", "прорыв", "прорвал", "затоп", "потоп", "подтоплен", "наводнен", "чс", "чрезвычайн", "эвакуац", "замерза"),),
        (("мороз",), ("без",)),
        (("скорая",), ("^приехала", "^едет")),
    ],
}
_GROUPS: list[tuple[str, ...]] = sorted({g for alts in _ANCHORS.values() for alt in alts for g in alt})
# the regex each alternative tries: its own for the duration rule, else the rule's
_OWN_REGEX = {"длительность": [re.compile(p) for p, _ in _DURATION_PARTS]}
# per rule (in _RULES order): (the group mask of an alternative, the regex to try when it holds)
_CHECKS: list[tuple[tuple[int, re.Pattern], ...]] = [
    tuple((sum(1 << _GROUPS.index(g) for g in alt), own)
          for alt, own in zip(_ANCHORS[name], _OWN_REGEX.get(name, [pattern] * len(_ANCHORS[name]))))
    for name, _, pattern in _RULES]


def _anchor_bits(prefix: bool) -> tuple[tuple[str, int], ...]:
    """Each distinct anchor ('^' = a prefix, else a substring) with the bits of the groups it is in."""
    bits: dict[str, int] = {}
    for i, group in enumerate(_GROUPS):
        for a in group:
            if (a[0] == "^") == prefix:
                key = a[1:] if prefix else a
                bits[key] = bits.get(key, 0) | (1 << i)
    return tuple(sorted(bits.items()))


_PREFIXES = _anchor_bits(True)
_ANY_PREFIX = tuple(a for a, _ in _PREFIXES)
_BY_FIRST_LETTER: dict[str, tuple[tuple[str, int], ...]] = {}   # substring anchors by their first letter
for anchor, bits in _anchor_bits(False):
    _BY_FIRST_LETTER[anchor[0]] = _BY_FIRST_LETTER.get(anchor[0], ()) + ((anchor, bits),)
del anchor, bits


def word_anchors(word: str) -> int:
    """Bit i set: anchor group i occurs in this word (a word token of a folded text)."""
    mask = 0
    for letter in set(word):
        for a, bits in _BY_FIRST_LETTER.get(letter, ()):
            if a in word:
                mask |= bits
    if word.startswith(_ANY_PREFIX):
        for a, bits in _PREFIXES:
            if word.startswith(a):
                mask |= bits
    return mask


_group_mask = lru_cache(maxsize=WORD_CACHE)(word_anchors)


LOOKS_AT = 20_000     # characters of the folded text the rules look at


def urgency(text: str, folded: str | None = None, tokens: list[str] | None = None, anchors: int | None = None) -> tuple[float, list[str]]:
    """Score and reasons; pass ``folded`` (nlp.text.fold of the text) and its ``WORD`` tokens when
    they are already at hand, or ``anchors``: (at least) the OR of the ``word_anchors`` of those
    tokens (then the text is folded only if some rule may fire)."""
    if folded is not None:
        folded = folded[:LOOKS_AT]
    if anchors is None:
        folded = fold(text[:LOOKS_AT]) if folded is None else folded
        if tokens is None or len(folded) == LOOKS_AT:
            tokens = WORD.findall(folded)
        anchors = reduce(or_, map(_group_mask, tokens), 0)
    score, reasons = 0.0, []
    for (name, weight, _), checks in zip(_RULES, _CHECKS):
        tried = None
        for need, pattern in checks:
            if anchors & need == need and pattern is not tried:
                if folded is None:
                    folded = fold(text[:LOOKS_AT])
                if pattern.search(folded):
                    score += weight
                    reasons.append(name)
                    break
                tried = pattern
    return min(1.0, round(score, 3)), reasons
