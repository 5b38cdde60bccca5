"""Choosing the right encoding for pages whose declarations cannot be trusted.

County sites serve GBK/GB18030 with no charset header, or with a ``<meta
charset>`` copied from a template that says utf-8. Valid UTF-8 is almost never
accidental, so it wins over a meta tag; failing that, charset-normalizer guesses.
"""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes
from w3lib.encoding import html_body_declared_encoding

# WHATWG and browsers treat these labels as their supersets
_SUPERSETS = {"gbk": "gb18030", "gb2312": "gb18030", "x-gbk": "gb18030", "ascii": "utf-8"}


def canonical_encoding(name: str | None) -> str | None:
    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip().strip("\"'")).name
    except LookupError:
        return None
    return _SUPERSETS.get(codec, codec)


def _decodes(body: bytes, encoding: str) -> bool:
    try:
        body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def choose_encoding(
    body: bytes, header_charset: str | None = None, forced: str | None = None
) -> str:
    """The encoding to read ``body`` with.

    Order: a source's forced encoding; the HTTP header when the body decodes
    cleanly with it; UTF-8 when the body is valid UTF-8; the ``<meta>``
    declaration when the body decodes cleanly with it; charset-normalizer's
    best guess; GB18030 (this is a Chinese crawler).
    """
    if forced:
        return canonical_encoding(forced) or forced
    header = canonical_encoding(header_charset)
    if header and _decodes(body, header):
        return header
    if _decodes(body, "utf-8"):
        return "utf-8"
    meta = canonical_encoding(html_body_declared_encoding(body))
    if meta and _decodes(body, meta):
        return meta
    best = from_bytes(body).best()
    if best is not None:
        return canonical_encoding(best.encoding) or best.encoding
    return "gb18030"
