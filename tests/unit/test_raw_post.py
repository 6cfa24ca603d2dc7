import json
from datetime import datetime, timezone

import pytest

from intake.privacy import mask_pii, pseudonymise
from intake.raw_post import RawPost, Rejection, parse_raw_post, post_id_for

KEY = b"k" * 32
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def post(**over):
    base = {"source": "vk", "id": "-123_456", "text": "Третий день нет воды на ул. Ленина",
            "created_at": "2026-11-20T10:15:00+03:00", "author_id": "id777"}
    base.update(over)
    return base


def test_valid_post_is_typed_and_normalised():
    p = parse_raw_post(json.dumps(post(geo={"lat": 45.2, "lon": 39.7})).encode(), KEY, now=NOW)
    assert isinstance(p, RawPost)
    assert p.post_id == post_id_for("vk", "-123_456")
    assert p.created_at == datetime(2026, 11, 20, 7, 15, tzinfo=timezone.utc)
    assert p.author_hash and p.author_hash != "id777" and "777" not in p.author_hash
    assert (p.lat, p.lon) == (45.2, 39.7)


def test_post_id_is_deterministic_and_source_scoped():
    assert post_id_for("vk", "1") == post_id_for("vk", "1")
    assert post_id_for("vk", "1") != post_id_for("telegram", "1")


@pytest.mark.parametrize("payload, reason", [
    (b"\xff\xfe not utf8", "UTF-8"),
    (b"{not json", "JSON"),
    (b"[1, 2]", "JSON object"),
    (post(source=None), "source"),
    (post(source="VK!"), "source"),
    (post(id=None), "'id'"),
    (post(id=True), "'id'"),
    (post(text=None), "'text'"),
    (post(text=42), "'text'"),
    (post(text="x" * 100_001), "longer"),
    (post(created_at=None), "created_at"),
    (post(created_at="yesterday"), "created_at"),
    (post(created_at="1970-01-01T00:00:00Z"), "outside"),
    (post(created_at="2100-01-01T00:00:00Z"), "outside"),
    (post(created_at=float("nan")), "created_at"),
    (post(geo={"lat": 91, "lon": 0}), "geo.lat"),
    (post(geo={"lat": 10, "lon": "x"}), "geo.lon"),
    (post(geo=[1, 2]), "geo"),
    (post(community_name={"a": 1}), "community_name"),
])
def test_bad_input_is_rejected_with_a_reason(payload, reason):
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    r = parse_raw_post(raw, KEY, now=NOW)
    assert isinstance(r, Rejection)
    assert reason in r.reason


def test_unix_seconds_and_naive_times_are_utc():
    p = parse_raw_post(post(created_at=1763632800), KEY, now=NOW)
    assert p.created_at == datetime.fromtimestamp(1763632800, tz=timezone.utc)
    p = parse_raw_post(post(created_at="2026-11-20T10:00:00"), KEY, now=NOW)
    assert p.created_at.hour == 10 and p.created_at.tzinfo is timezone.utc


def test_control_characters_are_removed_and_pii_masked():
    text = "звоните\x00 +7 (918) 123-45-67 или 89181234567, пишите ivan.petrov@mail.ru\u200b"
    p = parse_raw_post(post(text=text), KEY, now=NOW)
    assert "\x00" not in p.text and "\u200b" not in p.text
    assert "123-45-67" not in p.text and "89181234567" not in p.text and "mail.ru" not in p.text
    assert p.text.count("[телефон]") == 2 and "[email]" in p.text


def test_mask_pii_cards_need_luhn():
    assert "[карта]" in mask_pii("карта 4276 3800 1234 5679 сбер")   # Luhn-valid
    assert mask_pii("номер 1234 5678 1234 5678") == "номер 1234 5678 1234 5678"  # not a card
    assert mask_pii("на ул. Ленина 12, в 2024 году, 8 домов") == "на ул. Ленина 12, в 2024 году, 8 домов"


def test_pseudonymise_is_keyed():
    assert pseudonymise("id1", b"a" * 32) == pseudonymise("id1", b"a" * 32)
    assert pseudonymise("id1", b"a" * 32) != pseudonymise("id1", b"b" * 32)
    assert pseudonymise("", b"a" * 32) == ""
