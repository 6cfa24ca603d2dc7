"""Place resolution: which settlement, municipality and region a post is about.

From the text: inflected ('в Шахтах', 'из Аксая'), multi-word ('Нижний Тагил') and hyphenated
('в Каменске-Шахтинском') names are matched on the normal forms of all parses of each word part
(nlp.text.lemmas), so the name and its inflected forms meet. Street names after street markers
('ул. Жукова') and names followed by 'район'/'область'/'край' are skipped; a name that is also a
common word ('Мир', 'Южный', 'Заря') counts only after a settlement-type marker ('пос.', 'х.',
'станица') or capitalised inside a sentence. Repeated names are disambiguated by a district
mention ('Усть-Лабинского района'), a region mention, the source's region and home place, a
geotag, then population. Aliases (geo/data/aliases.csv) add colloquial names ('Питер', 'Адлер').
A geotag inside the resolved region wins over the text for the coordinates and the settlement.
"""
from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from heapq import nlargest
from itertools import compress
from pathlib import Path
from typing import NamedTuple

import h3
import numpy as np

from geo.gazetteer import FEDERAL_CITIES, Gazetteer
from geo.points import SettlementPoints
from nlp.text import WORD_CACHE, cases, is_common_word, lemmas, split_words, tags

ALIASES_PATH = Path(__file__).resolve().parent / "data" / "aliases.csv"
LOOKS_AT = 20_000       # characters of a text the resolver reads
HINTS_KEPT = 20_000     # distinct (place hint, region hint) pairs remembered

SETTLEMENT_MARKERS = {
    "г": "г", "гор": "г", "город": "г", "городе": "г", "города": "г", "городу": "г", "городом": "г",
    "пос": "п", "п": "п", "поселок": "п", "поселке": "п", "поселка": "п", "поселку": "п", "поселком": "п",
    "пгт": "пгт", "рп": "рп", "с": "с", "село": "с", "селе": "с", "села": "с", "селу": "с", "селом": "с",
    "ст": "ст-ца", "ст-ца": "ст-ца", "ст-це": "ст-ца", "станица": "ст-ца", "станице": "ст-ца", "станицы": "ст-ца",
    "станицу": "ст-ца", "станицей": "ст-ца", "х": "х", "хут": "х", "хутор": "х", "хуторе": "х", "хутора": "х",
    "хутору": "х", "д": "д", "дер": "д", "деревня": "д", "деревне": "д", "деревни": "д", "деревню": "д",
    "аул": "аул", "ауле": "аул", "аула": "аул", "слобода": "сл", "слободе": "сл", "сл": "сл",
    "мкр": "мкр", "микрорайон": "мкр", "микрорайоне": "мкр", "нп": "нп",
}
STREET_MARKERS = {
    "ул", "улица", "улице", "улицу", "улицы", "улицей", "пр", "пр-т", "пр-кт", "просп", "проспект", "проспекте",
    "пер", "переулок", "переулке", "переулка", "бул", "б-р", "бульвар", "бульваре", "ш", "шоссе", "пл", "площадь",
    "площади", "проезд", "проезде", "наб", "набережная", "набережной", "тупик", "аллея", "аллее", "им", "имени",
    "пр-д", "мост", "мосту", "остановка", "остановке", "станция", "метро", "тц", "трц", "жк", "снт", "кафе", "магазин",
}
AREA_WORDS = {"район", "района", "районе", "районы", "р-н", "р-на", "р-не", "округ", "округа", "округе",
              "область", "области", "обл", "край", "края", "крае", "республика", "республики", "республике"}
OBJECT_WORDS = {"сквер", "сквере", "сквера", "парк", "парке", "парка", "стадион", "стадионе", "стадиона", "остановка",
                "остановке", "остановки", "рынок", "рынке", "площадь", "площади", "улица", "улице", "улицы", "проспект",
                "бульвар", "жк", "тц", "трц", "кинотеатр",
                "храм", "церковь", "санаторий", "лагерь", "лагере", "база", "клуб", "дк", "фк", "команда", "магазин"}
# words after a street marker that still belong to the street's name ('ул. Героя Советского Союза
# Иванова', 'пр. Маршала Жукова', 'ул. 1-я Линия')
STREET_NAME_WORDS = {"им", "имени", "ак", "акад", "академика", "ген", "генерала", "маршала", "героя", "героев", "адм",
                     "адмирала", "кап", "капитана", "лейт", "лейтенанта", "полковника", "космонавта", "летчика",
                     "советского", "союза", "проф", "профессора", "писателя", "поэта", "композитора", "и", "б", "м"}
# street types that follow an adjective name ('Садовая ул.', 'Московское шоссе', 'Вокзальная улица')
STREET_AFTER = {"ул", "улица", "улице", "улицы", "улицу", "пер", "переулок", "переулке", "ш", "шоссе", "пр", "пр-т",
                "пр-кт", "проспект", "проспекте", "б-р", "бульвар", "бульваре", "пл", "площадь", "площади", "наб",
                "набережная", "набережной", "проезд", "проезде", "тупик", "аллея", "линия", "линии"}
# a post that gives a street address: a word that only names a street ('ул.', 'проспект'), or a
# house next to its number ('д. 5', 'дом 12', '3 парадная'); words with other senses ('линия',
# 'проезд', 'пл') do not count alone
STREET_WORDS = frozenset({"ул", "улица", "улице", "улицы", "улицу", "пер", "переулок", "переулке", "шоссе", "пр-т",
                          "пр-кт", "просп", "проспект", "проспекте", "б-р", "бульвар", "бульваре", "наб", "набережная",
                          "набережной"})
HOUSE_WORDS = frozenset({"д", "дом", "дома", "доме", "корп", "корпус", "парадная", "парадной", "подъезд", "подъезде", "подьезд"})
_HOUSE = re.compile(r"\d+[а-яa-z]?(?:/\d+)?(?:к\d+)?")
_ORDINAL = re.compile(r"(\d+)-?(?:ая|ой|я|й|ий|ый|ое|е|ого|го|ые|ых|х|ым|м|ую|ю)")
# where the regional government sits, when it is not the region's largest settlement
REGION_CENTRES = {"Вологодская область": "Вологда", "Московская область": "Красногорск", "Республика Ингушетия": "Магас",
                  "Ханты-Мансийский автономный округ - Югра": "Ханты-Мансийск", "Ямало-Ненецкий автономный округ": "Салехард"}
