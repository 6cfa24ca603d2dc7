"""Place resolution on the real gazetteer (all of Russia)."""
import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def resolver():
    from geo.place_resolver import PlaceResolver

    return PlaceResolver.load(cache_dir=ROOT / "data" / "cache")


@pytest.mark.parametrize("text, settlement, municipality, region", [
    ("У нас в Шахтах третий день нет воды", "Шахты", "город Шахты", "Ростовская область"),
    ("из Аксая до Ростова маршрутка не ходит", "Аксай", "Аксайский район", "Ростовская область"),
    ("в Каменске-Шахтинском яма на дороге", "Каменск-Шахтинский", "город Каменск-Шахтинский", "Ростовская область"),
    ("в посёлке Южном Усть-Лабинского района нет воды", "Южный", "Усть-Лабинский район", "Краснодарский край"),
    ("Нижний Тагил, ул. Жукова, мусор не вывозят", "Нижний Тагил", "город Нижний Тагил", "Свердловская область"),
    ("В станице Ленинградской нет газа", "Ленинградская", "Ленинградский район", "Краснодарский край"),
    ("Ленинградская область, Гатчина: свет отключили", "Гатчина", None, "Ленинградская область"),
    ("в краснодаре ямы на каждом шагу", "Краснодар", "город Краснодар", "Краснодарский край"),
    ("Жители хутора Красный Курганинского района жалуются на дорогу", "Красный", "Курганинский район", "Краснодарский край"),
    # the source lists Уфа and Астрахань only by their city districts: the gazetteer adds the cities
    ("Уфа, Дёма. В школу не принимают по прописке", "Уфа", "городской округ Уфа", "Республика Башкортостан"),
    ("в Астрахани опять прорвало трубу", "Астрахань", "город Астрахань", "Астраханская область"),
    # an all-caps post: a short city name is not an abbreviation
    ("ОМСК, ЛЕВОБЕРЕЖЬЕ. ДЕТСКИЙ САД №350 - КРЫША ТЕЧЁТ В СПАЛЬНЕ", "Омск", "городской округ Омск", "Омская область"),
])
def test_names_in_text(resolver, text, settlement, municipality, region):
    p = resolver.resolve(text)
    assert (p.settlement, p.region) == (settlement, region)
    if municipality:
        assert p.municipality == municipality
    assert p.matched and text[p.span[0]:p.span[1]] == p.matched
    assert p.lat and p.lon and p.h3 and p.confidence >= 0.5


def test_street_names_are_not_places(resolver):
    p = resolver.resolve("на ул. Жукова опять прорыв трубы")
    assert p.settlement is None


def test_common_words_need_a_marker(resolver):
    assert resolver.resolve("Мир вам, соседи! опять нет воды").settlement is None
    assert resolver.resolve("в пос. Мир нет воды").settlement == "Мир"


def test_repeated_names_use_region_hint_and_population(resolver):
    a = resolver.resolve("В посёлке Южном нет света", region_hint="Краснодарский край")
    assert (a.settlement, a.region) == ("Южный", "Краснодарский край")
    b = resolver.resolve("В посёлке Южном нет света", region_hint="Ставропольский край")
    assert b.region == "Ставропольский край"


def test_place_hint_and_geotag(resolver):
    p = resolver.resolve("Опять нет воды", region_hint="Краснодарский край", place_hint="Усть-Лабинск")
    assert (p.settlement, p.method) == ("Усть-Лабинск", "place_hint")
    g = resolver.resolve("Опять нет воды", geo=(47.2357, 39.7015))  # Rostov-on-Don centre
    assert g.settlement == "Ростов-на-Дону" and g.method == "geotag"


def test_district_only(resolver):
    p = resolver.resolve("В Аксайском районе опять отключили газ")
    assert (p.settlement, p.municipality, p.region) == (None, "Аксайский район", "Ростовская область")


@pytest.mark.parametrize("text", ["", "   ", "x" * 100_000, "\x00\xff garbage", "<b>Москва</b>", "ВСЁ ПЛОХО НЕТ ВОДЫ"])
def test_bad_input_never_raises(resolver, text):
    resolver.resolve(text)


def test_long_row_lists_score_in_numpy_as_in_the_loop(resolver):
    """Names such as 'Октябрьский' mean hundreds of settlements: their rows are scored with numpy
    arrays; the top two must be those of the per-row loop, in every kind of context."""
    import random

    from geo.place_resolver import SETTLEMENT_MARKERS, _Hint

    r = resolver
    rng = random.Random(4)
    big = [rows for rows, _ in (entry for entries in r._single.values() for entry in entries) if len(rows) > 24][:60]
    assert big
    for rows in big:
        for _ in range(5):
            pick = rng.sample(rows, 3)
            districts = {(r._region[x], r._muni[x]) for x in pick[:rng.randint(0, 2)]}
            regions = {r._region[x] for x in pick[:rng.randint(0, 1)]}
            region_hint = rng.choice([None, r._region[pick[2]], "Москва"])
            hint_rows = tuple(rng.sample(rows, 2)) if rng.random() < 0.5 else ()
            hint = _Hint(hint_rows, frozenset(hint_rows), frozenset((r._region[x], r._muni[x]) for x in hint_rows),
                         frozenset(r._region[x] for x in hint_rows)) if hint_rows else None
            marker = rng.choice([None, "г", "п", "пгт", "х", "ст-ца", "с"])
            marker_type = SETTLEMENT_MARKERS.get(marker, marker) if marker else None
            loop = sorted(r._scores_each(rows, districts, regions, region_hint, hint, None, marker, marker_type), reverse=True)[:2]
            assert r._scores_many(rows, districts, regions, region_hint, hint, marker, marker_type) == loop


