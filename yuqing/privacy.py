"""Personal data in posts (phone numbers, 身份证号, bank cards, e-mail): masked
wherever text is stored, indexed or shown. Shared by the crawler, imports and
the console, so it lives in the core rather than in one stage."""

from __future__ import annotations

import re

# Order matters: an 18-digit ID card would otherwise match as a bank card, and
# a bank card's digits contain an 11-digit "mobile number".
_ID_CARD = re.compile(
    r"(?<![\dA-Za-z])([1-9]\d{5})((?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]))"
    r"(\d{3})([\dXx])(?![\dA-Za-z])"
)
_BANK_CARD = re.compile(r"(?<![\d-])[3-6]\d{3}(?:[ -]?\d{4}){2,3}(?:[ -]?\d{1,3})?(?!\d)")
_MOBILE = re.compile(r"(?<![\d+])(?:(\+?86)[ -]?)?(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(\(?0\d{2,3}\)?)([ -]?)(\d{3,4})[ -]?(\d{4})(?!\d)")
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
)


def _mask_bank(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    if not 16 <= len(digits) <= 19:
        return m.group(0)
    return "****" + digits[-4:]


def mask_personal_data(text: str | None) -> str:
    """Mask 身份证号, bank cards, mobile and landline numbers and e-mail addresses.

    Keeps enough for a responder to tell two reports apart (138****5678,
    110***********123X, ****1234, 0571-****5678, z***@example.com) and never
    the whole number. Run after :func:`fold_text` so full-width digits are caught.
    """
    if not text:
        return ""
    text = _ID_CARD.sub(lambda m: m[1][:3] + "*" * 11 + m[3] + m[4].upper(), text)
    text = _BANK_CARD.sub(_mask_bank, text)
    text = _MOBILE.sub(lambda m: f"{m[2]}****{m[4]}", text)
    text = _LANDLINE.sub(lambda m: f"{m[1]}{m[2]}****{m[4]}", text)
    text = _EMAIL.sub(lambda m: f"{m[1]}***@{m[2]}", text)
    return text
