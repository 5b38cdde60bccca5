"""A local board and feed with a few hundred posts and an access log, for distributed crawls.

``/board/?page=N`` lists ``PER_PAGE`` threads (newest first) with a next link;
``/board/t/ID.html`` is a thread; one listed thread (``MISSING``) answers 404 so
every round leaves a dead letter; ``/feed.xml`` is an RSS feed of ``FEED_ITEMS``
entries. ``hits`` counts every path served; ``detail_delay`` slows thread pages
(to kill a worker mid-crawl).
"""

from __future__ import annotations

import html
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

THREADS = 240
PER_PAGE = 20
FEED_ITEMS = 30
MISSING = 10_000  # a listed thread that is not there
BASE = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)

_PLACES = ["东湖街道", "西园社区", "南山村", "北关街道", "青石镇", "柳河村", "城关社区", "白塔街道"]
_MATTERS = [
    ("路灯坏了", "晚上出行很不安全，老人摔倒过两次"),
    ("垃圾没人清运", "垃圾桶满了好几天，气味难闻，蚊蝇很多"),
    ("工地夜间施工噪音大", "每天晚上十二点后还在打桩，孩子睡不着"),
    ("小区停车收费上涨", "物业没有公示就上调了停车费，业主意见很大"),
    ("自来水发黄", "早上放出来的水是黄色的，不敢给孩子喝"),
    ("道路坑洼积水", "下雨后路面全是水坑，电动车经过很危险"),
]


def thread_title(i: int) -> str:
    place, (matter, _) = _PLACES[i % len(_PLACES)], _MATTERS[i % len(_MATTERS)]
    return f"{place}{matter}（第{i}号）"


def thread_body(i: int) -> str:
    place, (_, detail) = _PLACES[i % len(_PLACES)], _MATTERS[(i * 7) % len(_MATTERS)]
    return f"{place}居民反映：{detail}。编号{i}，已经是第{i % 9 + 1}次反映了，请尽快处理。"


def feed_title(i: int) -> str:
    return f"网民留言{i}：{_PLACES[(i * 3) % len(_PLACES)]}{_MATTERS[(i * 5) % len(_MATTERS)][0]}"


def _list_page(page: int) -> str:
    ids = list(range(THREADS, 0, -1))[(page - 1) * PER_PAGE : page * PER_PAGE]
    if page * PER_PAGE >= THREADS:  # on the last page, so an incremental round stops before it
        ids.insert(3, MISSING)
    items = "".join(
        f'<li><a class="subject" href="/board/t/{i}.html">{html.escape(thread_title(i))}</a></li>'
        for i in ids
    )
    more = page * PER_PAGE < THREADS
    nxt = f'<a class="next" href="/board/?page={page + 1}">下一页</a>' if more else ""
    return f'<html><meta charset="utf-8"><body><ul class="threads">{items}</ul>{nxt}</body></html>'


def _thread_page(i: int) -> str:
    posted = (BASE + timedelta(minutes=i)).astimezone().strftime("%Y-%m-%d %H:%M")
    return (
        '<html><meta charset="utf-8"><body>'
        f'<h1 class="subject">{html.escape(thread_title(i))}</h1>'
        f'<span class="author">网友{i}</span><span class="posted">{posted}</span>'
        f'<div class="message"><p>{html.escape(thread_body(i))}</p></div>'
        "</body></html>"
    )


def _feed() -> str:
    items = "".join(
        f"<item><title>{html.escape(feed_title(i))}</title>"
        f"<link>/news/{i}.html</link><guid>news-{i}</guid>"
        f"<description>{html.escape(feed_title(i))}，请有关部门关注。</description>"
        f"<pubDate>{format_datetime(BASE + timedelta(hours=i))}</pubDate></item>"
        for i in range(1, FEED_ITEMS + 1)
    )
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'


class FrontierSite:
    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.arrivals: list[float] = []  # time.monotonic() of each page request
        self.detail_delay = 0.0
        self._lock = threading.Lock()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                with site._lock:
                    site.hits[self.path] += 1
                    if self.path != "/robots.txt":
                        site.arrivals.append(time.monotonic())
                status, ctype, body = site.answer(self.path)
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def answer(self, path: str) -> tuple[int, str, str]:
        page_html = "text/html; charset=utf-8"
        if path == "/robots.txt":
            return 200, "text/plain", "User-agent: *\nDisallow: /private/\n"
        if path == "/board/" or path.startswith("/board/?page="):
            page = int(path.rpartition("=")[2]) if "=" in path else 1
            return 200, page_html, _list_page(page)
        if path.startswith("/board/t/") and path.endswith(".html"):
            i = int(path[len("/board/t/") : -len(".html")])
            if self.detail_delay:
                time.sleep(self.detail_delay)
            if 1 <= i <= THREADS:
                return 200, page_html, _thread_page(i)
        if path == "/feed.xml":
            return 200, "application/rss+xml; charset=utf-8", _feed()
        return 404, page_html, "<html><body>not found</body></html>"

    def page_hits(self) -> Counter[str]:
        """Hits on crawlable pages (robots.txt is fetched once per worker and source)."""
        with self._lock:
            return Counter({p: n for p, n in self.hits.items() if p != "/robots.txt"})

    def __enter__(self) -> FrontierSite:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()


def sources_yaml(url: str) -> str:
    return f"""sources:
  - name: dist-board
    kind: board
    url: "{url}/board/"
    area: 云溪县
    max_pages: 100
    selectors:
      item_link: "ul.threads li a.subject::attr(href)"
      next_page: "a.next::attr(href)"
      title: "h1.subject::text"
      body: "div.message"
      author: "span.author::text"
      time: "span.posted::text"
  - name: dist-board-first-page
    kind: board
    url: "{url}/board/"
    area: 云溪县
    max_pages: 1
    selectors:
      item_link: "ul.threads li a.subject::attr(href)"
      title: "h1.subject::text"
      body: "div.message"
  - name: dist-feed
    kind: feed
    url: "{url}/feed.xml"
    area: 云溪县
"""


def expected_urls(url: str) -> dict[str, set[str]]:
    """Every post each source must store, by canonical URL."""
    return {
        "dist-board": {f"{url}/board/t/{i}.html" for i in range(1, THREADS + 1)},
        "dist-feed": {f"{url}/news/{i}.html" for i in range(1, FEED_ITEMS + 1)},
    }
