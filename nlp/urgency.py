"""Urgency: a small explainable score in [0, 1] from outage duration, danger to life or
children, mass impact and emergency words. Returns the score and the reasons that fired."""
from __future__ import annotations

import re
from functools import lru_cache, reduce
from operator import or_

from nlp.text import WORD, fold

_RULES: list[tuple[str, float, re.Pattern]] = [
    ("длительность", 0.35, re.compile(
        r"(?:втор|трет|четверт|пят|шест|седьм|десят)\w*\s+(?:день|дня|сутки|суток|неделю|недели|месяц)"
        r"|(?:\d+|два|две|три|четыре|пять|шесть|семь|несколько)\s+(?:дн|дней|суток|недел|месяц)"
        r"|(?:целую|всю|уже)\s+неделю|с\s+(?:понедельника|вторника|среды|четверга|пятницы|субботы|воскресенья)"
        r"|который\s+(?:день|месяц|год)|сколько\s+можно")),
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


# Which rules can fire at all, from the post's words: a rule's regex can only match when one of its
# anchors occurs in a word (a substring; '^' = at the start of a word, for text the regex puts after
# whitespace). Each distinct word's rule mask is computed once and cached, so a post costs a lookup per
# word, and only the rules whose anchors occur run their (slower) regexes.
_ANCHORS: dict[str, tuple[str, ...]] = {
    "длительность": ("^день", "^дн", "^сут", "^недел", "^месяц", "^год", "^можно", "^понедельник", "^вторник", "^сред",
                     "^четверг", "^пятниц", "^суббот", "^воскресен"),
    "угроза жизни": ("угроз", "опасн", "убить", "погиб", "упасть", "рухн", "обруш", "пожар", "горит", "задым", "газ",
                     "провод", "искрит", "люк", "провал", "смерт", "умер"),
    "дети и уязвимые": ("дет", "ребен", "школьник", "младен", "грудн", "инвалид", "пожил", "бабушк", "дедушк", "старик",
                        "беременн", "лежач"),
    "массовость": ("весь", "целый", "^улиц", "^станиц", "^деревн", "^поселк", "^домов", "^сел", "^человек", "^жител",
                   "^людей", "^семей"),
    "чрезвычайная ситуация": ("авари", "прорыв", "прорвал", "затоп", "потоп", "подтоплен", "наводнен", "чс", "чрезвычайн",
                              "эвакуац", "замерза", "мороз", "скорая"),
}


@lru_cache(maxsize=200_000)
def _rule_mask(word: str) -> int:
    """Bit i set: rule i's anchors occur in this word."""
    mask = 0
    for bit, (name, _, _) in enumerate(_RULES):
        anchors = _ANCHORS[name]
        if word.startswith(tuple(a[1:] for a in anchors if a[0] == "^")) or any(a in word for a in anchors if a[0] != "^"):
            mask |= 1 << bit
    return mask


def urgency(text: str, folded: str | None = None) -> tuple[float, list[str]]:
    """Score and reasons; pass ``folded`` (nlp.text.fold of the text) when it is already at hand."""
    folded = fold(text[:20_000]) if folded is None else folded[:20_000]
    score, reasons = 0.0, []
    mask = reduce(or_, map(_rule_mask, WORD.findall(folded)), 0)
    if not mask:
        return score, reasons
    for bit, (name, weight, pattern) in enumerate(_RULES):
        if mask >> bit & 1 and pattern.search(folded):
            score += weight
            reasons.append(name)
    return min(1.0, round(score, 3)), reasons
