"""Downloader middleware that fixes response encodings before any spider reads them."""

from __future__ import annotations

import logging
import re
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Response, TextResponse

from crawler.encoding import canonical_encoding, choose_encoding

logger = logging.getLogger(__name__)
_CHARSET = re.compile(rb"charset\s*=\s*[\"']?([A-Za-z0-9_.:\-]+)", re.I)


class EncodingMiddleware:
    """Re-decode text responses with :func:`crawler.encoding.choose_encoding`.

    Scrapy trusts a lying ``<meta charset>``; this does not. A source's
    ``encoding`` setting forces one.
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
        m = _CHARSET.search(response.headers.get(b"Content-Type") or b"")
        header = m.group(1).decode("ascii") if m else None
        encoding = choose_encoding(response.body, header, forced)
        if canonical_encoding(response.encoding) != encoding:
            logger.debug("%s: reading as %s, not %s", response.url, encoding, response.encoding)
            if self.crawler.stats is not None:
                self.crawler.stats.inc_value("yuqing/encoding_fixed")
            return response.replace(encoding=encoding)
        return response