REGION_WORDS = {"область", "области", "обл", "край", "края", "крае", "округ", "округа"}
DISTRICT_WORDS = {"район", "района", "районе", "р-н", "р-на", "р-не", "округ", "округа", "округе"}
REGION_COLLOQUIAL = {
    "кубань": "Краснодарский край", "подмосковье": "Московская область", "ленобласть": "Ленинградская область",
    "башкирия": "Республика Башкортостан", "татария": "Республика Татарстан", "якутия": "Республика Саха (Якутия)",
    "чувашия": "Чувашская республика", "удмуртия": "Удмуртская республика", "мордовия": "Республика Мордовия",
    "бурятия": "Республика Бурятия", "калмыкия": "Республика Калмыкия", "карелия": "Республика Карелия",
    "дагестан": "Республика Дагестан", "чечня": "Чеченская республика", "ингушетия": "Республика Ингушетия",
    "хакасия": "Республика Хакасия", "тыва": "Республика Тыва", "тува": "Республика Тыва", "крым": "Республика Крым",
    "ямал": "Ямало-Ненецкий автономный округ", "янао": "Ямало-Ненецкий автономный округ", "югра": "Ханты-Мансийский автономный округ - Югра",
    "хмао": "Ханты-Мансийский автономный округ - Югра", "приморье": "Приморский край", "забайкалье": "Забайкальский край",
    "ставрополье": "Ставропольский край", "кузбасс": "Кемеровская область", "адыгея": "Республика Адыгея",
    "коми": "Республика Коми", "алания": "Республика Северная Осетия - Алания", "кабардино-балкария": "Кабардино-Балкарская республика",
    "карачаево-черкесия": "Карачаево-Черкесская республика", "камчатка": "Камчатский край", "чукотка": "Чукотский автономный округ",
    "татарстан": "Республика Татарстан", "башкортостан": "Республика Башкортостан", "марий": "Республика Марий Эл",
}


def fold(s: str) -> str:
    return s.lower().replace("ё", "е")


_ENDING = re.compile(r"(?:ами|ями|ого|его|ому|ему|ой|ей|ом|ем|ах|ях|ам|ям|ов|ев|ую|юю|ая|яя|ые|ие|ый|ий|ых|их|а|я|ы|и|е|у|ю|о)$")


# the locative and instrumental of neuter names in -ово/-ево/-ино/-ыно, which pymorphy does not
# know as places ('в Кореневе', 'Глушковом' → Коренево, Глушково); the genitive ('Иванова') is
# left alone: it is also a surname
_NEUTER_CASE = re.compile(r"(?<=[ое]в|ин|ын)(?:е|ом)$")


def word_forms(part: str) -> frozenset[str]:
    """The part, its normal forms, the nominative of a neuter place name's locative or instrumental,
    and a crude stem ('~ол' for 'ола'/'олы'): inflected names meet."""
    stem = _ENDING.sub("", part)
    extra = ("~" + stem,) if len(stem) >= 2 else ()
    if len(part) > 5 and _NEUTER_CASE.search(part):
        extra += (_NEUTER_CASE.sub("о", part),)
    return frozenset((part, *lemmas(part), *extra))


