"""Run one crawl of one source in this process: the entry point the scheduler calls.

Twisted's reactor cannot restart, so call :func:`run_crawl` once per process
(the scheduler runs it in a child process, which also keeps a crashing spider
away from it).
"""

from __future__ import annotations

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
    pages: int = 0  # responses parsed: list, detail and feed pages
    items_accepted: int = 0  # posts the sink took
    items_new: int = 0  # ... of which new or changed
    items_duplicate: int = 0  # ... already stored unchanged
    not_modified: int = 0  # feeds that answered a conditional request with 304
    dead_letters: int = 0  # pages and posts sent to sink.reject
    errors: int = 0  # failed requests and parser/sink exceptions
    duration_s: float = 0.0
    finish_reason: str = ""

    @classmethod
    def from_scrapy(cls, stats: dict[str, Any]) -> CrawlStats:
        exceptions = sum(v for k, v in stats.items() if k.startswith("spider_exceptions/"))
        accepted = stats.get("yuqing/accepted", 0)
        new = stats.get("yuqing/new", 0)
        return cls(
            pages=stats.get("yuqing/pages", 0),
            items_accepted=accepted,
            items_new=new,
            items_duplicate=accepted - new,
            not_modified=stats.get("yuqing/not_modified", 0),
            dead_letters=stats.get("yuqing/dead_letters", 0),
            errors=stats.get("yuqing/errors", 0) + exceptions,
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
