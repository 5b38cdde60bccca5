"""Item pipelines: normalise -> dead letters -> the sink.

Spiders yield :class:`~crawler.items.RawPost` (or a DeadLetter for a page that
failed); what reaches the sink is a clean, masked
:class:`~yuqing.contracts.CrawledPost`. Nothing bad is dropped silently: it goes
to ``sink.reject`` and is counted.
"""

from __future__ import annotations

import logging
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.task import LoopingCall

from crawler.items import MOJIBAKE_REASON, REPAIRED_KEY, RawPost, dead_letter, to_crawled_post
from store.posts import IDENTITY_KEY, content_hash, post_key
from yuqing.clock import SystemClock
from yuqing.contracts import CrawledPost, DeadLetter, Outcome, SinkUnavailable

logger = logging.getLogger(__name__)
SINK_UNAVAILABLE = "sink_unavailable"  # the finish reason of a crawl stopped by it


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
            post = to_crawled_post(item, clock.now(), tz)
        except Exception as exc:  # a parser bug must not lose the post or stop the crawl
            logger.exception("normalising %s failed", item.url)
            self.inc("errors")
            return dead_letter("normalise", item, f"{type(exc).__name__}: {exc}")
        if isinstance(post, CrawledPost) and post.extra.get(REPAIRED_KEY):
            self.inc("mojibake_repaired")
        return post


class DeadLetterPipeline(_SpiderPipeline):
    def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, DeadLetter):
            return item
        self.spider.sink.reject(item)
        self.inc("dead_letters")
        if item.reason.startswith(MOJIBAKE_REASON):
            self.inc("mojibake")
        if item.stage in ("parse", "normalise"):
            self.inc("unparsed")  # read but not understood: a source's health counts it
        raise DropItem(f"dead letter ({item.stage}) {item.url or ''}: {item.reason}")


class SinkPipeline(_SpiderPipeline):
    """Hands posts to the sink in small batches (classifying many at once is several
    times faster than one by one), flushed when full, every second, when the spider
    goes idle and before it closes, so a post is stored soon after it is read.

    Two different posts of one crawl with the same key (store.posts.post_key) would
    overwrite each other in the store: the later one is reported (``collided``, a
    warning) and given its own identity, so both are kept."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.keys: dict[str, str] = {}  # key -> what the post stored under it was
        self.batch = max(1, crawler.settings.getint("YUQING_SINK_BATCH", 16))
        self.pending: list[CrawledPost] = []
        self.unavailable: str | None = None  # why the sink takes nothing (the crawl stops)
        self._timer: LoopingCall | None = None
        crawler.signals.connect(self.flush, signal=signals.spider_idle)

    def open_spider(self, spider: Any = None) -> None:
        hooks = getattr(self.spider, "before_close", None)
        if hooks is not None:
            hooks.append(self.flush)
        if self.batch > 1:
            self._timer = LoopingCall(self.flush)
            self._timer.start(1.0, now=False)

    def close_spider(self, spider: Any = None) -> None:
        if self._timer is not None and self._timer.running:
            self._timer.stop()
        self.flush()

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if not isinstance(item, CrawledPost):
            return item
        if self.unavailable is not None:  # the crawl is stopping: the next one reads it
            raise DropItem(f"not stored, the sink is unavailable: {self.unavailable}")
        self._keep_apart(item)
        self.pending.append(item)
        if len(self.pending) >= self.batch:
            self.flush()
        return item

    def flush(self, *args: Any, **kwargs: Any) -> None:
        posts, self.pending = self.pending, []
        if not posts or self.unavailable is not None:
            return
        sink = self.spider.sink
        if len(posts) > 1:
            try:
                self._count(sink.accept_many(posts))
                return
            except SinkUnavailable as exc:
                self._stop(exc, len(posts))
                return
            except Exception:  # the batch's transaction kept nothing: find the post at fault
                # one by one below (each stored once, the faulty one a dead letter)
                logger.warning("batch of %d refused; retrying one by one", len(posts))
        for n, post in enumerate(posts):
            try:
                self._count([sink.accept(post)])
            except SinkUnavailable as exc:
                self._stop(exc, len(posts) - n)
                return
            except Exception as exc:  # the store failing on one post is that post's problem
                logger.exception("sink refused %s", post.url)
                self.inc("errors")
                raw = RawPost(source=post.source, url=post.url, title=post.title, body=post.text)
                sink.reject(dead_letter("sink", raw, f"{type(exc).__name__}: {exc}"))
                self.inc("dead_letters")

    def _stop(self, exc: SinkUnavailable, lost: int) -> None:
        """Stop the crawl unfinished: its state stays "running", so the next crawl walks
        every page and stores what this one could not (nothing is marked seen)."""
        self.unavailable = str(exc)
        if self.crawler.stats is not None:
            self.crawler.stats.set_value("yuqing/sink_unavailable", self.unavailable)
        logger.error(
            "%s: the sink is unavailable, %d posts not stored; stopping the crawl: %s",
            self.spider.source.name,
            lost,
            exc,
        )
        if self.crawler.engine is not None:  # (already closing: it just waits for that)
            deferred_from_coro(self.crawler.engine.close_spider_async(reason=SINK_UNAVAILABLE))

    def _keep_apart(self, post: CrawledPost) -> None:
        key = post_key(post)
        me = _identity(post)
        first = self.keys.setdefault(key, me)
        if first == me:
            return  # the same post again (listed twice): an upsert, not a collision
        self.inc("collided")
        logger.warning(
            "%s: two different posts share the key %s in one crawl; keeping both",
            post.source,
            key[:200],
        )
        post.extra[IDENTITY_KEY] = f"collided:{key[:200]}#{me}"
        self.keys.setdefault(post_key(post), me)

    def _count(self, outcomes: list[Outcome]) -> None:
        for outcome in outcomes:
            self.inc("accepted")
            if outcome == Outcome.NEW:
                self.inc("new")
            elif outcome == Outcome.UPDATED:
                self.inc("updated")
            else:
                self.inc("unchanged")


def _identity(post: CrawledPost) -> str:
    """What makes a post this post, for telling two posts under one key apart: its
    id and its text (a feed without guids gives its link as the id, shared by
    entries that are different posts)."""
    digest = content_hash(post.title, post.text)[:24]
    return f"{post.external_id[:200]}#{digest}" if post.external_id else digest
