"""Choosing the right encoding for pages whose declarations cannot be trusted.

County sites serve GBK/GB18030 with no charset header, or with a ``<meta
charset>`` copied from a template that says utf-8. Valid UTF-8 is almost never
accidental, so it wins over a meta tag; failing that, charset-normalizer guesses.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes
from w3lib.encoding import html_body_declared_encoding

# WHATWG and browsers treat these labels as their supersets
# CJK ideographs (common and extension A), CJK and full-width punctuation
_CJK = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf\u3000-\u303f\uff00-\uffef\u2010-\u2027\u00b7]")
_SUPERSETS = {"gbk": "gb18030", "gb2312": "gb18030", "x-gbk": "gb18030", "ascii": "utf-8"}


def canonical_encoding(name: str | None) -> str | None:
    if not name:
        return None
    try:
        codec = codecs.lookup(name.strip().strip("\"'")).name
    except (LookupError, ValueError):  # ValueError: a NUL in the label
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
    if forced and (known := canonical_encoding(forced)):
        return known  # (an unknown one is refused when the config loads)
    header = canonical_encoding(header_charset)
    if header and _decodes(body, header):
        return header
    if _decodes(body, "utf-8"):
        return "utf-8"
    meta = canonical_encoding(html_body_declared_encoding(body))
    if meta and _decodes(body, meta):
        return meta
    if _reads_as_chinese(body):
        return "gb18030"
    best = from_bytes(body).best()
    if best is not None:
        return canonical_encoding(best.encoding) or best.encoding
    return "gb18030"


def _reads_as_chinese(body: bytes) -> bool:
    """GB18030 decodes ``body`` cleanly into (almost only) hanzi and Chinese punctuation.

    Short GBK text decodes just as cleanly in cp949 or Shift-JIS, and
    charset-normalizer then guessed Korean for 东湖街道居民反映. This is a Chinese
    crawler: text that reads as Chinese is Chinese.
    """
    try:
        text = body.decode("gb18030")
    except UnicodeDecodeError:
        return False
    wide = [ch for ch in text if ord(ch) > 0x7F]
    if not wide:
        return False
    chinese = sum(1 for ch in wide if _CJK.match(ch))
    return chinese >= 0.9 * len(wide)