# --- context: the source's region, street addresses, federal cities, the region-centre guess
# (our own sentences; each names the class of error it guards against)

@pytest.mark.parametrize("text", [
    "Нет освещения на Садовая ул., д. 12",                 # a street type after an adjective name
    "Не убирают снег, Московское шоссе д. 40",
    "Мусор у дома по ул. 1-я Линия, 7",                     # words after a street marker
    "Яма у дома Шахматова 16, машины бьют колёса",           # a name followed by a house number
    "Во дворе дома Дзержинского 5 нет света",
])
def test_street_address_words_are_never_settlements(resolver, text):
    p = resolver.resolve(text, region_hint="Курская область", )
    assert p.method != "text", (text, p)


def test_region_hint_excludes_places_elsewhere_without_evidence(resolver):
    # nine villages called 'Абакумово' in Russia, none in Kursk Oblast: from a Kursk portal none is the place
    text = "В селе Абакумово опять нет воды, третий день"
    p = resolver.resolve(text, region_hint="Курская область")
    assert (p.settlement, p.region, p.method) == (None, "Курская область", "region")
    assert resolver.resolve(text).settlement == "Абакумово"      # without the hint: the largest of them, as before
    # a place outside the region named with its region is explicit evidence
    p = resolver.resolve("В Аксае Ростовской области не вывозят мусор", region_hint="Курская область")
    assert (p.settlement, p.region) == ("Аксай", "Ростовская область")


def test_federal_city_is_the_city_unless_its_own_town_is_named(resolver):
    p = resolver.resolve("В парадной 3 не работает лифт, ул. Савушкина д. 10", region_hint="Санкт-Петербург")
    assert (p.settlement, p.method) == ("Санкт-Петербург", "federal_city")
    p = resolver.resolve("Санкт-Петербург, г. Пушкин, ул. Ленинградская, д. 3: течёт крыша", region_hint="Санкт-Петербург")
    assert (p.settlement, p.municipality, p.region) == ("Пушкин", "Пушкинский район", "Санкт-Петербург")
    p = resolver.resolve("в Колпино опять отключили горячую воду", region_hint="Санкт-Петербург")
    assert (p.settlement, p.municipality) == ("Колпино", "Колпинский район")
    p = resolver.resolve("пос. Шушары, детская площадка сломана", region_hint="Санкт-Петербург")
    assert p.settlement == "Шушары"


def test_street_address_without_settlement_guesses_the_region_centre(resolver):
    p = resolver.resolve("Яма во дворе дома 14 по ул. Советской", region_hint="Курская область")
    assert (p.settlement, p.method) == ("Курск", "region_centre") and p.confidence < 0.5
    p = resolver.resolve("Яма во дворе дома 14 по ул. Советской", region_hint="Вологодская область")
    assert p.settlement == "Вологда"            # the centre, not the largest town (Череповец)
    # no address: the region only
    p = resolver.resolve("Когда уже починят всё это", region_hint="Курская область")
    assert (p.settlement, p.method) == (None, "region")


def test_region_centre_guess_can_be_turned_off():
    from geo.place_resolver import PlaceResolver

    off = PlaceResolver.load(cache_dir=ROOT / "data" / "cache", region_centre=False)
    p = off.resolve("Яма во дворе дома 14 по ул. Советской", region_hint="Курская область")
    assert (p.settlement, p.method) == (None, "region")


def test_numbered_villages_in_either_order(resolver):
    for text in ("в деревне 1-ая Моква не чистят дорогу", "д. Моква 1-я, нет света"):
        p = resolver.resolve(text, region_hint="Курская область")
        assert (p.settlement, p.municipality) == ("Моква 1-я", "Курский район"), text


@pytest.mark.parametrize("text, settlement", [
    ("В Кореневе третий день нет воды", "Коренево"),          # locative of a neuter name in -ево
    ("в Глушкове опять отключили свет", "Глушково"),
    ("под Глушковом авария на линии", "Глушково"),             # instrumental
    ("В Пристенном не вывозят мусор", "Пристенное"),
    ("в рп Кшенский нет газа", "Кшенский"),                   # a work settlement
])
def test_inflected_forms_of_small_places(resolver, text, settlement):
    assert resolver.resolve(text, region_hint="Курская область").settlement == settlement


@pytest.mark.parametrize("text", [
    "Проезд в автобусе опять подорожал",                     # 'проезд' = the fare, not a street
    "Упала линия электропередачи, света нет",
    "В доме нет горячей воды третий день",                   # a house, but no number: no address
])
def test_no_address_no_region_centre_guess(resolver, text):
    assert resolver.resolve(text, region_hint="Курская область").method == "region"


@pytest.mark.parametrize("text", ["3 парадная, не работает лифт", "Яма у д. 5", "Снег не убран, Садовая улица"])
def test_addresses_get_the_region_centre_guess(resolver, text):
    assert resolver.resolve(text, region_hint="Курская область").method == "region_centre"
