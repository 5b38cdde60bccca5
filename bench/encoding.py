"""Decoding: Chinese titles read right from the encoding corpus, ours against the
libraries as shipped, side by side.

The corpus (tests/crawler/encoding_corpus.py, text of our own) holds GB2312, GBK,
GB18030 and Big5 feeds and pages, each in 12 modes: the Content-Type charset right,
missing, a utf-8 lie or an iso-8859-1 lie, times the declaration kept, removed or
lying. Feeds: ours (crawler.encoding.decode_body, then feedparser on the text) vs
feedparser given the bytes and the HTTP header. Pages: ours vs Scrapy's own
TextResponse decoding (w3lib). A title counts when it appears exactly; a result
the mojibake guard flags counts as wrong for both.
"""

from __future__ import annotations

import re
import time

import feedparser
from scrapy.http import HtmlResponse

from bench.common import Row, say
from crawler.encoding import as_utf8_xml, decode_body, find_mojibake
from tests.crawler.encoding_corpus import ENCODINGS, FEED_ENTRIES, MODES, TEXTS, feed, page

_CHARSET = re.compile(r"charset=([\w-]+)")


def _ours_feed(ctype: str, body: bytes) -> list[str]:
    m = _CHARSET.search(ctype)
    text = decode_body(body, m.group(1) if m else None).text
    parsed = feedparser.parse(
        as_utf8_xml(text), response_headers={"content-type": "application/xml; charset=utf-8"}
    )
    return [e.get("title", "") for e in parsed.entries]


def _shipped_feed(ctype: str, body: bytes) -> list[str]:
    parsed = feedparser.parse(body, response_headers={"content-type": ctype})
    return [e.get("title", "") for e in parsed.entries]


def _ours_page(ctype: str, body: bytes) -> str:
    m = _CHARSET.search(ctype)
    return decode_body(body, m.group(1) if m else None).text


def _shipped_page(ctype: str, body: bytes) -> str:
    return HtmlResponse("http://127.0.0.1/p.html", body=body, headers={"Content-Type": ctype}).text


def _right(title: str, found: str) -> bool:
    return title in found and find_mojibake(found) is None


def run(quick: bool) -> list[Row]:
    base = "http://127.0.0.1:8000"
    feeds = [(enc, *feed(base, mode, enc)) for mode in MODES for enc in ENCODINGS]
    pages = [(enc, n, *page(mode, enc, n)) for mode in MODES for enc in ENCODINGS for n in range(3)]
    counts = {"ours_feed": 0, "shipped_feed": 0, "ours_page": 0, "shipped_page": 0}
    for enc, ctype, body in feeds:
        titles = [t for t, _ in TEXTS[enc][:FEED_ENTRIES]]
        ours, shipped = _ours_feed(ctype, body), _shipped_feed(ctype, body)
        counts["ours_feed"] += sum(any(_right(t, f) for f in ours) for t in titles)
        counts["shipped_feed"] += sum(any(_right(t, f) for f in shipped) for t in titles)
    for enc, n, ctype, body in pages:
        title = TEXTS[enc][FEED_ENTRIES + n][0]
        counts["ours_page"] += _right(title, _ours_page(ctype, body))
        counts["shipped_page"] += _right(title, _shipped_page(ctype, body))
    n_feed, n_page = len(feeds) * FEED_ENTRIES, len(pages)
    say(f"encoding: {counts}")

    # what one page costs: ours against Scrapy's own decoding of the same pages
    repeat = 1 if quick else 5
    t0 = time.perf_counter()
    for _ in range(repeat):
        for _, _, ctype, body in pages:
            _ours_page(ctype, body)
    ours_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(repeat):
        for _, _, ctype, body in pages:
            _shipped_page(ctype, body)
    shipped_s = time.perf_counter() - t0
    rate = repeat * n_page / ours_s
    ref_rate = repeat * n_page / shipped_s
    modes = f"{len(MODES)} modes x {len(ENCODINGS)} encodings (GB2312, GBK, GB18030, Big5)"
    return [
        Row(
            "decoding: feed titles right",
            f"{counts['ours_feed']}/{n_feed}",
            f"{counts['shipped_feed']}/{n_feed} (feedparser as shipped)",
            round(counts["ours_feed"] / max(counts["shipped_feed"], 1), 2),
            f"ratio = ours ÷ feedparser given the bytes and HTTP header; {modes}; "
            "corpus of our own text (tests/crawler/encoding_corpus.py)",
        ),
        Row(
            "decoding: page titles right",
            f"{counts['ours_page']}/{n_page}",
            f"{counts['shipped_page']}/{n_page} (Scrapy as shipped)",
            round(counts["ours_page"] / max(counts["shipped_page"], 1), 2),
            f"ratio = ours ÷ Scrapy's TextResponse decoding; {modes}",
        ),
        Row(
            "decoding: pages per second",
            f"{rate:.0f} pages/s",
            f"{ref_rate:.0f} pages/s (Scrapy as shipped)",
            round(rate / ref_rate, 2),
            "ratio = ours ÷ Scrapy's decoding of the same 144 corpus pages, higher is faster; "
            "ours also checks every reading for mojibake",
        ),
    ]
