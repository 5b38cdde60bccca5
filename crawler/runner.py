"""Run one crawl of one source in this process: the entry point the scheduler calls.

Twisted's reactor cannot restart, so call :func:`run_crawl` once per process
(the scheduler runs it in a child process, which also keeps a crashing spider
away from it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from crawler.config import source_url
from crawler.spiders.api import API_FIELDS, ApiSpider
from crawler.spiders.base import SourceSpider
from crawler.spiders.board import BoardSpider
from crawler.spiders.feed import FeedSpider
from yuqing.clock import Clock
from yuqing.contracts import PostSink
from yuqing.settings import AppConfig, Source

SPIDERS: dict[str, type[SourceSpider]] = {
    "board": BoardSpider,
    "feed": FeedSpider,
    "api": ApiSpider,
}


@dataclass(slots=True)
class CrawlStats:
    """What one crawl did, truthfully: every post the sink took is new, updated or
    unchanged; a post that would have overwritten another of the same crawl is
    counted as collided (and kept, as new, under its own identity)."""

    pages: int = 0  # responses parsed (fetched): list, detail and feed pages
    items_accepted: int = 0  # posts the sink took
    items_new: int = 0  # ... stored new
    items_updated: int = 0  # ... already stored, changed
    items_duplicate: int = 0  # ... already stored unchanged
    items_collided: int = 0  # posts whose key another post of this crawl had
    not_modified: int = 0  # feeds that answered a conditional request with 304
    dead_letters: int = 0  # pages and posts sent to sink.reject
    unparsed: int = 0  # ... of which read but not understood (parse and normalise)
    mojibake: int = 0  # ... of which mis-decoded text that could not be undone
    mojibake_repaired: int = 0  # posts whose mis-decoded text was undone
    errors: int = 0  # failed requests and parser/sink exceptions
    duration_s: float = 0.0
    finish_reason: str = ""

    @property
    def items_unchanged(self) -> int:
        return self.items_duplicate

    @classmethod
    def from_counters(
        cls,
        counters: dict[str, Any],
        *,
        extra_errors: int = 0,
        duration_s: float = 0.0,
        finish_reason: str = "",
    ) -> CrawlStats:
        """From the ``yuqing/<name>`` counters the pipeline keeps (Scrapy's stats of one
        crawl, or a distributed round's sums in Redis)."""

        def n(key: str) -> int:
            return int(counters.get(f"yuqing/{key}", 0))

        return cls(
            pages=n("pages"),
            items_accepted=n("accepted"),
            items_new=n("new"),
            items_updated=n("updated"),
            items_duplicate=n("unchanged"),
            items_collided=n("collided"),
            not_modified=n("not_modified"),
            dead_letters=n("dead_letters"),
            unparsed=n("unparsed"),
            mojibake=n("mojibake"),
            mojibake_repaired=n("mojibake_repaired"),
            errors=n("errors") + extra_errors,
            duration_s=duration_s,
            finish_reason=finish_reason,
        )

    @classmethod
    def from_scrapy(cls, stats: dict[str, Any]) -> CrawlStats:
        exceptions = sum(v for k, v in stats.items() if k.startswith("spider_exceptions/"))
        return cls.from_counters(
            stats,
            extra_errors=exceptions,
            duration_s=round(float(stats.get("elapsed_time_seconds", 0.0)), 3),
            finish_reason=str(stats.get("finish_reason", "")),
        )


def spider_for(source: Source) -> type[SourceSpider]:
    if source.kind == "api":
        unknown = set(source.fields) - set(API_FIELDS)
        if unknown:
            raise ValueError(
                f"source {source.name!r}: unknown fields {sorted(unknown)} "
                f"(known: {', '.join(API_FIELDS)})"
            )
    try:
        return SPIDERS[source.kind]
    except KeyError:
        hint = " (file sources: crawler.imports.read_export)" if source.kind == "file" else ""
        raise ValueError(f"no spider for {source.kind} sources yet{hint}") from None


def run_crawl(
    config: AppConfig,
    source: Source,
    sink: PostSink,
    demo_url: str | None = None,
    *,
    clock: Clock | None = None,
    scrapy_overrides: dict[str, Any] | None = None,
) -> CrawlStats:
    """Crawl ``source`` once, handing posts to ``sink``; blocks until done.

    ``{demo_url}`` in the source URL is replaced by ``demo_url``. The sink is the
    caller's: it is not closed here. ``scrapy_overrides`` are Scrapy settings
    that beat everything else (e.g. ``{"LOG_LEVEL": "WARNING"}``).
    """
    spidercls = spider_for(source)
    source_url(source, demo_url)  # fail before starting a reactor
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    if scrapy_overrides:
        settings.setdict(scrapy_overrides, priority="cmdline")
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(spidercls)
    process.crawl(crawler, source=source, sink=sink, config=config, demo_url=demo_url, clock=clock)
    process.start()
    if crawler.stats is None or crawler.spider is None:
        raise RuntimeError(f"crawl of {source.name!r} did not start; see the log")
    return CrawlStats.from_scrapy(crawler.stats.get_stats())


def run_crawls(
    config: AppConfig,
    sources: list[Source],
    sink_for: Callable[[Source], PostSink],
    demo_url: str | None = None,
    *,
    clock: Clock | None = None,
    scrapy_overrides: dict[str, Any] | None = None,
) -> dict[str, CrawlStats]:
    """Crawl several sources at once in one reactor (each with its own sink from
    ``sink_for`` and its own statistics); blocks until all are done. Like
    :func:`run_crawl`, once per process."""
    for source in sources:
        spider_for(source)
        source_url(source, demo_url)  # fail before starting a reactor
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    if scrapy_overrides:
        settings.setdict(scrapy_overrides, priority="cmdline")
    process = CrawlerProcess(settings)
    crawlers = {}
    for source in sources:
        crawler = process.create_crawler(spider_for(source))
        process.crawl(
            crawler,
            source=source,
            sink=sink_for(source),
            config=config,
            demo_url=demo_url,
            clock=clock,
        )
        crawlers[source.name] = crawler
    process.start()
    out = {}
    for name, crawler in crawlers.items():
        if crawler.stats is None or crawler.spider is None:
            raise RuntimeError(f"crawl of {name!r} did not start; see the log")
        out[name] = CrawlStats.from_scrapy(crawler.stats.get_stats())
    return out
