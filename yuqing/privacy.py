"""Personal data in posts (phone numbers, 身份证号, bank cards, e-mail): masked
wherever text is stored, indexed or shown. Shared by the crawler, imports and
the console, so it lives in the core rather than in one stage."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from secrets import token_hex
from typing import Any

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


# ---- pseudonyms and the encrypted raw text -------------------------------------
#
# Authors are stored as a keyed hash (HMAC-SHA256 with a deployment secret): the
# same resident gets the same pseudonym on every post, so repeat complainants can
# be counted, but nobody can recompute it without the secret. The raw, unmasked
# text is kept Fernet-encrypted (store table post_raw) for roles allowed to see it.

_PSEUDONYM_PREFIX = "居民#"
_SECRET_FILE = "author_secret"
_FERNET_FILE = "raw_text.key"


@dataclass(frozen=True, slots=True)
class PrivacyKeys:
    author_secret: bytes
    raw_text_key: bytes  # a Fernet key

    def pseudonym(self, author: str | None) -> str | None:
        """A stable pseudonym for ``author`` (whitespace and case folded)."""
        if not author or not author.strip():
            return None
        if author.startswith(_PSEUDONYM_PREFIX):
            return author  # already one (e.g. a post read back from the store)
        name = " ".join(author.split()).casefold()
        digest = hmac.new(self.author_secret, name.encode("utf-8"), hashlib.sha256).hexdigest()
        return _PSEUDONYM_PREFIX + digest[:12]

    def encrypt(self, raw: dict[str, Any]) -> str:
        from cryptography.fernet import Fernet

        data = json.dumps(raw, ensure_ascii=False).encode("utf-8")
        return Fernet(self.raw_text_key).encrypt(data).decode("ascii")

    def decrypt(self, token: str) -> dict[str, Any]:
        """Raises ``cryptography.fernet.InvalidToken`` for a wrong key or a damaged token."""
        from cryptography.fernet import Fernet

        value: dict[str, Any] = json.loads(Fernet(self.raw_text_key).decrypt(token.encode()))
        return value


def load_keys(author_secret: str | None, raw_text_key: str | None, var_dir: Path) -> PrivacyKeys:
    """The keys from settings (``privacy.author_secret``, ``privacy.raw_text_key``), or
    from ``<var_dir>/secrets/``, generated there at first run (mode 0600)."""
    from cryptography.fernet import Fernet

    secrets_dir = var_dir / "secrets"
    secret = (
        author_secret.encode("utf-8")
        if author_secret
        else _read_or_create(secrets_dir / _SECRET_FILE, lambda: token_hex(32).encode())
    )
    key = (
        raw_text_key.encode("ascii")
        if raw_text_key
        else _read_or_create(secrets_dir / _FERNET_FILE, Fernet.generate_key)
    )
    Fernet(key)  # a malformed configured key fails here, not on the first post
    return PrivacyKeys(secret, key)


def _read_or_create(path: Path, make: Callable[[], bytes]) -> bytes:
    """Create ``path`` atomically (O_EXCL: two processes at first run agree on one key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # the creator may be writing it right now
            data = path.read_bytes().strip()
            if data:
                return data
            time.sleep(0.02)
        raise RuntimeError(f"{path} is empty: delete it to generate a new key") from None
    value = make()
    with os.fdopen(fd, "wb") as f:
        f.write(value)
    return value
