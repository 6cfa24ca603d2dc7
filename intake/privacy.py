"""Personal data: authors are pseudonymised with a keyed hash; phones, e-mails and card numbers
are masked in text before anything is stored."""
from __future__ import annotations

import hashlib
import hmac
import re

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# Russian phone numbers in the usual spellings: +7 (918) 123-45-67, 8 918 1234567, 89181234567 …
_PHONE = re.compile(r"(?<![\w+])(?:\+7|8|7)[\s\-\u2012-\u2015(]*\d{3}[\s\-\u2012-\u2015)]*\d{3}[\s\-\u2012-\u2015]*\d{2}[\s\-\u2012-\u2015]*\d{2}(?!\d)")
# Short local numbers written with separators (12-34-56) are left alone: too many false hits (dates, prices).
_CARD = re.compile(r"(?<!\d)(?:\d[ \-]?){15,18}\d(?!\d)")

EMAIL_MASK = "[email]"
PHONE_MASK = "[телефон]"
CARD_MASK = "[карта]"


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _mask_card(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    return CARD_MASK if 16 <= len(digits) <= 19 and _luhn_ok(digits) else match.group(0)


def mask_pii(text: str) -> str:
    """Mask e-mails, card numbers (Luhn-valid 16–19 digits) and Russian phone numbers."""
    if not text:
        return text
    text = _EMAIL.sub(EMAIL_MASK, text)
    text = _CARD.sub(_mask_card, text)
    return _PHONE.sub(PHONE_MASK, text)


def pseudonymise(author_id: str, key: bytes) -> str:
    """Keyed hash (HMAC-SHA256, 20 hex chars) of an author id; empty stays empty.

    Rotating the key (TSUR_PSEUDONYM_KEY) makes new pseudonyms unlinkable to old ones."""
    if not author_id:
        return ""
    return hmac.new(key, author_id.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:20]
