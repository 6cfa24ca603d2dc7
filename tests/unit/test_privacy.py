"""PII masking before storage (intake.privacy.mask_pii): what is masked and what deliberately is
not (docs/security.md, 'PII masking')."""
import pytest

from intake.privacy import CARD_MASK, EMAIL_MASK, PHONE_MASK, is_card_number, mask_pii


@pytest.mark.parametrize("phone", [
    "+7 (918) 123-45-67", "+7(918)123-45-67", "+79181234567", "+7 918 123 45 67", "+7-918-123-4567", "+7 918 1234567",
    "8 (918) 123-45-67", "8(918)1234567", "8-918-123-45-67", "89181234567", "8 918 123 45 67", "7 918 123 45 67",
    "8 (861) 234-56-78", "+7 (495) 123-45-67", "8 800 555-35-35", "+7 918 123–45–67",        # en dash
    "+7 (918) 123 - 45 - 67", "8 (8613) 55-12-34", "8 (86135) 4-12-34", "8 86135 41234", "8(86135)41234",  # 4-/5-digit codes
])
def test_russian_phone_numbers_are_masked(phone):
    masked = mask_pii(f"звоните {phone}, спросить Ивана")
    assert masked == f"звоните {PHONE_MASK}, спросить Ивана"


def test_phone_inside_punctuation_and_several_phones():
    assert mask_pii("тел.89181234567.") == f"тел.{PHONE_MASK}."
    assert mask_pii("+7 (918) 123-45-67 или 89181234567") == f"{PHONE_MASK} или {PHONE_MASK}"


@pytest.mark.parametrize("email", ["ivan.petrov@mail.ru", "a+b@sub.domain.org", "admin-1@adm-kuban.ru", "иван@почта.рф",
                                   "Ivan_P@Yandex.RU"])
def test_emails_are_masked(email):
    assert mask_pii(f"пишите на {email}!") == f"пишите на {EMAIL_MASK}!"


@pytest.mark.parametrize("card", [
    "4276 3800 1234 5679", "4276-3800-1234-5679", "4276380012345679",  # 16 digits, spaces / dashes / together
    "4111111111111111", "2200 0000 0000 0004", "5500 0000 0000 0004",  # Visa, Mir, Mastercard test numbers
    "378282246310005", "3782 822463 10005",                             # Amex 15 (together, 4-6-5)
    "30569309025904",                                                   # Diners 14
    "4222222222222",                                                    # Visa 13
    "6759649826438453", "6763 0000 0000 0000 007",                      # Maestro 16, 19 (4-4-4-4-3)
])
def test_luhn_valid_card_numbers_are_masked(card):
    assert mask_pii(f"переведите на карту {card} спасибо") == f"переведите на карту {CARD_MASK} спасибо"


def test_a_card_followed_by_another_number_keeps_that_number():
    assert mask_pii("карта 4276 3800 1234 5679 12 раз") == f"карта {CARD_MASK} 12 раз"


@pytest.mark.parametrize("text", [
    "на ул. Ленина 12, в 2024 году, 8 домов",                    # house numbers, years, counts
    "д. 12, кв. 345, подъезд 2, этаж 9",
    "с 12.03.2024 по 15.04.2024", "2024-03-12 2024-04-15", "12-03-2024 15-04-2024",   # dates
    "бюджет 80 000 000 000 руб", "800 000 000 000", "1 500 000 рублей",               # amounts
    "ОКТМО 03640000", "ОКТМО 03640000001", "ИНН 2312345678", "ИНН 231234567890",     # codes (8/11, 10/12 digits)
    "СНИЛС 123-456-789 01",
    "номер 1234 5678 1234 5678",                                 # 16 digits that fail Luhn
    "ОГРН 1027700132196",                                        # 13 digits, Luhn-valid, but no Visa prefix
    "трек 80085512345673",                                       # Russian Post, 14 digits, Luhn-valid
    "ОГРНИП 314237500012348",                                    # 15 digits, Luhn-valid, not Amex
    "годы 2019 2020 2021 2022",
    "12-34-56",                                                  # a short local number: too ambiguous
])
def test_ordinary_numbers_stay(text):
    assert mask_pii(text) == text


def test_eleven_digits_starting_with_7_or_8_are_taken_for_a_phone():
    """Written as 11 plain digits, '8 + 10 digits' is a phone number; we err on the side of masking
    (e.g. an 11-digit ОКТМО like 75701000001 in a post is masked too)."""
    assert mask_pii("75701000001") == PHONE_MASK


def test_card_rule():
    assert is_card_number("4276380012345679")
    assert not is_card_number("4276380012345678")        # Luhn fails
    assert not is_card_number("427638001234")            # 12 digits: too short
    assert not is_card_number("1027700132196")           # 13 digits need the Visa prefix 4
    assert not is_card_number("٤٢٧٦٣٨٠٠١٢٣٤٥٦٧٩")       # non-ASCII digits are not read as a card


def test_masking_is_linear_on_hostile_text():
    """A 100,000-character run without '@' used to take over a minute (quadratic e-mail search)."""
    import time

    for text in ("а" * 100_000, "a." * 50_000, "x@" + "a-" * 50_000, "8 " * 50_000, "4276 " * 20_000):
        t = time.perf_counter()
        mask_pii(text)
        assert time.perf_counter() - t < 2.0, text[:20]


def test_empty_and_plain_text_unchanged():
    assert mask_pii("") == ""
    assert mask_pii("Третий день нет воды в посёлке Южном") == "Третий день нет воды в посёлке Южном"
