"""A downloader middleware spacing requests to a domain over all workers together."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.task import deferLater


class SharedDelayMiddleware:
    """Downloader middleware: ``download_delay`` between requests to a domain over all
    workers together, by reserving send times in Redis (the per-process delay is off)."""

    def __init__(self, crawler: Crawler, delay: float) -> None:
        self.crawler = crawler
        self.delay = delay

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SharedDelayMiddleware:
        return cls(crawler, crawler.settings.getfloat("YUQING_SHARED_DOWNLOAD_DELAY"))

    async def process_request(self, request: Request, spider: Any = None) -> None:
        frontier = getattr(self.crawler.spider, "frontier", None)
        if self.delay <= 0 or frontier is None or request.url.endswith("/robots.txt"):
            return None
        wait = frontier.reserve(urlsplit(request.url).hostname or "", self.delay)
        if wait > 0:
            from twisted.internet import reactor

            await maybe_deferred_to_future(deferLater(reactor, wait, lambda: None))
        return None
