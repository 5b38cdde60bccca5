"""The worker process: ``yuqing crawler-worker`` crawls its sources from the shared
frontier until stopped; its Scrapy settings name this package's components."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import redis
from scrapy.crawler import CrawlerProcess
from scrapy.exceptions import ScrapyDeprecationWarning
from scrapy.settings import Settings

from crawler.distributed.frontier import Frontier
from crawler.distributed.spider import RoundFinished, worker_spider

if TYPE_CHECKING:
    from yuqing.settings import AppConfig, Source

log = logging.getLogger(__name__)


@dataclass(slots=True)
class WorkerOptions:
    sources: list[str] = field(default_factory=list)  # empty: every enabled crawlable source
    concurrency: int = 8  # requests in flight per source in this worker
    demo_url: str | None = None
    scrapy_overrides: dict[str, Any] = field(default_factory=dict)


def worker_sources(config: AppConfig, names: list[str]) -> list[Source]:
    if names:
        return [config.source(n) for n in names]
    return [s for s in config.sources.sources if s.enabled and s.kind in ("board", "feed", "api")]


def worker_settings(config: AppConfig, options: WorkerOptions) -> Settings:
    c = config.settings.crawler
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.setdict(
        {
            "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
            "SCHEDULER_PERSIST": True,
            "SCHEDULER_QUEUE_CLASS": "crawler.distributed.queue.LeasedQueue",
            "SCHEDULER_SERIALIZER": "crawler.frontier_codec",
            "DUPEFILTER_CLASS": "crawler.distributed.dupefilter.RoundDupeFilter",
            "STATS_CLASS": "crawler.distributed.stats.RoundStats",
            "REDIS_URL": c.redis_url,
            "CONCURRENT_REQUESTS": options.concurrency,
            "YUQING_SHARED_DOWNLOAD_DELAY": c.download_delay,
            "DOWNLOADER_MIDDLEWARES": {
                "crawler.middlewares.EncodingMiddleware": 600,
                # before the downloader itself, after robots.txt (100) and retries (550)
                "crawler.distributed.middleware.SharedDelayMiddleware": 950,
            },
        },
        priority="project",
    )
    settings.setdict(options.scrapy_overrides, priority="cmdline")
    return settings


def run_worker(
    config: AppConfig,
    sink: Any,
    options: WorkerOptions,
    on_round_finished: RoundFinished | None = None,
    frontier: Frontier | None = None,
) -> int:
    """Crawl the configured sources from the shared frontier until SIGTERM/SIGINT
    (the first lets in-flight requests finish; a second stops at once and leaves their
    leases to expire). Returns how many leases were handed back on the way out."""
    sources = worker_sources(config, options.sources)
    if not sources:
        raise ValueError(
            "没有可供采集节点抓取的来源（board、feed、api 类来源都未启用）/ "
            "no sources for this worker (none enabled of kind board, feed or api)"
        )
    # scrapy-redis 0.9 still passes `spider` to the stats collector: not ours to fix
    warnings.filterwarnings("ignore", category=ScrapyDeprecationWarning, module="scrapy_redis")
    frontier = frontier or Frontier.from_config(config)
    try:
        frontier.server.ping()
    except redis.RedisError as exc:
        raise ValueError(
            f"连不上共享队列的 Redis（{exc}）/ the frontier's Redis is unreachable: {exc}"
        ) from exc
    frontier.start_heartbeat()
    settings = worker_settings(config, options)
    process = CrawlerProcess(settings)
    for source in sources:
        crawler = process.create_crawler(worker_spider(source))
        # the shared delay replaces the per-process one (it would count twice)
        crawler.settings.set("DOWNLOAD_DELAY", 0, priority="cmdline")
        process.crawl(
            crawler,
            source=source,
            sink=sink,
            config=config,
            demo_url=options.demo_url,
            frontier=frontier,
            on_round_finished=on_round_finished,
        )
    log.info("worker %s crawling %s", frontier.worker_id, ", ".join(s.name for s in sources))
    try:
        process.start()
    finally:
        returned = frontier.leave()
    if returned:
        log.warning("handed %d unfinished requests back to the frontier", returned)
    return returned


def frontier_status(config: AppConfig) -> dict[str, Any]:
    """Queued and pending requests per source, and the live workers."""
    frontier = Frontier.from_config(config)
    try:
        out: dict[str, Any] = {"workers": frontier.workers(), "sources": {}}
        for source in worker_sources(config, []):
            round_id = frontier.current_round(source.name)
            info = frontier.round_info(source.name, round_id) if round_id is not None else {}
            out["sources"][source.name] = {
                "round": round_id,
                "queued": int(frontier.server.zcard(frontier.queue_key(source.name))),
                "pending": int(info.get("pending", 0)),
                "pages": int(info.get("yuqing/pages", 0)),
            }
        return out
    finally:
        frontier.server.close()
