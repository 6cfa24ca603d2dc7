"""Personal data: authors are pseudonymised with a keyed hash; phones, e-mails and card numbers
are masked in text before anything is stored (docs/security.md lists what is and is not masked)."""
from __future__ import annotations

import hashlib
import hmac
import re

# The look-behind starts a match only where a run of name characters starts: without it a long
# word with no '@' costs quadratic time (100,000 letters: over a minute per post).
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)

# Russian phone numbers: +7 / 8 / 7, then 10 digits as a 3-, 4- or 5-digit code (brackets optional)
# and the subscriber number: +7 (918) 123-45-67, 8 918 1234567, 89181234567, 8 (86135) 4-12-34 …
_S = r"[\s\-\u2012-\u2015]*"
_PHONE = re.compile(
    r"(?<![\w+])(?:\+7|8|7)" + r"[\s\-\u2012-\u2015(]*"
    + r"(?:\d{3}" + r"[\s\-\u2012-\u2015)]*" + rf"\d{{3}}{_S}\d{{2}}{_S}\d{{2}}"       # 3-digit code (mobile, cities)
    + r"|\d{4}" + r"[\s\-\u2012-\u2015)]*" + rf"(?:\d{{2}}{_S}\d{{2}}{_S}\d{{2}}|\d{{3}}{_S}\d{{3}})"
    + r"|\d{5}" + r"[\s\-\u2012-\u2015)]*" + rf"(?:\d{_S}\d{{2}}{_S}\d{{2}}|\d{{3}}{_S}\d{{2}}))"
    + r"(?!\d)"
)
# Short local numbers written with separators (12-34-56) are left alone: too many false hits (dates, prices).

# Card numbers: 13–19 digits written together, or in groups of four separated by one space or dash
# (4276 3800 1234 5679, 4276-3800-1234-5679, up to 4+4+4+4+3), or Amex/Diners 4-6-5 / 4-6-4.
_CARD = re.compile(
    r"(?<!\d)(?:"
    r"(?P<plain>\d{13,19})"
    r"|(?P<grouped>\d{4}(?P<s>[ \-])\d{4}(?P=s)\d{4}(?P=s)\d{1,4})(?P<tail>(?P=s)\d{1,3})?"
    r"|(?P<amex>\d{4}(?P<s2>[ \-])\d{6}(?P=s2)\d{4,5})"
    r")(?!\d)"
)
# 13–15 digits are cards only with the issuer prefixes that use those lengths (Visa 13: 4; Diners 14:
# 30/36/38; Amex 15: 34/37): keeps ОГРН (13 digits, starts 1/5), ОГРНИП (15, starts 3[0-2]) and
# Russian Post track numbers (14 digits) readable.
_SHORT_CARD_PREFIXES = {13: ("4",), 14: ("30", "36", "38"), 15: ("34", "37")}

_DIGIT = re.compile(r"\d")      # what \d in the patterns above matches (any Unicode decimal digit)

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


def is_card_number(digits: str) -> bool:
    """13–19 digits, Luhn-valid, and for 13–15 digits an issuer prefix that uses that length."""
    n = len(digits)
    if not (13 <= n <= 19 and digits.isascii() and digits.isdigit()) or not _luhn_ok(digits):
        return False
    return n >= 16 or digits.startswith(_SHORT_CARD_PREFIXES[n])


def _mask_card(match: re.Match) -> str:
    whole = match.group(0)
    if is_card_number(re.sub(r"\D", "", whole)):
        return CARD_MASK
    if match.group("tail") and is_card_number(re.sub(r"\D", "", match.group("grouped"))):
        return CARD_MASK + match.group("tail")     # 4276 3800 1234 5679 12: the card, then another number
    return whole


def mask_pii(text: str) -> str:
    """Mask e-mails, card numbers (Luhn-valid 13–19 digits) and Russian phone numbers."""
    if not text:
        return text
    if "@" in text:                     # (cheap checks first: most posts have no '@' and many no digit)
        text = _EMAIL.sub(EMAIL_MASK, text)
    if _DIGIT.search(text) is None:
        return text
    text = _CARD.sub(_mask_card, text)
    return _PHONE.sub(PHONE_MASK, text)


def pseudonymise(author_id: str, key: bytes) -> str:
    """Keyed hash (HMAC-SHA256, 20 hex chars) of an author id; empty stays empty.

    Rotating the key (TSUR_PSEUDONYM_KEY) makes new pseudonyms unlinkable to old ones."""
    if not author_id:
        return ""
    return hmac.new(key, author_id.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:20]
