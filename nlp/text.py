"""Text normalisation for Russian social-media posts: the shared first step of 'what' and 'where'.

- ``fold``: lower case, ё→е, Latin look-alike letters inside Cyrillic words → Cyrillic,
  runs of 3+ identical letters collapsed ('ужааас' → 'ужас'), URLs/mentions/emoji dropped,
  hashtags kept as words ('#нетводы' → 'нетводы').
- ``split_words``: the text as separators and raw word tokens (one split serves both 'what' and
  'where'); ``fold_word`` folds one raw token, and ``folds_by_word`` tells when folding the tokens
  one by one gives exactly ``WORD.findall(fold(text))`` (no link, no mention: most posts).
- ``words``: word tokens. The same word tokens razdel yields for letters/digits (hyphenated words
  kept whole: 'Каменск-Шахтинский', 'из-за'), by one compiled regex: razdel costs ~0.1 ms per
  post, which alone would use the whole per-post budget of the stream
  (tests/unit/test_text.py checks agreement with razdel on the corpus).
- ``lemmas``: the normal forms of ALL pymorphy3 parses of a word (most probable first), cached.
- ``SLANG``: common social-media spellings mapped to the standard word before lemmatisation.
"""
from __future__ import annotations

import re
from functools import lru_cache

import pymorphy3

# A bare domain starts only where a run of [\w.-] starts, and a mention's name stops at the next
# bracket: with '\b' and '[^\]]*' long hostile runs ('слово.слово.…', '[id1|[id1|…') cost
# quadratic time (seconds per post at 100,000 characters). Same result on real posts (corpus checked).
_URL = re.compile(r"(?:https?://|www\.)\S+|(?<![\w.-])[\w.-]+\.(?:ru|рф|com|org|net|su)(?:/\S*)?", re.I)
_MENTION = re.compile(r"(?<!\w)@\w+|\[(?:id|club|public)\d+\|([^\]\[]*)\]")
_REPEAT = re.compile(r"([а-яa-z])\1{2,}")
WORD = re.compile(r"[0-9a-zа-я]+(?:-[0-9a-zа-я]+)*")   # a word token of a folded text
# a raw word token (the same tokens as WORD finds in the folded text); the group makes re.split
# keep the words: split_words(text)[1::2] are the words, [0::2] the text around them
_RAW_WORD = re.compile(r"([0-9A-Za-zА-Яа-яЁё]+(?:-[0-9A-Za-zА-Яа-яЁё]+)*)")
# the only characters outside _RAW_WORD whose lower case is inside WORD ('İ' → 'i̇', Kelvin 'K' → 'k')
_LOWER_INTO_WORD = re.compile("[\u0130\u212a]")
_CYR = re.compile(r"[а-я]")
_LAT = re.compile(r"[a-z]")
_LAT2CYR = str.maketrans("aeopcxyktmhb", "аеорсхуктмнв")

SLANG = {
    "ваще": "вообще", "вапще": "вообще", "щас": "сейчас", "щяс": "сейчас", "ща": "сейчас", "сча": "сейчас",
    "че": "что", "чо": "что", "шо": "что", "тока": "только", "токо": "только",
    "скока": "сколько", "скоко": "сколько", "стока": "столько", "канеш": "конечно", "конеш": "конечно",
    "пжлст": "пожалуйста", "пож": "пожалуйста", "плиз": "пожалуйста", "спс": "спасибо", "пасиб": "спасибо",
    "оч": "очень", "мб": "может", "кст": "кстати", "седня": "сегодня", "сення": "сегодня",
    "севодня": "сегодня", "чел": "человек", "инет": "интернет", "комуналка": "коммуналка", "коммуналку": "коммуналка",
    "нету": "нет", "неть": "нет", "ничо": "ничего", "поликлинника": "поликлиника", "ниче": "ничего", "норм": "нормально", "ок": "хорошо",
    "тыщ": "тысяча", "тыщи": "тысяча", "щито": "что", "карочь": "короче", "кароче": "короче",
    "када": "когда", "када-нибудь": "когда-нибудь", "админ": "администратор",
    "адм": "администрация", "админка": "администрация", "исчо": "еще", "ищо": "еще", "ишо": "еще", "изза": "из-за",
}


# Every per-word cache of the enrichment is bounded: a long-running worker meets an unbounded
# vocabulary (typos, names, numbers), and its memory must stay within the enricher's budget
# (bench/enrich.py --flood measures it with the caches full). Least recently used words go first.
WORD_CACHE = 100_000

_URL_HINTS = ("http", "www.", ".ru", ".рф", ".com", ".org", ".net", ".su")


# Words too common in complaints to say what one is about (an incident's signature, the rising words
# of the analysis of residents' concerns)
GENERIC_WORDS = frozenset("""не нет ни без когда почему зачем сколько где кто что это весь всё все уже еще опять снова очень
день год час раз человек житель мы наш ваш вы который такой этот тот свой быть мочь стать сказать говорить""".split())


