"""One decoding path for every page and feed, and a guard against mojibake.

County sites serve GB2312/GBK/GB18030 and Big5 with missing or lying charsets: a
header copied from a server default (``iso-8859-1``), a template's ``<meta
charset=utf-8>``, an XML declaration naming the wrong family. latin-1 decodes any
byte string and GBK decodes most Big5, so "it decodes" proves little. A
candidate is believed only when the bytes really read as that encoding:

1. a byte-order mark;
2. the ``<meta>`` / XML declaration, then the HTTP header: UTF-8 when the bytes
   are valid UTF-8, and nothing else then (valid UTF-8 is no accident); a
   Chinese encoding when it decodes them strictly into common Chinese at least
   as well as the other family; another multi-byte encoding when it decodes
   strictly and the bytes are not Chinese that forms words; a single-byte one
   (latin-1, windows-1252, ascii, ...) only when they do not read as
   GB18030/Big5 Chinese at all;
3. valid UTF-8; the Chinese family the bytes read best as; charset-normalizer,
   unless what it chose is mojibake; GB18030.

:func:`find_mojibake` is the guard run on decoded text (here and on every post):
runs of Latin-1 characters that, turned back into bytes, read as common Chinese.
"""

from __future__ import annotations

import codecs
import dataclasses
import itertools
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from charset_normalizer import from_bytes
from w3lib.encoding import html_body_declared_encoding, read_bom

# WHATWG and browsers treat these labels as their supersets
_SUPERSETS = {
    "gbk": "gb18030",
    "gb2312": "gb18030",
    "x-gbk": "gb18030",
    "euc_cn": "gb18030",
    "hz": "gb18030",
    "ascii": "utf-8",
    "big5": "cp950",
    "big5hkscs": "cp950",
}
_CHINESE = ("gb18030", "cp950")
# CJK ideographs (common and extension A), CJK and full-width punctuation
_CJK = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf\u3000-\u303f\uff00-\uffef\u2010-\u2027\u00b7]")
# punctuation Chinese text uses; other symbols (kana, bopomofo, box drawing, private
# use) are what a wrong Chinese codec turns bytes into
_PUNCTUATION = set("，。、；：？！“”‘’（）《》〈〉【】—…·「」『』　～－")
_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9_.:\-]+)[\"']", re.I)
_XML_DECL_TEXT = re.compile(r"^(\s*<\?xml[^>]*?encoding\s*=\s*)([\"'])[^\"']*([\"'])", re.I)

READS_AS_CHINESE = 0.9  # share of non-ASCII characters that are CJK
COMMON_ENOUGH = 0.8  # share of them among the most common Chinese characters
WORDS_ENOUGH = 0.2  # share of ideograph pairs that begin a word (right-read text: 0.3-0.6)


def canonical_encoding(name: str | None) -> str | None:
    if not name:
        return None
    try:
        info = codecs.lookup(name.strip().strip("\"'"))
    except (LookupError, ValueError):  # ValueError: a NUL in the label
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name == "undefined":
        return None  # rot13, base64, 'undefined': codecs, but not for web pages
    return _SUPERSETS.get(info.name, info.name)


@cache
def _common(family: str) -> frozenset[str]:
    """The family's most common characters: GB2312's 6,763 hanzi, Big5's 5,401
    frequent ones (level 1), and the punctuation Chinese text uses."""
    chars: set[str] = set(_PUNCTUATION)
    chars.update(chr(c) for c in range(0xFF01, 0xFF5F))  # full-width ASCII
    if family == "gb18030":
        pairs = ((a, b) for a in range(0xB0, 0xF8) for b in range(0xA1, 0xFF))
        codec = "gb2312"
    else:
        trails = [*range(0x40, 0x7F), *range(0xA1, 0xFF)]
        pairs = ((a, b) for a in range(0xA4, 0xC7) for b in trails)
        codec = "big5"
    for a, b in pairs:
        try:
            chars.add(bytes((a, b)).decode(codec))
        except UnicodeDecodeError:
            continue
    return frozenset(chars)


