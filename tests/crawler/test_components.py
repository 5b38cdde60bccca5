"""Pieces of the Scrapy project that need no reactor: selectors, items, config glue."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy.http import HtmlResponse

from crawler.config import scrapy_settings, source_url
from crawler.items import RawPost, to_crawled_post
from crawler.runner import CrawlStats, run_crawl
from crawler.sinks import MemorySink
from crawler.spiders.base import extract_markup, extract_text, page_url
from yuqing.contracts import CrawledPost, DeadLetter, Outcome
from yuqing.settings import CrawlerSettings, Source, load_config

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
PAGE = """<html><body><h1 class="subject">南门街 &lt;危房&gt; 问题</h1>
<div class="message"><p>第一段</p><p>电话13812345678</p></div>
<span class="posted">2026年11月20日 10:05</span><a class="next" href="?page=2">下一页</a></body></html>"""


def response() -> HtmlResponse:
    return HtmlResponse(
        "http://127.0.0.1/board/thread/1.html", body=PAGE.encode(), encoding="utf-8"
    )


def test_css_and_xpath_selectors_give_markup() -> None:
    r = response()
    assert extract_markup(r, "h1.subject::text") == "南门街 &lt;危房&gt; 问题"
    assert extract_markup(r, "//h1[@class='subject']/text()") == "南门街 &lt;危房&gt; 问题"
    assert extract_markup(r, "div.message").startswith('<div class="message"><p>')
    assert extract_markup(r, "//div[@class='message']") == extract_markup(r, "div.message")
    assert extract_markup(r, "div.missing") is None
    assert extract_markup(r, None) is None
    assert extract_text(r, "a.next::attr(href)") == "?page=2"
    assert extract_text(r, "//a[@class='next']/@href") == "?page=2"


def test_raw_post_normalises_masks_and_dates() -> None:
    r = response()
    raw = RawPost(
        source="s",
        url=page_url(r.url + "#reply"),
        title=extract_markup(r, "h1.subject::text") or "",
        body=extract_markup(r, "div.message") or "",
        time=extract_markup(r, "span.posted::text"),
        likes="赞 3",
    )
    post = to_crawled_post(raw, NOW, "Asia/Shanghai")
    assert isinstance(post, CrawledPost)
    assert post.title == "南门街 <危房> 问题"
    assert post.text == "第一段\n\n电话138****5678"
    assert post.published_at == datetime(2026, 11, 20, 2, 5, tzinfo=UTC)
    assert post.url == "http://127.0.0.1/board/thread/1.html"
    assert post.likes == 3


def test_empty_posts_and_bad_dates() -> None:
    empty = to_crawled_post(RawPost("s", "http://x/1", "标题", "<div> </div>"), NOW, "UTC")
    assert isinstance(empty, DeadLetter) and "empty" in empty.reason
    assert empty.payload["title"] == "标题" and empty.url == "http://x/1"
    lenient = to_crawled_post(RawPost("s", None, "", "正文", time="很久以前"), NOW, "UTC")
    assert isinstance(lenient, CrawledPost)
    assert lenient.published_at is None and lenient.extra["unparsed_time"] == "很久以前"
    assert lenient.title == "正文"
    strict = to_crawled_post(
        RawPost("s", None, "", "手机13812345678", time="很久以前"), NOW, "UTC", strict_dates=True
    )
    assert isinstance(strict, DeadLetter) and "unreadable date" in strict.reason
    assert "13812345678" not in str(strict.payload)  # dead letters are masked too


def test_settings_mapping_and_demo_urls() -> None:
    s = scrapy_settings(CrawlerSettings(download_delay=1.5, obey_robots_txt=False))
    assert s["DOWNLOAD_DELAY"] == 1.5 and s["ROBOTSTXT_OBEY"] is False
    assert s["AUTOTHROTTLE_START_DELAY"] == 1.5
    demo = Source(name="d", kind="feed", url="{demo_url}/feed.xml", demo=True)
    assert source_url(demo, "http://127.0.0.1:9/") == "http://127.0.0.1:9/feed.xml"
    with pytest.raises(ValueError, match="demo_url"):
        source_url(demo, None)


def test_run_crawl_refuses_before_starting_a_reactor() -> None:
    config = load_config(Path(__file__).resolve().parents[2] / "config")
    with pytest.raises(ValueError, match="demo_url"):
        run_crawl(config, config.source("demo-board"), MemorySink())
    with pytest.raises(ValueError, match="read_export"):
        run_crawl(config, Source(name="f", kind="file"), MemorySink())
    assert CrawlStats.from_scrapy(
        {"yuqing/pages": 2, "spider_exceptions/KeyError": 1}
    ) == CrawlStats(pages=2, errors=1)


def test_memory_sink_reports_new_updated_and_unchanged() -> None:
    sink = MemorySink(seen=[("s", "http://x/0")])
    post = CrawledPost(source="s", title="t", text="a", url="http://x/1")
    first, again = sink.accept(post), sink.accept(post)
    assert first == Outcome.NEW and first  # truthy: new or changed, as PostSink says
    assert again == Outcome.UNCHANGED and not again
    post.text = "b"
    assert sink.accept(post) == Outcome.UPDATED
    assert sink.seen("s", "http://x/1") and sink.seen("s", "http://x/0")
    assert not sink.seen("other", "http://x/1")
