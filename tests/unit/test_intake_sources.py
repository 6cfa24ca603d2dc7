"""The source registry (intake/sources.py) and the platform readers' pure parts."""
from __future__ import annotations

import pytest

from intake.adapters import vk_comment
from intake.replay_server import _tg_html, Item
from intake.sources import SourcesError, dump_sources, load_sources, parse_sources
from intake.telegram_web import channel_post, parse_page
from intake.http_json import TransportError
from intake.vk_api import VKError, classify

GOOD = """
region: Краснодарский край
backfill_days: 2
poll_seconds: 30
vk:
  communities:
    - owner: -12345
      place: Усть-Лабинск
    - screen_name: podslushano_ul
      comments: false
  searches:
    - query: "нет воды"
telegram:
  channels:
    - name: "@ustlabinsk24"
      place: Усть-Лабинск
  account:
    chats:
      - chat: -1009876543210
      - chat: "@kuban_chat"
        place: Краснодар
  bot:
    places:
      -1001234567890: Усть-Лабинск
      "@kuban_chat": Краснодар
ok:
  groups:
    - id: 54321987654321
      place: Усть-Лабинск
"""


def test_a_good_registry_round_trips(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(GOOD, encoding="utf-8")
    reg = load_sources(path)
    assert [s.key for s in reg.sources] == ["vk:wall:-12345", "vk:wall:podslushano_ul", "vk:search:нет воды",
                                            "telegram:channel:ustlabinsk24", "telegram:account:-1009876543210",
                                            "telegram:account:kuban_chat", "telegram:bot:updates", "ok:group:54321987654321"]
    assert reg.backfill_days == 2 and reg.poll_seconds == 30 and reg.region == "Краснодарский край"
    assert reg.sources[0].comments and not reg.sources[1].comments and reg.sources[0].place_hint == "Усть-Лабинск"
    assert [s.key for s in reg.for_platform("telegram")] == ["telegram:channel:ustlabinsk24", "telegram:account:-1009876543210",
                                                             "telegram:account:kuban_chat", "telegram:bot:updates"]
    bot = reg.sources[6]
    assert bot.place_of("-1001234567890") == "Усть-Лабинск" and bot.place_of("KUBAN_chat") == "Краснодар" and bot.place_of("x") == ""
    assert [s.needs for s in reg.sources] == ["vk", "vk", "vk", "", "account", "account", "bot", "ok"]
    path.write_text(dump_sources(reg), encoding="utf-8")
    assert load_sources(path) == reg


@pytest.mark.parametrize("doc, needle", [
    ({"vk": {"communities": [{"owner": -1}]}}, "region: required"),
    ({"region": "X", "vk": {"communities": [{"place": "abc"}]}}, "needs 'owner'"),
    ({"region": "X", "vk": {"communities": [{"owner": 0}]}}, "must be a non-zero integer"),
    ({"region": "X", "vk": {"communities": [{"owner": -1, "screen_name": "a_b"}]}}, "not both"),
    ({"region": "X", "vk": {"communities": [{"owner": -1, "comments": "yes"}]}}, "comments: must be true or false"),
    ({"region": "X", "vk": {"searches": [{"query": " "}]}}, "needs 'query'"),
    ({"region": "X", "telegram": {"channels": [{"name": "a b"}]}}, "public name"),
    ({"region": "X", "telegram": {"channels": [{"name": "abcdef"}, {"name": "abcdef"}]}}, "listed twice"),
    ({"region": "X", "fb": {}}, "unknown keys fb"),
    ({"region": "X", "telegram": {"bot": "yes"}}, "telegram.bot: true, or a mapping"),
    ({"region": "X", "telegram": {"account": {"chats": [{"chat": "a b"}]}}}, "public name or its numeric id"),
    ({"region": "X", "ok": {"groups": [{"id": "club1"}]}}, "the group's number"),
    ({"region": "X", "poll_seconds": -1, "telegram": {"channels": [{"name": "abcdef"}]}}, "poll_seconds"),
    ({"region": "X"}, "no sources"),
    ([1, 2], "must be a mapping"),
])
def test_a_bad_registry_names_every_problem(doc, needle):
    with pytest.raises(SourcesError) as err:
        parse_sources(doc)
    assert needle in str(err.value)


def test_an_unreadable_file_names_the_file(tmp_path):
    with pytest.raises(SourcesError, match="no sources file"):
        load_sources(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("region: [unclosed", encoding="utf-8")
    with pytest.raises(SourcesError, match="bad.yaml: cannot be read as YAML"):
        load_sources(bad)


def test_telegram_pages_keep_text_lines_entities_and_only_this_channels_messages():
    page = _tg_html("chan_one", "Канал <один>", [Item(7, 1764000000, "Нет воды\nс утра & <без> 💧", 0, 0.0),
                                                  Item(9, 1764000100, "Яма", 0, 0.0)])
    page = page.replace('data-post="chan_one/9"', 'data-post="other/9"')          # a forwarded message
    parsed = parse_page(page, "chan_one")
    assert parsed.title == "Канал <один>"
    assert [(m.id, m.text) for m in parsed.messages] == [(7, "Нет воды\nс утра & <без> 💧")]
    post = channel_post(parsed.messages[0], "chan_one", parsed.title)
    assert post["id"] == "chan_one/7" and post["created_at"].startswith("2025-11-24") and post["url"] == "https://t.me/chan_one/7"


def test_telegram_page_without_messages_or_with_garbage_gives_nothing():
    assert parse_page("<html><body>nothing</body></html>", "x").messages == []
    assert parse_page('<div class="tgme_widget_message" data-post="x/abc"></div>', "x").messages == []


def test_ok_signature_and_topics():
    from intake.adapters import ok_topic
    from intake.ok_api import OKError, classify as ok_classify, signature

    # md5("application_key=Aformat=jsonmethod=m" + md5("tok" + "sec")): access_token and sig are not signed
    params = {"method": "m", "application_key": "A", "format": "json", "access_token": "tok", "sig": "x"}
    import hashlib
    expected = hashlib.md5(("application_key=Aformat=jsonmethod=m" + hashlib.md5(b"toksec").hexdigest()).encode()).hexdigest()
    assert signature(params, "tok", "sec") == expected
    post = ok_topic({"id": "77", "created_ms": 1764000000123, "author_ref": "user:9",
                     "media": [{"type": "text", "text": "Нет света"}, {"type": "photo"}, {"type": "text", "text": "второй день"}]}, "555")
    assert post["id"] == "555_77" and post["text"] == "Нет света\nвторой день" and post["author_id"] == "9"
    assert post["created_at"].startswith("2025-11-24T16:00:00.123")
    assert ok_topic({"id": "78", "created_ms": 1, "media": [{"type": "photo"}]}, "555") is None
    assert [ok_classify(OKError(c, "")) for c in (102, 104, 300, 1)] == ["stop", "stop", "skip", "retry"]


def test_vk_comments_are_ids_under_their_post_and_deleted_ones_are_skipped():
    c = vk_comment({"id": 55, "from_id": 7, "date": 1764000000, "text": "Тоже нет света"}, -100, 3)
    assert c["id"] == "-100_3_55" and c["community_id"] == "100" and c["author_id"] == "7"
    assert vk_comment({"id": 56, "deleted": True, "date": 1, "text": ""}, -100, 3) is None
    assert vk_comment({"id": 57, "from_id": 7, "date": 1764000000, "text": "  "}, -100, 3) is None


@pytest.mark.parametrize("exc, action", [
    (VKError(6, "too many"), "retry"), (VKError(9, "flood"), "retry"), (VKError(29, "rate limit"), "pause"),
    (VKError(5, "auth"), "stop"), (VKError(15, "denied"), "skip"), (VKError(30, "private"), "skip"),
    (TransportError("x", "bad_json"), "retry"),
])
def test_vk_errors_are_classified(exc, action):
    assert classify(exc) == action
