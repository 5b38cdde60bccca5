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

# Matching runs on a folded view of the text: full-width digits, letters and
# symbols, the ideographic and other wide spaces and the dash variants IMEs type
# map one character to one ASCII character, so the patterns stay ASCII and the
# positions they find are positions in the original text. What is not personal
# data is kept exactly as written.
_FOLD: dict[int, int] = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FOLD.update(dict.fromkeys(map(ord, "\u3000\u00a0\u2002\u2003\u2009\u202f"), ord(" ")))
_FOLD.update(dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2212\ufe63"), ord("-")))
_FOLD.update({ord("\uff08"): ord("("), ord("\uff09"): ord(")")})

# Between digits people type a space, a dash or " - "; any digit may have one
# before it (138 1234 5678, 1381-234-5678, 1 3 8 ...).
_SEP = r"[ -]{0,3}"
# Order matters: an 18-digit ID card would otherwise match as a bank card, and
# a bank card's digits contain an 11-digit "mobile number".
_ID_CARD = re.compile(
    r"(?<![0-9])([1-9][0-9]{5})[ -]?((?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01]))"
    r"[ -]?([0-9]{3})([0-9Xx])(?![0-9])"
)
_BANK_CARD = re.compile(
    r"(?<![0-9-])[3-6][0-9]{3}(?:[ -]?[0-9]{4}){2,3}(?:[ -]?[0-9]{1,3})?(?![0-9])"
)
_MOBILE = re.compile(
    rf"(?<![0-9+])(?:(?:\+?86|\(\+?86\)){_SEP})?(1{_SEP}[3-9](?:{_SEP}[0-9]){{9}})(?![0-9])"
)
_LANDLINE = re.compile(
    r"(?<![0-9])(\(?0[0-9]{2,3}\)?)( ?-? ?)([0-9]{3,4})[ -]{0,3}([0-9]{4})(?![0-9])"
)
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
)


def _digits(text: str) -> str:
    return re.sub(r"[^0-9Xx]", "", text)


def _mask_bank(m: re.Match[str]) -> str | None:
    digits = _digits(m.group(0))
    if not 16 <= len(digits) <= 19:
        return None  # not a card: leave it as written
    return "****" + digits[-4:]


def _mask_mobile(m: re.Match[str]) -> str:
    digits = _digits(m[1])
    return f"{digits[:3]}****{digits[-4:]}"


def _sub(
    pattern: re.Pattern[str],
    repl: Callable[[re.Match[str]], str | None],
    text: str,
    view: str,
) -> tuple[str, str]:
    """Replace ``pattern``'s matches in ``view`` at the same positions in ``text``.

    ``repl`` sees the folded match and returns ASCII (or None to keep the match)."""
    out: list[str] = []
    out_view: list[str] = []
    pos = 0
    for m in pattern.finditer(view):
        masked = repl(m)
        if masked is None:
            continue
        out += (text[pos : m.start()], masked)
        out_view += (view[pos : m.start()], masked)
        pos = m.end()
    if not out:
        return text, view
    out.append(text[pos:])
    out_view.append(view[pos:])
    return "".join(out), "".join(out_view)


def mask_personal_data(text: str | None) -> str:
    """Mask 身份证号, bank cards, mobile and landline numbers and e-mail addresses.

    Keeps enough for a responder to tell two reports apart (138****5678,
    110***********123X, ****1234, 0571-****5678, z***@example.com) and never
    the whole number. Full-width digits, wide spaces and dashes between the
    digits are caught too; everything else is left as written.
    """
    if not text:
        return ""
    view = text.translate(_FOLD)
    text, view = _sub(_ID_CARD, lambda m: m[1][:3] + "*" * 11 + m[3] + m[4].upper(), text, view)
    text, view = _sub(_BANK_CARD, _mask_bank, text, view)
    text, view = _sub(_MOBILE, _mask_mobile, text, view)
    text, view = _sub(_LANDLINE, lambda m: f"{m[1]}{m[2]}****{m[4]}", text, view)
    text, view = _sub(_EMAIL, lambda m: f"{m[1]}***@{m[2]}", text, view)
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