@cache
def _any_common() -> frozenset[str]:
    return _common("gb18030") | _common("cp950")


@cache
def _single_byte(encoding: str) -> bool:
    """Every byte is a character (latin-1, windows-1252, koi8-r...): such a codec
    'decodes' anything, so its success proves nothing."""
    if encoding in ("utf-8", "utf-16", "utf-32", "utf-16-le", "utf-16-be", "utf-32-le"):
        return False
    try:
        return len(bytes(range(0x80, 0x100)).decode(encoding, "replace")) == 0x80
    except (UnicodeError, LookupError, TypeError, ValueError):
        return False


def _decode(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except (UnicodeError, LookupError, TypeError, ValueError):
        return None


@cache
def _word_starts() -> frozenset[str]:
    """The first two characters of every word of two or more in jieba's dictionary.

    Right-read Chinese forms words; a wrong family's reading of the same bytes is
    characters in random order. The dictionary is simplified Chinese, so this
    confirms a GB reading (the one reading a Big5 declaration can hide)."""
    import jieba

    path = Path(jieba.__file__).with_name("dict.txt")
    with path.open(encoding="utf-8") as f:
        return frozenset(w[:2] for line in f if len(w := line.split(" ", 1)[0]) >= 2)


def _word_share(text: str) -> float:
    """Share of adjacent ideograph pairs in ``text`` that begin a dictionary word."""
    words = _word_starts()
    pairs = hits = 0
    for a, b in itertools.pairwise(text):
        if "\u4e00" <= a <= "\u9fff" and "\u4e00" <= b <= "\u9fff":
            pairs += 1
            hits += a + b in words
    return hits / pairs if pairs >= 2 else 0.0


@dataclass(frozen=True, slots=True)
class Reading:
    """``text`` as ``encoding`` reads it, and how Chinese it looks."""

    encoding: str
    text: str
    cjk: float  # share of non-ASCII characters that are CJK ideographs or punctuation
    common: float  # share of non-ASCII characters among common Chinese characters
    sure: bool = True  # False: the other family read just as well (a tie)

    @property
    def chinese(self) -> bool:
        return self.cjk >= READS_AS_CHINESE and self.common >= COMMON_ENOUGH


def _reading(text: str, encoding: str) -> Reading:
    wide = [ch for ch in text if ord(ch) > 0x7F]
    if not wide:
        return Reading(encoding, text, 0.0, 0.0)
    common = _any_common()
    cjk = sum(1 for ch in wide if _CJK.match(ch)) / len(wide)
    return Reading(encoding, text, cjk, sum(1 for ch in wide if ch in common) / len(wide))


def chinese_reading(body: bytes) -> Reading | None:
    """The Chinese family ``body`` reads as (strictly decoded, mostly common
    characters), or None when it reads as neither.

    When both do, a GB reading that forms words wins; else the one whose
    characters are more of its own script's common ones (GB2312's for GB, Big5's
    level 1 for Big5); a tie goes to GB18030 (``sure`` False)."""
    readings = [
        r
        for enc in _CHINESE
        if (text := _decode(body, enc)) is not None and (r := _reading(text, enc)).chinese
    ]
    if len(readings) < 2:
        return readings[0] if readings else None
    gb, big5 = readings
    if _word_share(gb.text) >= WORDS_ENOUGH:
        return gb
    # a wrong reading lands on characters its own script rarely uses: GBK read
    # as Big5 gives rare traditional ones, Big5 read as GBK traditional ones
    # GB2312 lacks
    own = {r.encoding: _own_share(r) for r in readings}
    if abs(own["gb18030"] - own["cp950"]) > 0.05:
        return max(readings, key=lambda r: own[r.encoding])
    return dataclasses.replace(gb, sure=False)


def _own_share(reading: Reading) -> float:
    wide = [ch for ch in reading.text if ord(ch) > 0x7F]
    common = _common(reading.encoding)
    return sum(1 for ch in wide if ch in common) / len(wide) if wide else 0.0


def declared_encoding(body: bytes) -> str | None:
    """The encoding an XML declaration or an HTML ``<meta>`` names (not yet believed)."""
    m = _XML_DECL.match(body[:1024])
    if m:
        return m.group(1).decode("ascii")
    return html_body_declared_encoding(body)


@dataclass(frozen=True, slots=True)
class Decoded:
    """A body as text: the encoding used, why it was chosen, and whether the text
    still looks like mis-decoded Chinese (``mojibake``: the reason, else None)."""

    text: str
    encoding: str
    how: str  # forced, bom, declared, header, utf-8, chinese, detected, fallback
    mojibake: str | None = None


def _believe(body: bytes, encoding: str | None, chinese: Reading | None) -> str | None:
    """The text of ``body`` in ``encoding`` when the bytes really are that encoding."""
    if not encoding:
        return None
    text = _decode(body, encoding)
    if text is None:
        return None
    if encoding.startswith(("utf-16", "utf-32")) and b"\x00" not in body:
        return None  # a declaration we could read as ASCII is no UTF-16 (WHATWG agrees)
    if encoding == "utf-8" or not any(b > 0x7F for b in body):
        return text
    if _decode(body, "utf-8") is not None:
        return None  # valid UTF-8 is no accident (GB18030 'decodes' it into 涓嶄寒)
    if encoding in _CHINESE:
        # GBK decodes most Big5, and Big5 some GB: a declaration breaks a tie only
        if chinese is None or (chinese.sure and chinese.encoding != encoding):
            return None
        return text
    if _single_byte(encoding) and chinese is not None:
        return None  # latin-1 'decodes' GB18030 and Big5 too
    if chinese is not None and _word_share(chinese.text) >= WORDS_ENOUGH:
        return None  # EUC-KR decodes GB2312 too: Chinese that forms words is Chinese
    return text


def decode_body(
    body: bytes, header_charset: str | None = None, forced: str | None = None
) -> Decoded:
    """``body`` as text, read as described in the module docstring. Never raises."""
    if forced and (known := canonical_encoding(forced)):
        # the deployment said so: a stray bad byte becomes U+FFFD, not another codec
        text = _decode(body, known)
        if text is None:
            text = body.decode(known, "replace")
        return _checked(text.removeprefix("\ufeff"), known, "forced")
    bom, _ = read_bom(body)
    if bom and (enc := canonical_encoding(bom)) and (text := _decode(body, enc)) is not None:
        return _checked(text.removeprefix("\ufeff"), enc, "bom")
    chinese = chinese_reading(body) if any(b > 0x7F for b in body) else None
    for how, label in (("declared", declared_encoding(body)), ("header", header_charset)):
        enc = canonical_encoding(label)
        if (text := _believe(body, enc, chinese)) is not None and enc:
            return _checked(text, enc, how)
    if (text := _decode(body, "utf-8")) is not None:
        return _checked(text, "utf-8", "utf-8")
    if chinese is not None:
        return _checked(chinese.text, chinese.encoding, "chinese")
    best = from_bytes(body).best()
    if best is not None and (enc := canonical_encoding(best.encoding)):
        text = _decode(body, enc)
        if text is not None and find_mojibake(text) is None:
            return _checked(text, enc, "detected")
    return _checked(body.decode("gb18030", "replace"), "gb18030", "fallback")


def _checked(text: str, encoding: str, how: str) -> Decoded:
    return Decoded(text, encoding, how, find_mojibake(text))


def choose_encoding(
    body: bytes, header_charset: str | None = None, forced: str | None = None
) -> str:
    """The encoding :func:`decode_body` reads ``body`` with."""
    if forced and (known := canonical_encoding(forced)):
        return known  # (an unknown one is refused when the config loads)
    return decode_body(body, header_charset).encoding


def as_utf8_xml(text: str) -> bytes:
    """A decoded XML document as UTF-8 bytes whose declaration says so, for parsers
    (feedparser) that would otherwise trust the original declaration or header."""
    return _XML_DECL_TEXT.sub(r"\g<1>\g<2>utf-8\g<3>", text, count=1).encode("utf-8")


# ------------------------------------------------------------------ the guard

# windows-1252's characters for bytes 0x80-0x9F: what a latin-1 label decodes to in
# browsers and in Scrapy (w3lib)
_CP1252 = {
    ch: byte for byte in range(0x80, 0xA0) if (ch := bytes([byte]).decode("cp1252", "ignore"))
}
_LATIN = "[\u0080-\u00ff" + "".join(map(re.escape, _CP1252)) + "]"
# a Latin-1 character may be followed by an ASCII one: Big5 and GBK trail bytes
# include 0x40-0x7E
_LATIN_RUN = re.compile(f"(?:{_LATIN}[\x40-\x7e]?|\ufffd){{2,}}")


def _as_bytes(text: str) -> bytes | None:
    """``text`` back as the bytes a latin-1 / windows-1252 decoder read it from."""
    out = bytearray()
    for ch in text:
        if ch in _CP1252:
            out.append(_CP1252[ch])
        elif ord(ch) < 0x100:
            out.append(ord(ch))
        else:
            return None
    return bytes(out)


def _mis_decoded(run: str) -> str | None:
    """What a run of Latin-1 characters reads as when it was really UTF-8 or
    Chinese bytes (CJK in it, every non-ASCII character common), else None."""
    raw = _as_bytes(run)
    if raw is None:
        return None
    # the run's last ASCII character may be text after the mis-decoded bytes
    for chunk in (raw, raw[:-1]) if raw[-1] < 0x80 else (raw,):
        for encoding in ("utf-8", *_CHINESE):
            text = _decode(chunk, encoding)
            if not text or not any(_CJK.match(ch) for ch in text):
                continue
            if encoding == "utf-8" or all(ch in _any_common() for ch in text if ord(ch) > 0x7F):
                return text
    return None


def find_mojibake(text: str) -> str | None:
    """Why ``text`` looks like Chinese read with the wrong codec, or None.

    Looks for runs of Latin-1 characters (and windows-1252's, which is what a
    latin-1 label decodes to) that, turned back into bytes, are UTF-8 with CJK
    in it, or GB18030/Big5 made only of common characters; and for such runs
    broken by U+FFFD (bytes windows-1252 could not read: lost for good).
    """
    found = []
    for m in _LATIN_RUN.finditer(text):
        run = m.group()
        if "\ufffd" in run:
            # windows-1252 has no character for 0x81, 0x8D, 0x8F, 0x90, 0x9D: bytes of
            # Chinese read with it are lost, and the Latin-1 left around them says so
            if run.strip("\ufffd") and re.search(_LATIN, run):
                found.append((run, "\ufffd"))
            continue
        reread = _mis_decoded(run)
        if reread is not None:
            found.append((run, reread))
    if not found:
        return None
    chars = sum(len(run) for run, _ in found)
    sample = "; ".join(f"{run[:12]!r}→{re!r}" for run, re in found[:3])
    return f"{chars} characters look like Chinese decoded as latin-1 ({sample})"


def repair_mojibake(text: str) -> tuple[str, str | None]:
    """``(text, None)`` when ``text`` is fine; ``(repaired, how)`` when it is
    mojibake that can be undone with certainty; raises :class:`Mojibake` otherwise.

    Certain means: the whole text turns back into bytes (nothing but ASCII and
    Latin-1), those bytes are valid UTF-8 with CJK in it, or read as Chinese in
    one family beyond doubt (:func:`chinese_reading`).
    """
    reason = find_mojibake(text)
    if reason is None:
        return text, None
    raw = _as_bytes(text)
    if raw is not None:
        utf8 = _decode(raw, "utf-8")
        if utf8 is not None and any(_CJK.match(ch) for ch in utf8):
            return utf8, "latin-1→utf-8"
        best = chinese_reading(raw)
        if best is not None and best.sure and find_mojibake(best.text) is None:
            return best.text, f"latin-1→{best.encoding}"
    raise Mojibake(reason)


class Mojibake(ValueError):
    """Text that looks like Chinese decoded with the wrong codec and cannot be
    re-decoded with certainty."""
