"""What every yuqing spider shares: its Source, its sink, failure handling."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.selector import SelectorList
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure
from w3lib.url import canonicalize_url

from crawler.config import config_from_environment, open_sink, scrapy_settings, source_url
from crawler.state import CrawlStateStore, state_store
from yuqing.clock import Clock, SystemClock
from yuqing.contracts import DeadLetter, PostSink
from yuqing.settings import AppConfig, Source

logger = logging.getLogger(__name__)

_TEXT_SELECTOR = re.compile(r"(::text|::attr\([^)]*\)|text\(\)|/@[\w:-]+)\s*$")


def page_url(url: str) -> str:
    """A page's URL as the crawler requests and records it (``CrawledPost.url``, and
    what it asks ``sink.seen``): w3lib's canonical form (percent-encoding normalised,
    query sorted), without the fragment. The store derives a post's key from it by its
    own rules (``store.posts.url_identity``).

    Raises ValueError for what is not a URL (a port of 99999, a broken IPv6 host).
    """
    return canonicalize_url(url.strip(), keep_fragments=False).strip()


def url_with_fragment(url: str) -> str:
    """:func:`page_url` keeping the fragment: entries of one feed that link to
    anchors of one page are told apart by it alone."""
    return canonicalize_url(url.strip(), keep_fragments=True).strip()


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
    crawl_state: dict[str, Any]  # this source's state from the last crawl (crawler.state)
    resuming: bool  # the last crawl did not finish: walk everything again
    _state_store: CrawlStateStore
    before_close: list[Callable[[], None]]  # run before the crawl state is saved
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
        spider._state_store = state_store(sink)
        spider.before_close = []
        spider.crawl_state = dict(spider._state_store.load_state(source.name))
        spider.resuming = bool(spider.crawl_state.get("running"))
        if spider.resuming:
            logger.warning("%s: the last crawl did not finish; walking every page", source.name)
        spider.crawl_state["running"] = True
        spider._state_store.save_state(source.name, spider.crawl_state)
        crawler.signals.connect(spider._closed, signal=signals.spider_closed)
        return spider

    def _closed(self, spider: Spider, reason: str) -> None:
        for hook in self.before_close:  # e.g. the sink pipeline's last batch
            hook()
        # a last batch the sink could not take leaves the crawl unfinished, whatever
        # Scrapy's reason: the next crawl walks every page (no 304, no early stop)
        stored_all = not self.crawler.stats.get_value("yuqing/sink_unavailable")
        try:
            if reason == "finished" and stored_all:
                self.finish_state(self.crawl_state)
                self.crawl_state["running"] = False
            self._state_store.save_state(self.source.name, self.crawl_state)
        finally:
            if self._owns_sink:
                self.sink.close()

    def finish_state(self, state: dict[str, Any]) -> None:
        """Update the crawl state after a clean finish (subclasses add their keys)."""
        # read by runtime.jobs.record_crawl, which judges the source's health
        state["last_run_productive"] = bool(self.crawler.stats.get_value("yuqing/productive", 0))
        misses = self.crawler.stats.get_value("yuqing/selector_miss", 0)
        state["selector_miss"] = bool(misses)

    def count_page(self) -> None:
        self.crawler.stats.inc_value("yuqing/pages")

    def count(self, key: str) -> None:
        self.crawler.stats.inc_value(f"yuqing/{key}")

    def miss(self, response: Response, what: str, **payload: Any) -> DeadLetter:
        """A page that came back 200 but where the configured selectors found nothing:
        the site changed, or we are looking at a login or block page."""
        self.count("selector_miss")
        return DeadLetter(
            stage="crawl",
            source=self.source.name,
            reason=what,
            payload={
                "url": response.url,
                "status": response.status,
                **payload,
                "body": _text_of(response)[:20_000],
            },
            url=response.url,
        )

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

    def empty(self, response: Response) -> DeadLetter:
        """A 200 answer with no body at all."""
        self.count("errors")
        logger.warning("%s: empty body", response.url)
        return DeadLetter(
            stage="crawl",
            source=self.source.name,
            reason=f"empty response body (HTTP {response.status})",
            payload={"url": response.url, "status": response.status},
            url=response.url,
        )

    def bad_link(self, response: Response, href: str, exc: Exception) -> DeadLetter:
        """A link on a page that is not a URL we can request (kept, the page goes on)."""
        self.count("errors")
        return DeadLetter(
            stage="parse",
            source=self.source.name,
            reason=f"link {href[:200]!r} is not a usable URL: {exc}",
            payload={"url": response.url, "href": href[:2000]},
            url=response.url,
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
                "html": _text_of(response)[:20_000],
            },
            url=response.url,
        )


def _text_of(response: Response) -> str:
    """The body as text, also for responses Scrapy did not take for text (no Content-Type)."""
    text = getattr(response, "text", None)  # plain Response.text raises AttributeError
    return text if isinstance(text, str) else response.body.decode("utf-8", "replace")