def fold(text: str) -> str:
    text = text.lower().replace("ё", "е")
    # substring checks (C speed) before the regexes: most posts have no link and no mention
    if any(h in text for h in _URL_HINTS):
        text = _URL.sub(" ", text)
    if "@" in text or "[" in text:
        text = _MENTION.sub(lambda m: f" {m.group(1) or ''} ", text)
    return _REPEAT.sub(r"\1", text.replace("#", " "))


def split_words(text: str) -> list[str]:
    """[separator, word, separator, …, separator]: the raw word tokens at the odd positions."""
    return _RAW_WORD.split(text)


def fold_word(word: str) -> str:
    """``fold`` of one raw word token ('Ужааас' → 'ужас'); a folded token stays as it is."""
    return _REPEAT.sub(r"\1", word.lower().replace("ё", "е"))


def folds_by_word(text: str) -> bool:
    """Whether ``[fold_word(w) for w in split_words(text)[1::2]] == WORD.findall(fold(text))``: true
    unless the text has a link or a mention (fold removes them) or a character that lower case turns
    into a word letter."""
    low = text.lower()
    return not (any(h in low for h in _URL_HINTS) or "@" in text or "[" in text or _LOWER_INTO_WORD.search(text))


def _fix_script(word: str) -> str:
    """'пoликлиника' with a Latin o → Cyrillic; pure Latin words stay."""
    if _CYR.search(word) and _LAT.search(word):
        return word.translate(_LAT2CYR)
    return word


def tokens(text: str) -> list[str]:
    """Folded word tokens of a raw text, as written."""
    return WORD.findall(fold(text))


def standard(word: str) -> str:
    """A folded word token with Latin look-alikes fixed and slang mapped ('щас' → 'сейчас')."""
    word = _fix_script(word)
    return SLANG.get(word, word)


def words(text: str) -> list[str]:
    """Folded word tokens of a raw text, Latin look-alikes fixed and slang mapped."""
    return standard_words(fold(text))


def standard_words(folded: str) -> list[str]:
    """``words`` for a text that is already folded."""
    return list(map(standard, WORD.findall(folded)))


_MORPH = pymorphy3.MorphAnalyzer()

FUNCTION_POS = frozenset({"PREP", "CONJ", "PRCL", "INTJ", "NPRO"})
KEEP_FUNCTION = frozenset({"не", "нет", "ни", "без", "когда", "почему", "зачем", "сколько", "где", "кто", "что"})
_CASES = frozenset({"nomn", "gent", "datv", "accs", "ablt", "loct", "voct", "gen2", "acc2", "loc2"})
_PROPER = frozenset({"Geox", "Name", "Surn", "Patr", "Orgn", "Trad", "Abbr", "Init"})
_SHARED: dict[frozenset, frozenset] = {}   # one object per distinct grammeme set (a few thousand exist)
_UNKNOWN = frozenset({"UNKN"})


def _shared(s: frozenset) -> frozenset:
    return _SHARED.setdefault(s, s)


@lru_cache(maxsize=WORD_CACHE)
def analysis(word: str) -> tuple[tuple[str, ...], frozenset, bool, bool]:
    """One pymorphy3 parse of a word, what the enrichment asks of every word: (normal forms of all
    parses, most probable first, ё folded; grammemes of the most probable parse; is it a function
    word; is it a dictionary word that is not a proper name)."""
    if len(word) > 40:                  # garbage ('ааааа…', a URL's remains): not a word to parse
        return (word,), _UNKNOWN, False, False
    parses = _MORPH.parse(word)
    if not word or word.isdigit():
        normal: tuple[str, ...] = (word,)
    else:
        seen: list[str] = []
        for p in parses:
            nf = p.normal_form.replace("ё", "е")
            if nf not in seen:
                seen.append(nf)
        normal = tuple(seen) or (word,)
    first = parses[0]
    grammemes = _shared(frozenset(first.tag.grammemes))
    function = word not in KEEP_FUNCTION and first.tag.POS in FUNCTION_POS
    common = bool(first.is_known) and grammemes.isdisjoint(_PROPER)
    return normal, grammemes, function, common


def lemmas(word: str) -> tuple[str, ...]:
    """Normal forms of every parse of ``word`` (most probable first; ё folded)."""
    return analysis(word)[0]


def tags(word: str) -> frozenset:
    """Grammemes of the most probable parse (e.g. {'NOUN','Geox','loct'})."""
    return analysis(word)[1]


def is_function_word(word: str) -> bool:
    return analysis(word)[2]


@lru_cache(maxsize=WORD_CACHE // 4)
def cases(word: str) -> frozenset:
    """Grammatical cases over all parses ('воронеж' → {nomn, accs}; 'воронеже' → {loct}). Asked of
    the few words that may be place names, so kept apart from ``analysis``."""
    if len(word) > 40:
        return frozenset()
    return _shared(frozenset(g for p in _MORPH.parse(word) for g in p.tag.grammemes if g in _CASES))


def is_common_word(word: str) -> bool:
    """A dictionary word that is not a proper name in its most probable parse ('мама', 'горка')."""
    return analysis(word)[3]
