"""Downloader middleware that fixes response encodings before any spider reads them."""

from __future__ import annotations

import logging
import re
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse

from crawler.encoding import canonical_encoding, decode_body

logger = logging.getLogger(__name__)
_CHARSET = re.compile(rb"charset\s*=\s*[\"']?([A-Za-z0-9_.:\-]+)", re.I)


class EncodingMiddleware:
    """Re-decode text responses with :func:`crawler.encoding.decode_body`.

    Scrapy trusts a lying ``<meta charset>`` and a header's iso-8859-1; this does
    not. A source's ``encoding`` setting forces one. Feeds are decoded by the feed
    spider itself, by the same function.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> EncodingMiddleware:
        return cls(crawler)

    def process_response(
        self, request: Request, response: Response, spider: Any = None
    ) -> Response:
        if not isinstance(response, TextResponse) or not response.body:
            return response
        source = getattr(self.crawler.spider, "source", None)
        forced = getattr(source, "encoding", None)
        decoded = decode_body(response.body, header_charset(response), forced)
        encoding = decoded.encoding
        if decoded.mojibake and self.crawler.stats is not None:
            # its posts are checked one by one (crawler.items): repaired or dead-lettered
            self.crawler.stats.inc_value("yuqing/mojibake_pages")
            logger.warning("%s still reads as mojibake: %s", response.url, decoded.mojibake)
        if canonical_encoding(response.encoding) != encoding:
            logger.debug("%s: reading as %s, not %s", response.url, encoding, response.encoding)
            if self.crawler.stats is not None:
                self.crawler.stats.inc_value("yuqing/encoding_fixed")
            return response.replace(encoding=encoding)
        return response


def header_charset(response: Response) -> str | None:
    """The charset the Content-Type header names, if any."""
    m = _CHARSET.search(response.headers.get(b"Content-Type") or b"")
    return m.group(1).decode("ascii") if m else None
