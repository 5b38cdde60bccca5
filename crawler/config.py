"""Where the crawler meets yuqing's configuration: the one place it is read.

``run_crawl`` receives an :class:`~yuqing.settings.AppConfig`; only the plain
``scrapy crawl`` command loads one itself, through :func:`config_from_environment`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from scrapy.utils.misc import load_object

from yuqing.contracts import PostSink
from yuqing.settings import AppConfig, CrawlerSettings, Source, load_config, resolve_config_dir


def scrapy_settings(c: CrawlerSettings) -> dict[str, Any]:
    """yuqing's crawler settings as Scrapy settings."""
    return {
        "USER_AGENT": c.user_agent,
        "ROBOTSTXT_OBEY": c.obey_robots_txt,
        "DOWNLOAD_DELAY": c.download_delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": c.concurrent_requests_per_domain,
        "DOWNLOAD_TIMEOUT": c.timeout_seconds,
        "DOWNLOAD_MAXSIZE": c.max_response_bytes,
        "DOWNLOAD_WARNSIZE": c.max_response_bytes // 2,
        "AUTOTHROTTLE_ENABLED": c.autothrottle,
        # AutoThrottle otherwise starts at 5 s per request whatever the delay says
        "AUTOTHROTTLE_START_DELAY": max(c.download_delay, 0.1),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": float(c.concurrent_requests_per_domain),
        "RETRY_TIMES": c.retry_times,
        "HTTPCACHE_ENABLED": c.http_cache,
        "YUQING_SINK_BATCH": c.sink_batch,
    }


def config_from_environment() -> AppConfig:
    """Load the deployment config the way the yuqing CLI does (for `scrapy crawl`)."""
    directory = resolve_config_dir(None, os.environ)
    if not directory.is_dir() and not os.environ.get("YUQING_CONFIG"):
        # `cd crawler && scrapy crawl ...` in a checkout: the config is one level up
        checkout = Path(__file__).resolve().parent.parent / "config"
        if checkout.is_dir():
            directory = checkout
    return load_config(directory, os.environ)


def open_sink(factory: str, config: AppConfig) -> PostSink:
    """Build a sink from the dotted path of ``factory(config) -> PostSink``."""
    try:
        make = load_object(factory)
    except (ImportError, NameError, AttributeError, ValueError) as exc:
        raise RuntimeError(
            f"YUQING_SINK_FACTORY {factory!r} cannot be imported: {exc}. "
            "Set it with -s YUQING_SINK_FACTORY=package.module.function"
        ) from exc
    sink: PostSink = make(config)
    return sink


def source_url(source: Source, demo_url: str | None) -> str:
    """The source's start URL with ``{demo_url}`` filled in."""
    if not source.url:
        raise ValueError(f"source {source.name!r} has no url")
    if "{demo_url}" in source.url:
        if not demo_url:
            raise ValueError(
                f"source {source.name!r} is served by the demo site: pass demo_url "
                "(e.g. -a demo_url=http://127.0.0.1:8765)"
            )
        return source.url.replace("{demo_url}", demo_url.rstrip("/"))
    return source.url
