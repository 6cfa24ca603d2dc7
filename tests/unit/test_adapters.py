import io
import json
import shutil
import sys
from pathlib import Path

import pytest

from intake.adapters import Posts, detect, from_plain, from_telegram_export, from_vk, posts_from_file
from intake.raw_post import RawPost, parse_raw_post

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "intake"
KEY = b"k" * 32


def load(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def by_id(posts) -> dict:
    return {p["id"]: p for p in posts}


# ---------------------------------------------------------------- VK
def test_vk_wall_get():
    result = from_vk(load("vk_wall_get.json"))
    posts = by_id(result)
    assert list(posts) == ["-73264521_5123", "-73264521_5122", "-73264521_5120"]
    assert result.skipped == 2  # the ad (5121) and the post without any text (5119)
    assert posts["-73264521_5123"] == {
        "source": "vk",
        "id": "-73264521_5123",
        "text": "Третий день нет воды на улице Красной, дома 40–58. В «Водоканал» дозвониться невозможно, "
                "на сайте тишина. Когда дадут воду?",
        "created_at": "2026-11-20T18:47:02+00:00",
        "author_id": "512349876",  # signer_id: from_id is the community itself
        "community_id": "73264521",
        "community_name": "Подслушано Усть-Лабинск",
        "url": "https://vk.com/wall-73264521_5123",
    }
    assert posts["-73264521_5122"] == {
        "source": "vk",
        "id": "-73264521_5122",
        "text": "На Ленина напротив рынка открытый люк без крышки, уже неделю. Вечером там темно, "
                "кто-нибудь точно упадёт.",
        "created_at": "2026-11-20T05:15:00+00:00",
        "author_id": "628410337",
        "community_id": "73264521",
        "community_name": "Подслушано Усть-Лабинск",
        "url": "https://vk.com/wall-73264521_5122",
        "geo": {"lat": 45.2147, "lon": 39.6912},
    }
    repost = posts["-73264521_5120"]
    assert repost["text"].startswith("Уважаемые жители! 20 ноября с 09:00 до 17:00")
    assert repost["author_id"] == "-73264521" and repost["created_at"] == "2026-11-19T07:00:00+00:00"
    assert all("region_hint" not in p and "place_hint" not in p for p in posts.values())


def test_vk_newsfeed_search_takes_place_hint_from_group_city():
    result = from_vk(load("vk_newsfeed_search.json"))
    posts = by_id(result)
    assert list(posts) == ["-41877205_30418", "-73264521_5124", "-41877205_30411"]
    assert result.skipped == 0
    assert posts["-41877205_30418"] == {
        "source": "vk",
        "id": "-41877205_30418",
        "text": "Улица Мира в Кореновске — сплошные ямы, после дождя не проехать. Ремонт обещали ещё летом.",
        "created_at": "2026-11-22T15:20:05+00:00",
        "author_id": "-41877205",
        "community_id": "41877205",
        "community_name": "Типичный Кореновск",
        "url": "https://vk.com/wall-41877205_30418",
        "place_hint": "Кореновск",
    }
    assert posts["-73264521_5124"]["place_hint"] == "Усть-Лабинск"
    assert posts["-73264521_5124"]["author_id"] == "733102945"
    assert posts["-41877205_30411"]["geo"] == {"lat": 45.4641, "lon": 39.4475}  # from geo.place
    assert posts["-41877205_30411"]["author_id"] == "705512873"


def test_vk_accepts_bare_items_and_a_single_item():
    item = load("vk_wall_get.json")["response"]["items"][0]
    assert [p["id"] for p in from_vk({"items": [item]})] == ["-73264521_5123"]
    (post,) = from_vk(item)
    assert post["id"] == "-73264521_5123" and "community_name" not in post  # no groups to name it


def test_vk_user_wall_has_no_community():
    (post,) = from_vk({"id": 7, "owner_id": 1234, "from_id": 1234, "date": 1795200422, "text": "Яма во дворе"})
    assert post["url"] == "https://vk.com/wall1234_7" and "community_id" not in post


def test_vk_bad_items_are_skipped_and_counted():
    good = {"id": 1, "owner_id": -5, "from_id": -5, "date": 1795200422, "text": "Нет отопления"}
    doc = {"items": [good, "junk", {"id": 2, "owner_id": -5, "text": "нет даты"},
                     {**good, "id": 3, "geo": {"coordinates": "не координаты"}}, {**good, "date": 10**20}]}
    result = from_vk(doc)
    posts = list(result)
    assert [p["id"] for p in posts] == ["-5_1", "-5_3"]   # a malformed geotag is dropped, the post kept
    assert "geo" not in posts[1] and result.skipped == 3


# ---------------------------------------------------------------- Telegram
def test_telegram_export():
    result = from_telegram_export(load("telegram_result.json"))
    posts = by_id(result)
    assert list(posts) == ["1789456123_101", "1789456123_102", "1789456123_105", "1789456123_106"]
    assert result.skipped == 2  # the sticker without text (103) and the service message (104)
    assert posts["1789456123_102"] == {
        "source": "telegram",
        "id": "1789456123_102",
        "text": "Внимание! Завтра с 9:00 до 17:00 отключат воду на улицах Ленина и Красной. "
                "Подробности: https://vodokanal-ul.ru/news/1234",
        "created_at": "2026-11-20T08:15:00",  # local time without a zone, kept as given
        "author_id": "channel1789456123",
        "community_id": "1789456123",
        "community_name": "Усть-Лабинск 24",
        "url": "https://t.me/c/1789456123/102",
    }
    assert posts["1789456123_106"] == {
        "source": "telegram",
        "id": "1789456123_106",
        "text": "Мусор не вывозят с понедельника, контейнеры на Октябрьской переполнены.",
        "created_at": "2026-11-22T15:20:05+00:00",  # from date_unixtime
        "author_id": "channel1789456123",
        "community_id": "1789456123",
        "community_name": "Усть-Лабинск 24",
        "url": "https://t.me/c/1789456123/106",
    }
    assert posts["1789456123_105"]["text"].startswith("Вот так выглядит двор дома №12")
    assert posts["1789456123_101"]["created_at"] == "2026-11-19T12:30:15"


def test_telegram_bad_messages_are_skipped_and_counted():
    doc = {"name": "чат", "type": "private_supergroup", "id": 42, "messages": [
        {"id": 1, "type": "message", "date": "2026-11-20T08:15:00", "from_id": "user123456", "text": "Нет газа"},
        {"type": "message", "date": "2026-11-20T08:15:00", "text": "без id"},
        {"id": 3, "type": "message", "text": "без даты"},
        {"id": 4, "type": "message", "date": "2026-11-20T08:15:00", "text": 5},
        None,
    ]}
    result = from_telegram_export(doc)
    assert [(p["id"], p["author_id"]) for p in result] == [("42_1", "user123456")]
    assert result.skipped == 4


# ---------------------------------------------------------------- plain and detect
def test_plain_passes_posts_through_unchanged():
    post = {"source": "portal", "id": 1, "text": "x", "created_at": 1795200422, "extra": [1]}
    assert list(from_plain(post)) == [post]
    result = from_plain([post, "junk", post])
    assert list(result) == [post, post] and result.skipped == 1


@pytest.mark.parametrize("doc, kind", [
    ({"response": {"count": 0, "items": []}}, "vk"),
    ({"items": []}, "vk"),
    ({"id": 1, "owner_id": -5, "date": 1, "text": "x"}, "vk"),
    ({"name": "c", "type": "public_channel", "id": 1, "messages": []}, "telegram"),
    ({"source": "vk", "id": "-1_2", "text": "x", "created_at": 1}, "plain"),
    ([{"source": "vk"}], "plain"),
    (42, "plain"),
])
def test_detect(doc, kind):
    assert detect(doc) == kind


def test_detect_on_fixtures():
    assert detect(load("vk_wall_get.json")) == "vk"
    assert detect(load("vk_newsfeed_search.json")) == "vk"
    assert detect(load("telegram_result.json")) == "telegram"


# ---------------------------------------------------------------- files
@pytest.mark.parametrize("name, n, skipped", [
    ("vk_wall_get.json", 3, 2),
    ("vk_newsfeed_search.json", 3, 0),
    ("telegram_result.json", 4, 2),
])
def test_posts_from_json_file(name, n, skipped):
    result = posts_from_file(str(FIXTURES / name))
    payloads = list(result)
    assert len(payloads) == n and result.skipped == skipped
    assert all(isinstance(b, bytes) for b in payloads)
    adapter = from_vk if name.startswith("vk") else from_telegram_export
    assert [json.loads(b) for b in payloads] == list(adapter(load(name)))
    assert "Усть-Лабинск".encode() in b"".join(payloads)  # ensure_ascii=False: UTF-8, not \u escapes


def test_posts_from_json_file_with_a_given_format(tmp_path):
    plain = [{"source": "portal", "id": "1", "text": "Нет воды", "created_at": "2026-11-20T10:00:00"}]
    f = tmp_path / "posts.json"
    f.write_text(json.dumps(plain), encoding="utf-8")
    assert [json.loads(b) for b in posts_from_file(str(f))] == plain
    assert [json.loads(b) for b in posts_from_file(str(f), "plain")] == plain
    wall = shutil.copy(FIXTURES / "vk_wall_get.json", tmp_path / "wall.json")
    assert len(list(posts_from_file(str(wall), "vk"))) == 3
    with pytest.raises(ValueError, match="unknown format"):
        posts_from_file(str(f), "ok")
    f.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not a valid JSON document"):
        posts_from_file(str(f))


def test_posts_from_jsonl_file_passes_lines_unchanged(tmp_path):
    lines = ['{"source": "vk", "id": 1, "text": "Нет света", "created_at": 1795200422}', "{not json", "[1, 2]"]
    f = tmp_path / "posts.jsonl"
    f.write_bytes(("\n".join(lines[:2]) + "\r\n\n" + lines[2] + "\n").encode())
    result = posts_from_file(str(f))
    assert list(result) == [line.encode() for line in lines] and result.skipped == 0


def test_posts_from_csv_file():
    result = posts_from_file(str(FIXTURES / "posts.csv"))
    posts = [json.loads(b) for b in result]
    assert len(posts) == 3 and result.skipped == 0
    assert posts[0] == {
        "source": "portal",
        "id": "PFO-2026-118734",
        "text": "Не вывозят мусор с площадки у дома 7 по ул. Гагарина, третий день",
        "created_at": "2026-11-20T10:15:00+03:00",
        "author_id": "u-5521",
        "community_name": "Платформа обратной связи",
        "url": "https://pos.gosuslugi.ru/feedback/118734",
        "region_hint": "Краснодарский край",
        "place_hint": "Усть-Лабинск",
    }
    assert posts[2]["geo"] == {"lat": 45.2151, "lon": 39.692}
    assert "lat" not in posts[2] and "lon" not in posts[2]
    assert posts[2]["id"] == "-73264521_5130"


ALL_FILES = ["vk_wall_get.json", "vk_newsfeed_search.json", "telegram_result.json", "posts.csv"]


@pytest.mark.parametrize("name", ALL_FILES)
def test_every_produced_post_is_a_valid_raw_post(name):
    payloads = list(posts_from_file(str(FIXTURES / name)))
    assert payloads
    for payload in payloads:
        parsed = parse_raw_post(payload, KEY)
        assert isinstance(parsed, RawPost), (payload, parsed)


@pytest.mark.parametrize("name", ALL_FILES)
def test_ids_are_deterministic(name):
    def post_ids() -> list[str]:
        return [parse_raw_post(b, KEY).post_id for b in posts_from_file(str(FIXTURES / name))]

    first = post_ids()
    assert first == post_ids() and len(set(first)) == len(first)


def test_posts_is_an_iterator():
    result = from_plain([])
    assert isinstance(result, Posts) and iter(result) is result and list(result) == []
