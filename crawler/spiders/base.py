"""What every yuqing spider shares: its Source, its sink, failure handling."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Iterator
from typing import Any, ClassVar

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.selector import SelectorList
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure
from w3lib.url import canonicalize_url

from crawler.config import config_from_environment, open_sink, scrapy_settings, source_url
from yuqing.clock import Clock, SystemClock
from yuqing.contracts import DeadLetter, PostSink
from yuqing.settings import AppConfig, Source

logger = logging.getLogger(__name__)

_TEXT_SELECTOR = re.compile(r"(::text|::attr\([^)]*\)|text\(\)|/@[\w:-]+)\s*$")


def canonical_url(url: str) -> str:
    """The form of a URL used as a post's identity (and asked of ``sink.seen``)."""
    return canonicalize_url(url, keep_fragments=False)


def select(response: Response, selector: str) -> SelectorList:
    """CSS, or XPath when the selector starts with '/' or '('."""
    if selector.lstrip().startswith(("/", "(")):
        return response.xpath(selector)
    return response.css(selector)


def extract_markup(response: Response, selector: str | None) -> str | None:
    """What ``selector`` matches, as HTML markup: element matches as they are,
    text and attribute matches escaped so the normaliser can treat all alike."""
    if not selector:
        return None
    values = select(response, selector).getall()
    if not values:
        return None
    if _TEXT_SELECTOR.search(selector):
        return "<br>".join(html.escape(v) for v in values)
    return "\n".join(values)


def extract_text(response: Response, selector: str | None) -> str | None:
    """First match of a text or attribute selector, stripped."""
    if not selector:
        return None
    value = select(response, selector).get()
    return value.strip() if value is not None else None


class SourceSpider(Spider):
    """A spider configured by one :class:`~yuqing.settings.Source`.

    ``run_crawl`` passes ``source``, ``sink`` and ``config`` objects; with
    ``scrapy crawl NAME -a source=NAME`` the config is loaded from the
    environment and the sink built by the ``YUQING_SINK_FACTORY`` setting.
    """

    kind: ClassVar[str]
    source: Source
    sink: PostSink
    config: AppConfig
    clock: Clock
    start_url: str
    allowed_domains: list[str]
    _owns_sink: bool = False

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Any:
        source = kwargs.pop("source", None)
        config: AppConfig | None = kwargs.pop("config", None)
        sink: PostSink | None = kwargs.pop("sink", None)
        if source is None:
            raise ValueError(f"spider {cls.name!r} needs a source: -a source=NAME")
        if config is None:
            config = config_from_environment()
        if isinstance(source, str):
            source = config.source(source)
        if source.kind != cls.kind:
            raise ValueError(
                f"source {source.name!r} is a {source.kind} source; the {cls.name!r} spider reads {cls.kind}"
            )
        owns_sink = sink is None
        if sink is None:
            sink = open_sink(crawler.settings.get("YUQING_SINK_FACTORY"), config)
        # the deployment's politeness settings (settings.yaml) beat the module defaults;
        # `-s` on the command line still beats both
        crawler.settings.setdict(scrapy_settings(config.settings.crawler), priority="spider")
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.source = source
        spider.config = config
        spider.sink = sink
        spider.clock = kwargs.get("clock") or SystemClock()
        spider.start_url = source_url(source, kwargs.get("demo_url"))
        spider.allowed_domains = []
        spider._owns_sink = owns_sink
        crawler.signals.connect(spider._close_sink, signal=signals.spider_closed)
        return spider

    def _close_sink(self, spider: Spider) -> None:
        if self._owns_sink:
            self.sink.close()

    def count_page(self) -> None:
        self.crawler.stats.inc_value("yuqing/pages")

    def failed(self, failure: Failure) -> Iterator[DeadLetter]:
        """Errback: a page that could not be fetched becomes a dead letter."""
        request = failure.request  # type: ignore[attr-defined]
        error = failure.value
        if isinstance(error, HttpError):
            reason = f"HTTP {error.response.status}"
        else:
            reason = f"{type(error).__name__}: {failure.getErrorMessage()}"
        self.crawler.stats.inc_value("yuqing/errors")
        logger.warning("%s failed: %s", request.url, reason)
        yield DeadLetter(
            stage="crawl",
            source=self.source.name,
            reason=reason,
            payload={"url": request.url, "callback": getattr(request.callback, "__name__", None)},
            url=request.url,
        )

    def broken(self, response: Response, exc: Exception) -> DeadLetter:
        """A page we fetched but could not read."""
        logger.exception("parsing %s failed", response.url)
        self.crawler.stats.inc_value("yuqing/errors")
        return DeadLetter(
            stage="parse",
            source=self.source.name,
            reason=f"{type(exc).__name__}: {exc}",
            payload={
                "url": response.url,
                "status": response.status,
                "html": response.text[:20_000],
            },
            url=response.url,
        )
