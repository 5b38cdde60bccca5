"""Item pipelines: normalise -> dead letters -> the sink.

Spiders yield :class:`~crawler.items.RawPost` (or a DeadLetter for a page that
failed); what reaches the sink is a clean, masked
:class:`~yuqing.contracts.CrawledPost`. Nothing bad is dropped silently: it goes
to ``sink.reject`` and is counted.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem

from crawler.items import RawPost, dead_letter, to_crawled_post
from yuqing.clock import SystemClock
from yuqing.contracts import CrawledPost, DeadLetter

logger = logging.getLogger(__name__)


class _SpiderPipeline:
    """Base: pipelines reach the spider's source, sink and clock through the crawler."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Any:
        return cls(crawler)

    @property
    def spider(self) -> Any:
        return self.crawler.spider

    def inc(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"yuqing/{key}")


class NormalisePipeline(_SpiderPipeline):
    def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, RawPost):
            return item
        spider = self.spider
        clock = getattr(spider, "clock", None) or SystemClock()
        tz = spider.config.settings.timezone
        try:
            return to_crawled_post(item, clock.now(), tz)
        except Exception as exc:  # a parser bug must not lose the post or stop the crawl
            logger.exception("normalising %s failed", item.url)
            self.inc("errors")
            return dead_letter("normalise", item, f"{type(exc).__name__}: {exc}")


class DeadLetterPipeline(_SpiderPipeline):
    def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, DeadLetter):
            return item
        self.spider.sink.reject(item)
        self.inc("dead_letters")
        raise DropItem(f"dead letter ({item.stage}) {item.url or ''}: {item.reason}")


class SinkPipeline(_SpiderPipeline):
    def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, CrawledPost):
            return item
        sink = self.spider.sink
        try:
            new = sink.accept(item)
        except Exception as exc:  # the store failing on one post is that post's problem
            logger.exception("sink refused %s", item.url)
            self.inc("errors")
            raw = RawPost(source=item.source, url=item.url, title=item.title, body=item.text)
            sink.reject(dead_letter("sink", raw, f"{type(exc).__name__}: {exc}"))
            self.inc("dead_letters")
            raise DropItem(f"sink refused {item.url}: {exc}") from exc
        self.inc("accepted")
        if new:
            self.inc("new")
        return item
