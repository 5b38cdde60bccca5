"""Tokens for the index and highlighted snippets built from the original text.

Both backends index space-joined tokens, so their own highlighters would show
spaces between Chinese words. Snippets are therefore cut from the original
(masked) text, marking where the matched tokens occur in it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from index.base import Tokenize
from yuqing.privacy import mask_personal_data

if TYPE_CHECKING:
    from yuqing.contracts import IndexDoc

SNIPPET_CHARS = 120
_MAX_MATCHES = 500


def doc_tokens(tokenize: Tokenize, doc: IndexDoc) -> tuple[list[str], list[str]]:
    """(title, text) tokens of ``doc``: the classifier's when it kept them and cut
    them with this very tokeniser (same segmenter key), else segmented here."""
    given = doc.tokens
    if given is not None and given.segmenter == getattr(tokenize, "segmenter_key", None):
        return clean_tokens(given.title), clean_tokens(given.text)
    return index_tokens(tokenize, doc.title), index_tokens(tokenize, doc.text)


def index_tokens(tokenize: Tokenize, text: str) -> list[str]:
    """Lower-cased tokens with whitespace and punctuation-only tokens dropped."""
    return clean_tokens(tokenize(text))


def clean_tokens(tokens: Iterable[str]) -> list[str]:
    """What :func:`index_tokens` keeps of a token list the caller segmented already.

    One join, one lower-casing and one split in C: this runs for every token
    of every indexed post (it was most of the Python time of indexing)."""
    return _WORDY.findall(" ".join(tokens).lower())


# A whitespace-free run holding at least one character str.isalnum accepts.
_WORDY = re.compile(r"\S*[^\W_]\S*")
_LONG_CJK = re.compile(r"(?<!\S)[\u3400-\u4dbf\u4e00-\u9fff]{3,}(?!\S)")


def sub_tokens(tokens: Iterable[str]) -> list[str]:
    """Bigrams inside long Chinese tokens, so 污水 finds 污水排放 and 民工 finds 农民工.

    jieba's accurate mode keeps compounds whole; these go in a separate field
    searched for single words only, so phrase positions stay those of jieba.
    """
    out: list[str] = []
    for tok in _LONG_CJK.findall(" ".join(tokens)):
        out.extend(tok[i : i + 2] for i in range(len(tok) - 1))
    return out


def _pattern(terms: Iterable[str]) -> re.Pattern[str] | None:
    alts = []
    for t in sorted({t for t in terms if t}, key=len, reverse=True):
        esc = re.escape(t)
        # ASCII words only match whole words ("ai" must not light up "said").
        if t.isascii() and t.isalnum():
            esc = rf"(?<![A-Za-z0-9]){esc}(?![A-Za-z0-9])"
        alts.append(esc)
    if not alts:
        return None
    return re.compile("|".join(alts), re.IGNORECASE)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Adjacent or overlapping matches become one mark (污水直排, not 污水|直排)."""
    out: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(e, out[-1][1]))
        else:
            out.append((s, e))
    return out


def _render(text: str, spans: list[tuple[int, int]], start: int, end: int) -> str:
    spans = _merge(spans)
    parts: list[str] = []
    pos = start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        parts.append(html.escape(text[pos:s]))
        parts.append("<mark>" + html.escape(text[s:e]) + "</mark>")
        pos = e
    parts.append(html.escape(text[pos:end]))
    return "".join(parts)


def highlight(text: str, terms: Iterable[str]) -> str:
    """The whole text, escaped, with every term occurrence marked.

    Text is masked first (the index holds masked text, but rows stored before a
    masking rule existed may not be): a <mark> must never split a phone number
    so that no mask catches it."""
    text = mask_personal_data(text)
    pat = _pattern(terms)
    spans = [m.span() for m in pat.finditer(text)] if pat else []
    return _render(text, spans, 0, len(text))


def snippet(text: str, terms: Iterable[str], size: int = SNIPPET_CHARS) -> str:
    """About ``size`` characters around the densest cluster of matched terms (masked
    first, as in :func:`highlight`)."""
    text = " ".join(mask_personal_data(text).split())
    pat = _pattern(terms)
    spans: list[tuple[int, int]] = []
    if pat:
        for i, m in enumerate(pat.finditer(text)):
            if i >= _MAX_MATCHES:
                break
            spans.append(m.span())
    if len(text) <= size:
        return _render(text, spans, 0, len(text))
    start = 0
    if spans:
        best, best_n = spans[0][0], -1
        for s, _ in spans:
            lo = s - size // 4
            n = len({text[a:b].lower() for a, b in spans if lo <= a and b <= lo + size})
            if n > best_n:
                best, best_n = lo, n
        start = min(max(0, best), len(text) - size)
    end = min(len(text), start + size)
    # Never cut inside a mark.
    for s, e in spans:
        if s < start < e:
            start = s
        if s < end < e:
            end = e
    body = _render(text, spans, start, end)
    return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")
