"""The spiders' parse callbacks on hostile pages, feeds and JSON: every answer is a
Request, a RawPost or a DeadLetter (never an exception, which would lose the rest
of the page), and every RawPost normalises to a post or a dead letter.

The callbacks run on real Scrapy responses and a real (unstarted) Crawler; the
sink is the crawler's in-memory one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from hypothesis import example, given, settings
from hypothesis import strategies as st
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import HtmlResponse, TextResponse
from scrapy.statscollectors import MemoryStatsCollector

from crawler.items import RawPost, to_crawled_post
from crawler.sinks import MemorySink
from crawler.spiders.api import ApiSpider
from crawler.spiders.base import SourceSpider
from crawler.spiders.board import BoardSpider
from crawler.spiders.feed import FeedSpider
from yuqing.contracts import CrawledPost, DeadLetter
from yuqing.settings import AppConfig, Source, load_config

CONFIG = load_config(Path(__file__).parents[2] / "config")
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
BASE = "http://127.0.0.1:1"
API_SOURCE = Source.model_validate(
    {
        "name": "fuzz-api",
        "kind": "api",
        "url": f"{BASE}/api/threads",
        "api": {
            "items": "data.items",
            "pagination": {"kind": "cursor", "cursor_path": "data.next"},
        },
        "fields": {
            "url": "link",
            "title": "subject",
            "text": "content",
            "published_at": "ts",
            "likes": "stats.likes",
            "author": "user.name",
            "external_id": "id",
        },
    }
)


def spider(cls: type[SourceSpider], source: Source, config: AppConfig = CONFIG) -> Any:
    crawler = Crawler(cls, {})
    made = cls.from_crawler(crawler, source=source, config=config, sink=MemorySink(), demo_url=BASE)
    crawler.spider = made
    crawler.stats = MemoryStatsCollector(crawler)
    return made


def check(outputs: Iterable[Any]) -> list[Any]:
    out = list(outputs)  # the callback runs to its end: nothing raised
    for item in out:
        assert isinstance(item, Request | RawPost | DeadLetter), item
        if isinstance(item, RawPost):
            post = to_crawled_post(item, NOW, "Asia/Shanghai")
            assert isinstance(post, CrawledPost | DeadLetter)
    return out


hostile = st.text(max_size=40) | st.sampled_from(
    [
        "",
        " ",
        "javascript:alert(1)",
        "http://x:99999/a",
        "http://[::1/a",
        "http://x:abc/",
        "//evil.example/t/1",
        "mailto:a@b",
        "data:text/html,<b>",
        "?page=2",
        "../../t/3.html",
        "东湖.gov.cn/t/1",
        "\x00",
        "&#0;",
        "http://127.0.0.1:1/t/1#reply",
    ]
)


@settings(max_examples=max(30, settings.default.max_examples // 2))
@given(st.lists(hostile, max_size=6), st.one_of(st.none(), hostile))
@example(["http://x:99999/a", "/t/2"], "http://[::1/")
def test_board_list_pages_keep_every_good_link(hrefs: list[str], next_href: str | None) -> None:
    board = spider(BoardSpider, CONFIG.source("demo-board"))
    items = "".join(
        f'<li><a class="subject" href="{escape(h, {chr(34): "&quot;"})}">t</a></li>' for h in hrefs
    )
    nxt = (
        f'<a class="next" href="{escape(next_href, {chr(34): "&quot;"})}">下一页</a>'
        if next_href is not None
        else ""
    )
    body = f'<html><body><ul class="threads">{items}</ul>{nxt}</body></html>'
    out = check(
        board.parse_list(HtmlResponse(f"{BASE}/board/", body=body.encode(), encoding="utf-8"), 1)
    )
    requested = {r.url for r in out if isinstance(r, Request)}
    for h in hrefs:
        if h.strip() in ("/t/2", "../../t/3.html", "?page=2"):
            assert any(u.startswith(BASE) for u in requested)


_CONTENT = st.text(max_size=60) | st.sampled_from(
    [
        "<script>alert(1)</script>",
        "电话１３８１２３４５６７８",
        "<p>a<p>b",
        "&lt;b&gt;",
        "\x00\x0b",
        "<!--",
        "]]>",
    ]
)


@settings(max_examples=max(30, settings.default.max_examples // 2))
@given(_CONTENT, _CONTENT, _CONTENT, _CONTENT, st.sampled_from(["utf-8", "gb18030"]))
def test_board_detail_pages_give_a_post_or_a_dead_letter(
    title: str, body: str, when: str, likes: str, encoding: str
) -> None:
    board = spider(BoardSpider, CONFIG.source("demo-board"))
    page = (
        f'<html><body><h1 class="subject">{escape(title)}</h1><div class="message">{body}</div>'
        f'<span class="posted">{escape(when)}</span><span class="likes">{escape(likes)}</span>'
        f'<span class="author">{escape(title)}</span></body></html>'
    )
    data = page.encode(encoding, errors="replace")
    response = HtmlResponse(f"{BASE}/t/1.html", body=data, encoding=encoding)
    out = check(board.parse_detail(response))
    assert len(out) >= 1


_FEED_TEXT = st.text(max_size=40) | st.sampled_from(
    ["", "<b>粗体</b>", "&amp;", "13812345678", "Fri, 31 Dec 9999 23:59:59 -1200", "2026-13-45"]
)


@st.composite
def feeds(draw: st.DrawFn) -> bytes:
    entries = []
    for _ in range(draw(st.integers(0, 4))):
        fields = {
            "title": draw(_FEED_TEXT),
            "link": draw(hostile),
            "description": draw(_FEED_TEXT),
            "pubDate": draw(_FEED_TEXT),
            "guid": draw(_FEED_TEXT),
            "author": draw(_FEED_TEXT),
        }
        keep = draw(st.sets(st.sampled_from(sorted(fields))))
        entries.append("".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items() if k in keep))
    body = "".join(f"<item>{e}</item>" for e in entries)
    declared = draw(st.sampled_from(["utf-8", "gb2312", "bogus", ""]))
    actual = draw(st.sampled_from(["utf-8", "gb18030"]))
    head = f'<?xml version="1.0" encoding="{declared}"?>' if declared else ""
    xml = f"{head}<rss version='2.0'><channel><title>t</title>{body}</channel></rss>"
    data = xml.encode(actual, errors="replace")
    if draw(st.booleans()):  # truncated or corrupted mid-stream
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.binary(max_size=8))
    return data


@settings(max_examples=max(40, settings.default.max_examples))
@given(
    feeds(),
    st.sampled_from(
        ["application/rss+xml", "text/html; charset=utf-8", "text/plain; charset=gbk", ""]
    ),
)
def test_feeds_give_posts_or_dead_letters(data: bytes, ctype: str) -> None:
    feed = spider(FeedSpider, CONFIG.source("demo-feed"))
    headers = {"Content-Type": ctype} if ctype else {}
    response = TextResponse(f"{BASE}/feed.xml", body=data, headers=headers, encoding="utf-8")
    check(feed.parse_feed(response))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)


@st.composite
def api_items(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 4)) == 0:
        return draw(json_values)
    item: dict[str, Any] = {}
    for key in ("link", "subject", "content", "ts", "id"):
        if draw(st.booleans()):
            item[key] = draw(json_values | hostile | st.integers(-(10**20), 10**20))
    if draw(st.booleans()):
        item["stats"] = {
            "likes": draw(json_values | st.text(alphabet="0123456789万.", max_size=400))
        }
    if draw(st.booleans()):
        item["user"] = {"name": draw(json_values)}
    return item


@settings(max_examples=max(40, settings.default.max_examples))
@given(
    st.one_of(
        st.lists(api_items(), max_size=4).map(
            lambda items: {"data": {"items": items, "next": "c2"}}
        ),
        json_values,
    ),
    st.booleans(),
)
@example({"data": {"items": [{"subject": "a", "ts": 10**20}]}}, False)
@example({"data": {"items": [{"subject": "a", "stats": {"likes": "9" * 400}}]}}, False)
def test_api_pages_give_posts_or_dead_letters(data: Any, garble: bool) -> None:
    api = spider(ApiSpider, API_SOURCE)
    body = json.dumps(data, ensure_ascii=False).encode()
    if garble:
        body = body[: len(body) // 2]
    response = TextResponse(
        f"{BASE}/api/threads",
        body=body,
        headers={"Content-Type": "application/json"},
        encoding="utf-8",
    )
    check(api.parse_page(response, 1))


_TITLE = {"simplified": "东湖街道第{}条诉求", "traditional": "東湖街道第{}條訴求"}


@st.composite
def shared_link_feeds(draw: st.DrawFn) -> tuple[bytes, str, list[tuple[str, str | None, str]]]:
    """A feed whose entries often share a link: (bytes, Content-Type, [(title, guid,
    link)]), in a Chinese encoding the header may lie about."""
    encoding = draw(st.sampled_from(["utf-8", "gb18030", "big5"]))
    title = _TITLE["traditional" if encoding == "big5" else "simplified"]
    entries = []
    for i in range(draw(st.integers(1, 6))):
        page = draw(st.sampled_from(["/digest.html", "/news/1.html", "/"]))
        fragment = draw(st.sampled_from(["", "#a", "#b", f"#item-{i}"]))
        guid = draw(st.one_of(st.none(), st.sampled_from(["g1", "g2", f"urn:x:{i}"])))
        entries.append((title.format(i), guid, f"{BASE}{page}{fragment}"))
    header = draw(
        st.sampled_from(["", "; charset=iso-8859-1", "; charset=utf-8", f"; charset={encoding}"])
    )
    items = "".join(
        f"<item><title>{t}</title><link>{escape(link)}</link>"
        f"{f'<guid>{g}</guid>' if g else ''}<description>{t}。</description></item>"
        for t, g, link in entries
    )
    xml = (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title>{items}</channel></rss>"
    )
    return xml.encode(encoding), "application/rss+xml" + header, entries


@settings(max_examples=max(40, settings.default.max_examples))
@given(shared_link_feeds())
def test_feed_entries_that_guid_or_fragment_tell_apart_get_their_own_keys(
    case: tuple[bytes, str, list[tuple[str, str | None, str]]],
) -> None:
    from store.posts import post_key

    data, ctype, entries = case
    feed = spider(FeedSpider, CONFIG.source("demo-feed"))
    response = TextResponse(
        f"{BASE}/feed.xml", body=data, headers={"Content-Type": ctype}, encoding="latin-1"
    )
    raws = [o for o in check(feed.parse_feed(response)) if isinstance(o, RawPost)]
    assert len(raws) == len(entries)
    posts = [to_crawled_post(r, NOW, "Asia/Shanghai") for r in raws]
    assert all(isinstance(p, CrawledPost) for p in posts)
    # titles are read right whatever the header claimed
    assert [p.title for p in posts] == [t for t, _, _ in entries]  # type: ignore[union-attr]
    keys = [post_key(p) for p in posts]  # type: ignore[arg-type]
    # entries a unique guid or a unique link (fragment and all) tells apart never share a key
    for i, (_, guid, link) in enumerate(entries):
        others = [e for j, e in enumerate(entries) if j != i]
        unique_guid = guid and all(g != guid for _, g, _ in others)
        unique_link = all(lk != link for _, _, lk in others)
        if unique_guid or unique_link:
            assert keys.count(keys[i]) == 1, (entries, keys)


def test_api_reads_gbk_json_by_the_pages_decoding_rule() -> None:
    api = spider(ApiSpider, API_SOURCE)
    item = {"subject": "东湖路灯不亮", "content": "路灯坏了一个月", "link": "/t/1", "id": 1}
    body = json.dumps({"data": {"items": [item]}}, ensure_ascii=False).encode("gbk")
    for ctype in ("application/json", "application/json; charset=iso-8859-1"):
        response = TextResponse(
            f"{BASE}/api/threads", body=body, headers={"Content-Type": ctype}, encoding="utf-8"
        )
        [post] = [o for o in check(api.parse_page(response, 1)) if isinstance(o, RawPost)]
        assert (post.title, post.body) == ("东湖路灯不亮", "路灯坏了一个月")