# the parts of possible names (capitalised words that some indexed name starts with) are few
forms = lru_cache(maxsize=WORD_CACHE // 4)(word_forms)


@dataclass(slots=True)     # (not frozen: see nlp.what.What)
class Place:
    settlement: str | None = None
    settlement_type: str | None = None
    municipality: str | None = None
    region: str | None = None
    oktmo: str | None = None              # settlement ОКТМО (11 digits), or the municipality's (8)
    municipality_oktmo: str | None = None
    lat: float | None = None
    lon: float | None = None
    h3: str | None = None
    span: tuple[int, int] | None = None   # characters of the matched name in the text
    matched: str | None = None
    confidence: float = 0.0
    method: str = "none"    # text | text+geotag | geotag | place_hint | district | federal_city | region_centre | region | none


_SENTENCE_END = frozenset(".!?…\n")
_UPPER_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
_DROP_UPPER = str.maketrans("", "", _UPPER_LETTERS)
_DROP_LOWER = str.maketrans("", "", _UPPER_LETTERS.lower())


def word_info(word: str, may_start) -> tuple[str, tuple[str, ...], bool, int, int, bool, bool]:
    """What the resolver needs of one word token, computed once per distinct word: (folded, hyphen
    parts, capitalised, upper-case letters, lower-case letters, can start a name, can start one in
    lower case). A name starts with a part some indexed name starts with (``may_start``), in a token
    that is not a number or a single letter; in lower case only if pymorphy knows the part as a place."""
    folded = word.lower().replace("ё", "е")
    ordinal = _ORDINAL.fullmatch(folded)
    parts = (ordinal.group(1),) if ordinal else tuple(folded.split("-"))     # '1-ая' → ('1',), as in names
    capital = word[:1].isupper()
    if len(parts) > 1 and parts[0] == "пол":    # 'пол-Ангарска' = half of Angarsk
        parts = parts[1:]
        capital = parts[0][:1] != "" and word[4:5].isupper()
    upper = len(word) - len(word.translate(_DROP_UPPER))
    lower = len(word) - len(word.translate(_DROP_LOWER))
    starts = not folded.isdigit() and len(folded) >= 2 and may_start(parts[0])
    return folded, parts, capital, upper, lower, starts, starts and "Geox" in tags(parts[0])


_UNSEEN = object()


def _any_of(values: np.ndarray, wanted) -> np.ndarray:
    """``np.isin`` for the few values a context names (np.isin costs tens of µs a call)."""
    if len(wanted) > 8:
        return np.isin(values, list(wanted))
    hit = np.zeros(len(values), dtype=bool)
    for w in wanted:
        hit |= values == w
    return hit


class _RowIds(NamedTuple):
    """Per settlement row, as numpy arrays: the ids of its region, (region, municipality) and type,
    and its population score (for scoring long lists of rows at once)."""
    region: np.ndarray
    muni: np.ndarray
    type: np.ndarray
    pop_score: np.ndarray
    region_id: dict
    muni_id: dict
    type_id: dict

    @classmethod
    def of(cls, region: list[str], muni: list[str], kind: list[str], pop_score: list[float]) -> "_RowIds":
        region_id, muni_id, type_id = {}, {}, {}
        r = [region_id.setdefault(x, len(region_id)) for x in region]
        m = [muni_id.setdefault(k, len(muni_id)) for k in zip(region, muni)]
        t = [type_id.setdefault(x, len(type_id)) for x in kind]
        return cls(np.array(r, dtype=np.int32), np.array(m, dtype=np.int32), np.array(t, dtype=np.int32),
                   np.array(pop_score, dtype=np.float64), region_id, muni_id, type_id)


class _Hint(NamedTuple):
    """The settlements a source's home place may mean, and their municipalities and regions."""
    rows: tuple[int, ...]
    row_set: frozenset
    munis: frozenset            # (region, municipality)
    regions: frozenset


class _Tokens:
    """The word tokens of a text as parallel tuples (no object per token: a post has ~40 words and
    only a few can be places). ``seps[i]`` is the text before token i (``seps[n]`` after the last);
    character offsets are computed only when a span is needed. ``info[i]`` is the resolver's
    per-word record (``PlaceResolver._word``), and each of its fields is also a tuple over the tokens."""
    __slots__ = ("text", "words", "seps", "info", "folded", "parts", "capital", "upper", "lower", "starts", "alone",
                 "republic", "n")

    def __init__(self, text: str, info_of, pieces: list[str] | None = None):
        if pieces is None:
            pieces = split_words(text[:LOOKS_AT])
        self.text = text
        self.words = pieces[1::2]
        self.seps = pieces[0::2]
        self.info = info = info_of(self.words)
        self.n = len(self.words)
        if info:
            (self.folded, self.parts, self.capital, self.upper, self.lower, self.starts,
             _, _, _, self.alone, self.republic) = zip(*info)
        else:
            self.folded = self.parts = self.capital = self.upper = self.lower = self.starts = self.alone = self.republic = ()

    def start(self, i: int) -> int:
        return sum(map(len, self.seps[:i + 1])) + sum(map(len, self.words[:i]))

    def end(self, i: int) -> int:
        return self.start(i) + len(self.words[i])

    def sentence_start(self, i: int) -> bool:
        """The first token, or a capitalised one after '.', '!', '?', '…' or a line break (spaces between)."""
        if i == 0:
            return True
        if not self.capital[i]:
            return False
        sep = self.seps[i].rstrip(" ")
        return sep != "" and sep[-1] in _SENTENCE_END

    def dot_after(self, i: int) -> bool:
        return self.seps[i + 1].startswith(".")

    def shouting(self) -> bool:
        """An all-caps post: over 20 letters in its first 2,000 characters, 1.5 times more upper- than
        lower-case (every letter is inside a token: counted per distinct word)."""
        if len(self.text) > 2000:
            head = self.text[:2000]
            upper, lower = len(head) - len(head.translate(_DROP_UPPER)), len(head) - len(head.translate(_DROP_LOWER))
        else:
            upper, lower = sum(self.upper), sum(self.lower)
        return upper + lower > 20 and upper > 1.5 * lower


@dataclass(slots=True)
class _Mention:
    first: int          # token index
    last: int
    rows: list[int]
    marker: str | None
    alias_note: str = ""
    prep: str = ""           # the word before the name ('в', 'из', 'на' …)
    parts: int = 1           # word parts of the matched name
    biggest: int = 0         # the largest population among the rows


_REGION_ALONE = frozenset({"Республика Татарстан", "Республика Башкортостан", "Республика Дагестан"})


def _has_address(tx: _Tokens) -> bool:
    """A street word, or a house word next to a number ('д. 5', 'дом 12', '3 парадная')."""
    F = tx.folded
    present = set(F)
    if not STREET_WORDS.isdisjoint(present):
        return True
    if HOUSE_WORDS.isdisjoint(present):
        return False
    return any(F[i] in HOUSE_WORDS and ((i + 1 < tx.n and F[i + 1][:1].isdigit()) or (i and F[i - 1][:1].isdigit()))
               for i in range(tx.n))


class PlaceResolver:
    @classmethod
    def load(cls, gazetteer: Gazetteer | None = None, cache_dir: Path | None = None, h3_resolution: int = 8,
             region_centre: bool = True) -> "PlaceResolver":
        """Build the name indexes once and cache them (about 10 s to build, under 2 s to load). A
        loaded resolver holds its own columns of the gazetteer, not the table."""
        import hashlib
        import os
        import pickle

        from geo.gazetteer import CACHE_VERSION, default_cache_dir

        cache_dir = cache_dir or default_cache_dir()
        digest = hashlib.sha256(Path(__file__).read_bytes())
        if ALIASES_PATH.exists():
            digest.update(ALIASES_PATH.read_bytes())
        path = cache_dir / f"place-index-{CACHE_VERSION}-{digest.hexdigest()[:10]}.pkl"
        if path.exists():
            with open(path, "rb") as fh:
                state = pickle.load(fh)
            obj = cls.__new__(cls)
            obj.__dict__.update(state)
            obj.h3_resolution, obj.region_centre = h3_resolution, region_centre
            return obj
        obj = cls(gazetteer or Gazetteer.load(cache_dir), h3_resolution, region_centre)
        state = {k: v for k, v in obj.__dict__.items() if k not in ("h3_resolution", "region_centre")}
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        with open(tmp, "wb") as fh:
            pickle.dump(state, fh, protocol=5)
        tmp.replace(path)
        return obj

    def __init__(self, gazetteer: Gazetteer, h3_resolution: int = 8, region_centre: bool = True):
        self.h3_resolution = h3_resolution
        self.region_centre = region_centre      # guess the region's centre for an address with no settlement
        t = gazetteer.table
        shared: dict[str, str] = {}             # one string object per distinct value (≈70 MB less)

        def column(name: str) -> list[str]:
            return [shared.setdefault(v, v) for v in t[name].tolist()]

        self._name = column("name")
        self._type = column("type")
        self._type_name = column("type_name")
        self._region = column("region")
        self._muni = column("municipality")
        self._oktmo = t["oktmo"].tolist()
        self._muni_oktmo = column("municipality_oktmo")
        self.points = SettlementPoints(t["lat"], t["lon"])
        self._pop = t["population"].tolist()
        self._lat = t["lat"].tolist()
        self._pop_score = [0.45 * math.log10(p + 1) for p in self._pop]
        self._ids = _RowIds.of(self._region, self._muni, self._type, self._pop_score)
        self._lon = t["lon"].tolist()
        self._single: dict[str, list[tuple[tuple[int, ...], str]]] = {}
        self._multi: dict[tuple[str, str], list[tuple[tuple[frozenset, ...], tuple[int, ...], str]]] = {}
        self._words: dict[str, tuple] = {}    # word → _word (filled while resolving)
        self._hints: dict[tuple, _Hint | None] = {}   # (place hint, region hint) → its settlements (filled while resolving)
        self._long: dict[tuple, tuple | None] = {}      # up to 4 words' parts → the longest name they start
        self._cells: dict[int, tuple] = {}              # row → (lat, lon, H3 cell)
        by_name: dict[str, list[int]] = {}
        for i, name in enumerate(self._name):
            by_name.setdefault(fold(name), []).append(i)
        self._by_name = by_name
        for key, rows in by_name.items():
            self._add_name(key, tuple(rows), "")
        self._load_aliases()
        self._multi_first = frozenset(a for a, _ in self._multi)
        self._build_areas()

    # ------------------------------------------------------------------ index
    def _add_name(self, folded_name: str, rows: tuple[int, ...], note: str) -> None:
        """Single-word names are keyed by each normal form; longer names by (first, second) forms. An
        ordinal is its number ('моква 1-я' → моква 1) and is also indexed in front ('1-я Моква')."""
        parts = [_ORDINAL.sub(r"\1", p) if _ORDINAL.fullmatch(p) else p for p in re.split(r"\s+", folded_name) if p]
        parts = [q for p in parts for q in p.split("-") if q]
        if not parts:
            return
        if len(parts) > 1 and parts[-1].isdigit():
            self._add_parts([parts[-1], *parts[:-1]], rows, note)
        self._add_parts(parts, rows, note)

    def _add_parts(self, parts: list[str], rows: tuple[int, ...], note: str) -> None:
        part_forms = tuple(forms(p) for p in parts)
        if len(parts) == 1:
            for f in part_forms[0]:
                if not f.startswith("~"):
                    self._single.setdefault(f, []).append((rows, note))
            return
        for f0 in part_forms[0]:
            if f0.startswith("~"):
                continue
            for f1 in part_forms[1]:
                self._multi.setdefault((f0, f1), []).append((part_forms[2:], rows, note))

    def _load_aliases(self) -> None:
        if not ALIASES_PATH.exists():
            return
        with open(ALIASES_PATH, encoding="utf-8") as fh:
            for rec in csv.DictReader(fh):
                alias, target, region = (rec.get("alias") or "").strip(), (rec.get("settlement") or "").strip(), (rec.get("region") or "").strip()
                rows = tuple(i for i in self._by_name.get(fold(target), []) if self._region[i] == region)
                if alias and rows:
                    best = max(rows, key=lambda i: self._pop[i])
                    note = "ambiguous" if "неоднознач" in (rec.get("note") or "") else "alias"
                    self._add_name(fold(alias), (best,), note)

    def _build_areas(self) -> None:
        """District (municipality) and region name indexes for context mentions."""
        self._district_index: dict[str, list[tuple[str, str]]] = {}
        seen = set()
        for region, muni in zip(self._region, self._muni):
            if (region, muni) in seen:
                continue
            seen.add((region, muni))
            core = re.sub(r"\s*(?:район|муниципальный округ|городской округ|административный округ)$", "", muni)
            core = re.sub(r"^(?:городской округ|город(?:-курорт|-герой)?)\s+", "", core)
            if " " in core:
                continue
            key = self._adj_key(fold(core))
            self._district_index.setdefault(key, []).append((region, muni))
        self._region_index: dict[tuple[str, ...], str] = {}
        for region in set(self._region):
            words = [w for w in re.split(r"[\s\-()]+", fold(region)) if w]
            content = [w for w in words if w not in ("область", "край", "республика", "автономный", "автономная", "округ", "город", "-", "югра", "алания", "якутия")]
            kind = next((w for w in words if w in ("область", "край", "республика", "округ")), None)
            if content:
                key = tuple(self._adj_key(w) for w in content)
                self._region_index[key + ((kind,) if kind and kind != "республика" else ())] = region
                if kind == "республика" or region in ("Москва", "Санкт-Петербург", "Севастополь"):
                    self._region_index[key] = region
        self._colloquial = {k: v for k, v in REGION_COLLOQUIAL.items() if v in set(self._region)}
        # the largest settlement of each municipality stands for it (coordinates of a district-only match)
        self._muni_seat: dict[tuple[str, str], int] = {}
        for i, key in enumerate(zip(self._region, self._muni)):
            j = self._muni_seat.get(key)
            if j is None or self._pop[i] > self._pop[j]:
                self._muni_seat[key] = i
        self._region_seat: dict[str, int] = {}
        for i, r in enumerate(self._region):
            j = self._region_seat.get(r)
            if j is None or self._pop[i] > self._pop[j]:
                self._region_seat[r] = i
        # the administrative centre: the largest settlement but where REGION_CENTRES says otherwise
        self._region_centre = dict(self._region_seat)
        for region, name in REGION_CENTRES.items():
            rows = [i for i in self._by_name.get(fold(name), []) if self._region[i] == region and self._type[i] == "г"]
            if rows:
                self._region_centre[region] = rows[0]

    @staticmethod
    @lru_cache(maxsize=100_000)
    def _adj_key(word: str) -> str:
        """'усть-лабинского' → 'усть-лабинский' (each hyphen part to its first normal form)."""
        return "-".join(lemmas(p)[0] if len(p) > 3 else p for p in word.split("-"))

    # ------------------------------------------------------------------ resolve
    def _may_start(self, part: str) -> bool:
        """Can a name in the index start with this word part (any of its forms)? Most words cannot:
        the mention scan looks only at those that can. (Asked once per distinct word: ``_infos``.)"""
        single, first = self._single, self._multi_first
        return any(f in single or f in first for f in word_forms(part))

    def _word(self, word: str) -> tuple:
        """``word_info`` plus what the mention scan needs of a word that can start a name: the
        settlements its single-part name may mean (sorted rows, note, largest population) and
        whether a longer name can start with it."""
        info = word_info(word, self._may_start)
        single, multi = None, False
        if info[5]:
            parts = info[1]
            f0 = forms(parts[0])
            first = self._multi_first
            multi = any(a in first for a in f0 if not a.startswith("~"))
            if len(parts) == 1:
                found = [entry for f in f0 for entry in self._single.get(f, ())]
                if found:
                    rows = sorted({r for entry in found for r in entry[0]})
                    note = "alias" if any(e[1] == "alias" for e in found) else found[0][1]
                    single = (rows, note, max(self._pop[r] for r in rows))
        # context: the region a capitalised word names alone ('Татарстан'), a word starting 'республик'
        alone = ""
        if info[2]:
            alone = self._region_index.get((self._adj_key(info[0]),), "")
            alone = alone if alone in _REGION_ALONE else ""
        return info + (single, multi, alone, info[0].startswith("республик"))

    def _infos(self, words: list[str]) -> list[tuple]:
        """``_word`` of each word, memoised per distinct word."""
        infos = list(map(self._words.get, words))
        if None in infos:
            if len(self._words) >= WORD_CACHE:
                self._words.clear()
            for k, w in enumerate(words):
                if infos[k] is None:
                    infos[k] = self._words[w] = self._word(w)
        return infos

    def _tokens(self, text: str, pieces: list[str] | None = None) -> _Tokens:
        return _Tokens(text, self._infos, pieces)

    def _mentions(self, tx: _Tokens, shouting: bool) -> list[_Mention]:
        out: list[_Mention] = []
        n, F, P, capital, info = tx.n, tx.folded, tx.parts, tx.capital, tx.info
        # tokens that can start a mention: capitalised, after a type marker, known as a place in
        # lower case, or anywhere in an all-caps post (the exact conditions follow)
        cands = [i for i in compress(range(n), tx.starts)
                 if capital[i] or info[i][6] or shouting or (i and F[i - 1] in SETTLEMENT_MARKERS)]
        nxt_free = 0                            # tokens before this are inside a found mention
        for i in cands:
            if i < nxt_free:
                continue
            prev = F[i - 1] if i else ""
            prev2 = F[i - 2] if i > 1 else ""
            if self._street_before(tx, i):
                continue
            marker = SETTLEMENT_MARKERS.get(prev)
            if marker and len(prev) <= 2 and not tx.dot_after(i - 1) and not capital[i]:
                marker = None                   # 'с чаем', 'д 5': a bare letter is a marker only as 'с.'/'п.' or before a capital
            # a mention starts capitalised, after a type marker, or with a word pymorphy knows as a
            # place (lower-case 'в краснодаре'); in an all-caps post, anywhere
            if not (capital[i] or marker or shouting or "Geox" in tags(P[i][0])):
                continue
            single, multi = info[i][7], info[i][8]
            if multi and i + 1 < n or len(P[i]) > 1:
                window = P[i:i + 4]             # the longest name here depends on these words only
                found = self._long.get(window, _UNSEEN)
                if found is _UNSEEN:
                    if len(self._long) >= WORD_CACHE:
                        self._long.clear()
                    found = self._long[window] = self._longest(tx, i, single)
                if found is None:
                    continue
                size, last, rows, note, biggest = found
                last += i
            elif single is not None:            # a one-word name (most): known from the word alone
                size, last = 1, i
                rows, note, biggest = single
            else:
                continue
            if not marker and self._street_after(tx, i, last):
                continue
            best = _Mention(i, last, rows, marker, note,
                            prev2 if prev in ("г", "город", "пос", "поселок", "с", "село", "ст", "станица", "х", "хутор", "д", "деревня") else prev,
                            size, biggest)
            if self._plausible(best, tx, shouting):
                out.append(best)
                nxt_free = best.last + 1
        return out

    @staticmethod
    def _street_before(tx: _Tokens, i: int) -> bool:
        """Token i is part of a street's name: a street marker before it in the same clause, with only
        words of a street's name between ('ул. Жоры Антоненко', 'ул. 1-я Линия', 'пр. Маршала Жукова')."""
        F, seps = tx.folded, tx.seps
        for j in range(i - 1, max(-1, i - 5), -1):
            sep = seps[j + 1]
            if "," in sep or ";" in sep or "\n" in sep or "(" in sep:
                return False
            if F[j] in STREET_MARKERS:
                return True
            if not (tx.capital[j] or F[j] in STREET_NAME_WORDS or _ORDINAL.fullmatch(F[j]) or F[j].isdigit()):
                return False
        return False

    @staticmethod
    def _street_after(tx: _Tokens, first: int, last: int) -> bool:
        """The name is a street's: a street type follows an adjective ('Садовая ул.', 'Московское
        шоссе'), or a house number follows ('Шахматова 16', 'Чичеринская 5/1', 'Ленина д. 5')."""
        k = last + 1
        if k >= tx.n or tx.seps[k].strip(" "):
            return False                        # the name ends the text or a punctuation mark follows
        nxt = tx.folded[k]
        if nxt in STREET_AFTER:
            return first == last and "ADJF" in tags(tx.parts[first][0])
        if nxt in ("д", "дом") and k + 1 < tx.n and tx.folded[k + 1][:1].isdigit():
            return True
        if _HOUSE.fullmatch(nxt) is None or first != last or tx.sentence_start(first):
            return False
        t = tags(tx.parts[first][0])              # a street is named by an adjective or a person ('Колпино 5' is not)
        return "ADJF" in t or not t.isdisjoint({"Surn", "Name", "Patr"})

    def _longest(self, tx: _Tokens, i: int, single) -> tuple | None:
        """The longest name starting at token i: (word parts, its last token - i, rows, note, largest population)."""
        n, P = tx.n, tx.parts
        # the parts from this token on (a name may span hyphen parts and tokens)
        flat: list[tuple[str, int]] = []
        for k in range(i, min(n, i + 4)):
            flat.extend((p, k) for p in P[k])
        found: list[tuple[int, list[int] | tuple[int, ...], str]] = []   # (number of parts, rows, note)
        if len(P[i]) == 1 and single is not None:
            found.append((1, single[0], single[1]))
        if len(flat) > 1:
            f0, f1 = forms(flat[0][0]), forms(flat[1][0])
            for a in f0:
                if a.startswith("~") or a not in self._multi_first:
                    continue
                for b in f1:
                    for rest, rows, note in self._multi.get((a, b), ()):
                        size = 2 + len(rest)
                        if size > len(flat) or not all(rest[j] & forms(flat[2 + j][0]) for j in range(len(rest))):
                            continue
                        last_tok = flat[size - 1][1]
                        # the name must end at a token boundary
                        if size < len(flat) and flat[size][1] == last_tok:
                            continue
                        found.append((size, rows, note))
        if not found:
            return None
        size = max(f[0] for f in found)
        if size == 1:
            return 1, 0, single[0], single[1], single[2]
        rows = sorted({r for f in found if f[0] == size for r in f[1]})
        note = "alias" if any(f[2] == "alias" for f in found if f[0] == size) else next(f[2] for f in found if f[0] == size)
        return size, flat[size - 1][1] - i, rows, note, max(self._pop[r] for r in rows)

    def _plausible(self, m: _Mention, tx: _Tokens, shouting: bool) -> bool:
        word, first_part, capital = tx.words[m.first], tx.parts[m.first][0], tx.capital[m.first]
        if word.isupper() and len(word) <= 4 and not m.marker and not shouting:
            return False                        # 'УК', 'МФЦ': abbreviations (in an all-caps post: 'ОМСК' too)
        nxt = tx.folded[m.last + 1] if m.last + 1 < tx.n else None
        if nxt is not None and nxt in AREA_WORDS and len(tx.seps[m.last + 1]) <= 2:
            return False                        # 'Ленинградской области', 'Азовский район'
        if m.marker:
            return capital or shouting or not is_common_word(first_part)   # 'города, любимые …'
        if m.prep == "на":
            return False                        # 'на Красной', 'на Северном': streets and city districts
        after = tx.folded[m.last + 2] if m.last + 2 < tx.n else None
        if nxt is not None and after is not None and after in DISTRICT_WORDS and capital:
            return True                         # 'Южный Усть-Лабинского района': a place qualified by its district
        if m.parts > 1 and all(tx.capital[m.first:m.last + 1]) and not shouting:
            return True                         # 'Нижний Тагил', 'Усть-Лабинск': a capitalised multi-part name
        t = tags(first_part)
        geo_word = "Geox" in t
        biggest = m.biggest
        person = bool({"Name", "Patr"} & t) or ("Surn" in t and not geo_word)
        if person and not geo_word:
            if m.prep in ("в", "во", "под", "из", "до") and _NEUTER_CASE.search(first_part) and capital and not shouting:
                return True                     # 'в Кореневе', 'под Глушковом': a neuter place name, not a person
            return capital and not shouting and biggest >= 20_000   # 'Кропоткин', 'Энгельс' (towns) vs 'Жукова'
        if m.alias_note == "" and capital and not shouting and biggest >= 50_000:
            return True                         # 'Волжский', 'Октябрьский': a town this size is meant as a town
        sentence_start = tx.sentence_start(m.first)
        if sentence_start and is_common_word(first_part) and not geo_word:
            return False                        # 'Горка ржавая', 'Мама инвалид', 'Позор!'
        if m.prep in OBJECT_WORDS:
            return False                        # 'в сквере Победы', 'стадион «Шахтёр»'
        if m.alias_note == "ambiguous":
            return capital and not sentence_start and not shouting
        if geo_word:
            return True                         # pymorphy knows it as a place: case does not matter
        common = bool(t & {"ADJF", "VERB", "INFN", "ADVB", "PRTF", "CONJ", "PREP", "NPRO", "PRCL", "NUMR", "PRED", "COMP", "GRND", "ADJS", "PRTS", "INTJ"}) \
            or ("NOUN" in t and is_common_word(first_part))
        if shouting:
            return not common and len(m.rows) > 0 and biggest >= 5000
        if not capital:
            return False
        if common:
            return not sentence_start
        return True

    def _context(self, tx: _Tokens) -> tuple[set[tuple[str, str]], set[str]]:
        """Districts ('Усть-Лабинского района') and regions ('Ростовской области', 'Кубань') named in the text."""
        districts: set[tuple[str, str]] = set()
        regions: set[str] = set()
        F, capital, n = tx.folded, tx.capital, tx.n
        present = set(F)                        # set operations first: most posts name neither
        if not DISTRICT_WORDS.isdisjoint(present):
            for i in [i - 1 for i in range(1, n) if F[i] in DISTRICT_WORDS]:
                districts.update(self._district_index.get(self._adj_key(F[i]), ()))
        for f in self._colloquial.keys() & present:
            regions.add(self._colloquial[f])
        # a region: an adjective before 'область'/'край'/'округ', or a capitalised name ('Татарстан',
        # after 'республика' any)
        look = set()
        if not REGION_WORDS.isdisjoint(present):
            look.update(i - 1 for i in range(1, n) if F[i] in REGION_WORDS)
        if True in tx.republic:
            look.update(i + 1 for i in range(n - 1) if F[i].startswith("республик"))
        # a capitalised word alone names a region only as one of _REGION_ALONE (known per word)
        alone = set(tx.alone)
        alone.discard("")
        regions |= alone
        for i in sorted(look):
            nxt = F[i + 1] if i + 1 < n else ""
            prev = F[i - 1] if i else ""
            after_republic = prev.startswith("республик")
            if not (nxt in REGION_WORDS or capital[i] or after_republic):
                continue
            key1 = (self._adj_key(F[i]),)
            if nxt in ("область", "области", "обл", "край", "края", "крае", "округ", "округа"):
                kind = {"области": "область", "обл": "область", "края": "край", "крае": "край", "округа": "округ"}.get(nxt, nxt)
                r = self._region_index.get(key1 + (kind,))
                if r:
                    regions.add(r)
            if after_republic:
                r = self._region_index.get(key1)
                if r:
                    regions.add(r)
        return districts, regions

    def _scores(self, m: _Mention, districts, regions, region_hint, hint: _Hint | None, geo) -> list[tuple[float, int]]:
        """(score, row) of each settlement a mention may mean: context bonuses (a district or region
        named in the text, the source's region and home place, a geotag, the type marker), then
        0.45·log10(population + 1). Bonuses are multiples of 0.5, so their sum is exact in any order."""
        pop_score = self._pop_score
        if not (districts or regions or hint is not None or geo is not None or m.marker):
            if not region_hint:
                return [(pop_score[r], r) for r in m.rows]      # nothing but population to go on
            R = self._region                                  # the source's region only
            return [(3.0 + pop_score[r] if R[r] == region_hint else pop_score[r], r) for r in m.rows]
        marker = m.marker
        marker_type = SETTLEMENT_MARKERS.get(marker, marker) if marker else None
        if len(m.rows) > 24 and geo is None:   # 'Октябрьский': hundreds of settlements, in numpy
            return self._scores_many(m.rows, districts, regions, region_hint, hint, marker, marker_type)
        return self._scores_each(m.rows, districts, regions, region_hint, hint, geo, marker, marker_type)

    def _scores_each(self, rows, districts, regions, region_hint, hint, geo, marker, marker_type) -> list[tuple[float, int]]:
        pop_score = self._pop_score
        out = []
        R, M, T = self._region, self._muni, self._type
        for row in rows:
            s = 0.0
            region, muni = R[row], M[row]
            if (region, muni) in districts:
                s += 5.0
            if region in regions:
                s += 3.5
            if region_hint and region == region_hint:
                s += 3.0
            if hint is not None:
                if row in hint.row_set or (region, muni) in hint.munis:
                    s += 2.0
                elif region in hint.regions:
                    s += 1.0
            if geo is not None:
                d = self.points.distance_km(row, *geo)
                s += 4.0 if d < 15 else (2.0 if d < 60 else 0.0)
            if marker:
                if marker_type == T[row]:
                    s += 1.5
                elif marker in ("п", "пгт", "рп") and T[row] in ("п", "пгт", "рп", "кп", "дп"):
                    s += 1.0
                elif marker == "г" and T[row] != "г":
                    s -= 1.0
            out.append((s + pop_score[row], row))
        return out

    def _scores_many(self, rows, districts, regions, region_hint, hint, marker, marker_type) -> list[tuple[float, int]]:
        """``_scores`` for a long list of rows (without a geotag), as numpy arrays: the same bonuses
        (exact sums of multiples of 0.5) plus the same population term; only the top two are
        returned, in the order ``sorted(..., reverse=True)`` gives them."""
        ids = self._ids
        rows_a = np.asarray(rows, dtype=np.int64)
        region_of, muni_of = ids.region[rows_a], ids.muni[rows_a]
        bonus = np.zeros(len(rows_a))
        if districts:
            bonus += 5.0 * _any_of(muni_of, [ids.muni_id.get(d, -1) for d in districts])
        if regions:
            bonus += 3.5 * _any_of(region_of, [ids.region_id.get(r, -1) for r in regions])
        if region_hint:
            bonus += 3.0 * (region_of == ids.region_id.get(region_hint, -1))
        if hint is not None:
            near = _any_of(rows_a, hint.rows) | _any_of(muni_of, [ids.muni_id.get(k, -1) for k in hint.munis])
            same_region = _any_of(region_of, [ids.region_id.get(r, -1) for r in hint.regions])
            bonus += np.where(near, 2.0, np.where(same_region, 1.0, 0.0))
        if marker:
            kind = ids.type[rows_a]
            if marker in ("п", "пгт", "рп"):    # another kind of village: +1
                other = 1.0 * _any_of(kind, [ids.type_id.get(t, -1) for t in ("п", "пгт", "рп", "кп", "дп")])
            else:                               # 'г.' before what is not a town: -1 (its own type is 'г')
                other = -1.0 if marker == "г" else 0.0
            bonus += np.where(kind == ids.type_id.get(marker_type, -1), 1.5, other)
        scores = bonus + ids.pop_score[rows_a]
        top = np.lexsort((rows_a, scores))[::-1][:2]       # by score, then row, both descending
        return [(float(scores[k]), int(rows_a[k])) for k in top]

    def _resolve_hint(self, place_hint: str | None, region_hint: str | None) -> _Hint | None:
        """The settlements a source's home place may mean ('Усть-Лабинск', 'Южный, Усть-Лабинский
        район'), or None; memoised: a feed's posts come from a limited set of communities."""
        if not place_hint:
            return None
        key = (place_hint, region_hint)
        hint = self._hints.get(key, _UNSEEN)
        if hint is _UNSEEN:
            if len(self._hints) >= HINTS_KEPT:
                self._hints.clear()
            rows = tuple(self._hint_rows(place_hint, region_hint))
            hint = self._hints[key] = _Hint(rows, frozenset(rows), frozenset((self._region[r], self._muni[r]) for r in rows),
                                           frozenset(self._region[r] for r in rows)) if rows else None
        return hint

    def _hint_rows(self, place_hint: str, region_hint: str | None) -> list[int]:
        tx = self._tokens(place_hint)
        districts, _ = self._context(tx)
        rows: list[int] = []
        for m in self._mentions(tx, shouting=False):
            rows.extend(m.rows)
        if not rows:
            rows = list(self._by_name.get(fold(place_hint.strip()), []))
        if districts:
            rows = [r for r in rows if (self._region[r], self._muni[r]) in districts] or rows
        if region_hint:
            in_region = [r for r in rows if self._region[r] == region_hint]
            rows = in_region or rows
        return rows

    def _place(self, row: int, confidence: float, method: str, span=None, matched=None, geo=None) -> Place:
        if geo is not None:
            lat, lon = geo
            cell = (round(lat, 6), round(lon, 6), h3.latlng_to_cell(lat, lon, self.h3_resolution))
        else:
            cell = self._cells.get(row)
            if cell is None:
                if len(self._cells) >= WORD_CACHE:
                    self._cells.clear()
                lat, lon = self._lat[row], self._lon[row]
                cell = self._cells[row] = (round(lat, 6), round(lon, 6), h3.latlng_to_cell(lat, lon, self.h3_resolution))
        return Place(
            settlement=self._name[row], settlement_type=self._type_name[row], municipality=self._muni[row],
            region=self._region[row], oktmo=self._oktmo[row] or None, municipality_oktmo=self._muni_oktmo[row] or None,
            lat=cell[0], lon=cell[1], h3=cell[2], span=span, matched=matched, confidence=round(confidence, 3), method=method,
        )

    def resolve(self, text: str, region_hint: str | None = None, place_hint: str | None = None,
                geo: tuple[float, float] | None = None, pieces: list[str] | None = None) -> Place:
        """``pieces``: ``nlp.text.split_words(text[:LOOKS_AT])`` when the caller has it already."""
        text = text or ""
        tx = self._tokens(text, pieces)
        shouting = tx.shouting()
        mentions = self._mentions(tx, shouting)
        districts, regions = self._context(tx)
        hint = self._resolve_hint(place_hint, region_hint)
        if region_hint and region_hint not in self._region_seat:
            region_hint = None

        best = None  # (score, margin, row, mention)
        own_town = None     # the best-placed mention of a federal city's own town (it beats the city)
        R = self._region
        for rank, m in enumerate(mentions):
            scored = self._scores(m, districts, regions, region_hint, hint, geo)
            if len(scored) > 2 or (len(scored) == 2 and scored[1] > scored[0]):    # (numpy's: top two, in order)
                scored = sorted(scored, reverse=True) if len(scored) <= 3 else nlargest(2, scored)
            top, row = scored[0]
            margin = top - scored[1][0] if len(scored) > 1 else 5.0
            if region_hint and R[row] != region_hint and not self._explicit(row, m, tx, districts, regions, geo):
                continue        # outside the source's region on no evidence: a word that names a place elsewhere
            quality = top + (1.0 if m.marker else 0.0) - 0.8 * rank   # the first place named is usually where it happened
            if m.prep in ("в", "во") and not (cases(tx.parts[m.first][0]) & {"loct", "loc2", "ablt", "gent"}):
                quality -= 3.0                  # 'везут в Воронеж', 'ехать в Самару': a destination, not the place
            elif m.prep in ("из", "до", "от"):
                quality -= 1.0
            if best is None or quality > best[0]:
                best = (quality, margin, row, m)
            if R[row] in FEDERAL_CITIES and row != self._region_seat[R[row]] and (own_town is None or quality > own_town[0]):
                own_town = (quality, margin, row, m)

        if best is not None:
            if own_town is not None and best[2] == self._region_seat[R[best[2]]]:
                best = own_town                 # 'Санкт-Петербург, г. Пушкин …': the town, not the city
            _, margin, row, m = best
            conf = 0.97 if margin >= 3 else 0.9 if margin >= 1.5 else 0.75 if margin >= 0.5 else 0.55
            if m.alias_note == "ambiguous":
                conf = min(conf, 0.7)
            span = (tx.start(m.first), tx.end(m.last))
            matched = text[span[0]:span[1]]
            if geo is not None:
                g_row, dist = self.points.nearest(*geo)
                if self._region[g_row] == self._region[row] and dist < 30:
                    if g_row == row or self.points.distance_km(row, *geo) < 15:
                        return self._place(row, max(conf, 0.95), "text+geotag", span, matched, geo)
                    return self._place(g_row, 0.9, "geotag", span, matched, geo)
            return self._place(row, conf, "text", span, matched)

        if geo is not None:
            g_row, dist = self.points.nearest(*geo)
            if dist < 30:
                return self._place(g_row, 0.8, "geotag", geo=geo)
        if districts:
            # a district named in the text, preferring the source's region, a region named too, then the
            # largest (a deterministic order: set iteration order changes from run to run)
            region, muni = max(districts, key=lambda d: (d[0] == region_hint, d[0] in regions, self._pop[self._muni_seat[d]], d))
            seat = self._muni_seat[(region, muni)]
            p = self._place(seat, 0.6, "district")
            return Place(None, None, muni, region, p.municipality_oktmo, p.municipality_oktmo, p.lat, p.lon, p.h3,
                         None, None, 0.6, "district")
        if hint is not None:
            row = max(hint.rows, key=lambda r: self._pop[r])
            return self._place(row, 0.45, "place_hint")
        region = next(iter(sorted(regions)), None) or region_hint
        if region in FEDERAL_CITIES:            # the region is the city: no town of its own named
            return self._place(self._region_seat[region], 0.6, "federal_city")
        if region and self.region_centre and _has_address(tx):
            # a street address and no settlement: the region's centre, as a guess the method names
            return self._place(self._region_centre[region], 0.25, "region_centre")
        if region:
            return Place(None, None, None, region, None, None, None, None, None, None, None, 0.3, "region")
        return Place()

    def _explicit(self, row: int, m: _Mention, tx: _Tokens, districts, regions, geo) -> bool:
        """Evidence for a place outside the source's region: its region or district named, a geotag
        near it, or a name unique in Russia that is not a common word."""
        if self._region[row] in regions or (self._region[row], self._muni[row]) in districts:
            return True
        if geo is not None and self.points.distance_km(row, *geo) < 60:
            return True
        return len(m.rows) == 1 and m.alias_note != "ambiguous" and not is_common_word(tx.parts[m.first][0])

