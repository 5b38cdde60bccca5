"""A local site that serves what county sources really serve, good and bad.

A three-page board whose detail pages come in UTF-8, GBK and GB18030 with
right, wrong and missing charset declarations; an RSS feed (ETag and
Last-Modified, answering 304 to a conditional request) and a GB18030 Atom feed;
and the failures: a page that never answers in time, one that fails with 500
once, a 10 MB page, a 404, an empty body, a malformed feed and an empty feed.

``GOOD`` lists every post a crawl must deliver, exactly once.
"""

from __future__ import annotations

import contextlib
import html
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BASE_TIME = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
# Far longer than the test crawls' 3 s download timeout: the crawl's reactor thread
# also classifies posts, and on a loaded machine it once stalled past a 4 s answer,
# so the late page was parsed before the timeout fired (16 pages, not 15).
SLOW_SECONDS = 30.0
HUGE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Thread:
    id: int
    title: str
    body: str
    author: str
    # (body encoding, charset in the Content-Type header or None, <meta charset> or None)
    encoding: tuple[str, str | None, str | None]

    @property
    def published_at(self) -> datetime:
        return BASE_TIME + timedelta(minutes=self.id)


_FILLER = (
    "我们是小区的居民，这个问题已经反映多次，一直没有得到解决，给周边群众的生活带来很大不便。"
    "希望有关部门高度重视，尽快派人到现场查看，给大家一个明确的答复和处理时限。"
)

THREADS = [
    Thread(
        1,
        "东湖街道路灯不亮",
        "东湖新村门口的路灯坏了一个月。",
        "张先生",
        ("utf-8", "utf-8", "utf-8"),
    ),
    Thread(
        2,
        "垃圾清运不及时",
        "西园小区垃圾桶满了没人清运，气味难闻。",
        "李女士",
        ("gbk", "gbk", "gbk"),
    ),
    Thread(
        3, "噪音扰民严重", "工地夜间施工，噪音吵得老人孩子睡不着。", "王师傅", ("gbk", None, None)
    ),
    Thread(
        4,
        "停车收费不合理",
        "物业擅自上调停车费，业主意见很大。",
        "赵阿姨",
        ("gbk", "utf-8", "utf-8"),
    ),
    Thread(
        5,
        "学校门口交通拥堵",
        "上下学时段校门口车辆乱停，存在安全隐患。",
        "家长",
        ("gbk", None, "utf-8"),
    ),
    # 𠮷 and 䶮 are outside GBK: only GB18030 (four-byte sequences) carries them
    Thread(
        6,
        "𠮷祥路积水",
        "𠮷祥路下雨就积水，䶮字号商铺门口尤其严重。",
        "周先生",
        ("gb18030", "gb2312", None),
    ),
    Thread(
        7,
        "䶮家巷自来水发黄",
        "䶮家巷一带自来水发黄，已经持续三天。",
        "吴女士",
        ("gb18030", None, None),
    ),
    Thread(
        8,
        "𠮷安社区电梯故障",
        "𠮷安社区三号楼电梯经常困人，维保不到位。",
        "郑先生",
        ("gb18030", None, "gbk"),
    ),
    Thread(
        9,
        "菜市场占道经营",
        "菜市场外摊贩占道经营，行人只能走机动车道。",
        "孙大爷",
        ("utf-8", None, "gbk"),
    ),
    Thread(
        10, "供暖温度不达标", "暖气片温度很低，室内只有十四度。", "钱女士", ("utf-8", "utf-8", None)
    ),
]
FLAKY = Thread(
    11, "公交站台破损", "公交站台顶棚破损，下雨没法避雨。", "冯先生", ("utf-8", "utf-8", "utf-8")
)

RSS_ITEMS = [
    (101, "县政府回应河道污染问题", "针对群众反映的河道污染问题，县生态环境局已介入调查。"),
    (102, "老旧小区改造进展", "今年计划改造老旧小区十二个，目前已完工五个。"),
    (103, "冬季供暖热线开通", "冬季供暖服务热线今日开通，居民可反映供暖问题。"),
]
ATOM_ITEMS = [
    (201, "𠮷祥路施工围挡占道", "𠮷祥路施工围挡占用人行道，行人通行困难。"),
    (202, "社区卫生服务站排队久", "社区卫生服务站人手不足，看病排队要两个小时。"),
    (203, "农贸市场价格公示", "农贸市场蔬菜价格公示牌长期不更新。"),
]

API_TOKEN = "s3cret-token"
API_SESSION = "abc123"
API_ENV = {"ROBUST_API_TOKEN": API_TOKEN, "ROBUST_SESSION": API_SESSION}
# three pages of a forum's JSON API; one item on page 2 is not an object
API_PAGES: list[list[Any]] = [
    [
        {"id": 301, "subject": "东湖街道广场舞扰民", "content": {"html": "<p>每晚广场舞音响太大，影响休息。</p>"},
         "user": {"nick": "夜猫子"}, "created": 1795140000, "stats": {"likes": 12}, "link": "/forum/301"},
        {"id": 302, "subject": "西园小区电梯停运", "content": {"html": "<p>电梯停运一周，老人上下楼困难。</p>"},
         "user": {"nick": "老住户"}, "created": 1795143600000, "stats": {"likes": 30}, "link": "/forum/302"},
    ],
    [
        "这不是一个帖子",
        {"id": 303, "subject": "𠮷祥路井盖缺失", "content": {"html": "<p>𠮷祥路口井盖缺失，夜间很危险。</p>"},
         "user": {"nick": "路人"}, "created": "2026年11月20日 10:05", "stats": {"likes": 3}, "link": "/forum/303"},
    ],
    [
        {"id": 304, "subject": "农村公路坑洼", "content": {"html": "<p>村道坑洼不平，雨天积水。</p>"},
         "user": {"nick": "村民"}, "created": 1795147200, "stats": {}, "link": "/forum/304"},
    ],
]  # fmt: skip

# Every post a crawl of the robust-* sources must deliver, by URL path.
GOOD: dict[str, tuple[str, str]] = {
    **{f"/board/t/{t.id}.html": (t.title, t.body) for t in [*THREADS, FLAKY]},
    **{f"/news/{i}.html": (title, body) for i, title, body in RSS_ITEMS},
    **{f"/news/{i}.html": (title, body) for i, title, body in ATOM_ITEMS},
    **{
        f"/forum/{item['id']}": (item["subject"], item["content"]["html"][3:-4])
        for page in API_PAGES
        for item in page
        if isinstance(item, dict)
    },
}
BAD = {
    "/board/t/slow.html": "timeout",
    "/board/t/huge.html": "size",
    "/board/t/gone.html": "HTTP 404",
    "/board/t/empty.html": "empty",
    "/feed/bad.xml": "well-formed",
    "/feed/empty.xml": "empty",
    "/api/posts?cursor=c2": "item 0 on page 2",
    "/api/broken": "not json",
}

LIST_PAGES = [
    [1, 2, 3, 4],
    [5, 6, 7, 8],
    [9, 10, 11, "slow", "huge", "gone", "empty"],
]


def _shanghai(value: datetime) -> str:
    v = value + timedelta(hours=8)
    return f"{v.year}年{v.month}月{v.day}日 {v.hour:02d}:{v.minute:02d}"


def sources_yaml(base: str) -> str:
    """The robust-* sources, pointing at a site running at ``base``."""
    selectors = """
    selectors:
      item_link: "ul.threads a::attr(href)"
      next_page: "a.next::attr(href)"
      title: "h1::text"
      body: "div.message"
      author: "span.author::text"
      time: "span.posted::text"
      likes: "span.likes::text"
"""
    return f"""sources:
  - name: robust-board
    kind: board
    url: "{base}/board/list/1.html"
    area: 云溪县
    max_pages: 10{selectors}
  - name: robust-rss
    kind: feed
    url: "{base}/feed/rss.xml"
    area: 云溪县
  - name: robust-atom
    kind: feed
    url: "{base}/feed/atom.xml"
  - name: robust-badfeed
    kind: feed
    url: "{base}/feed/bad.xml"
  - name: robust-emptyfeed
    kind: feed
    url: "{base}/feed/empty.xml"
  - name: robust-api
    kind: api
    url: "{base}/api/posts"
    api:
      items: data.list
      pagination: {{kind: cursor, param: cursor, cursor_path: data.next}}
      headers: {{X-Token: "${{ROBUST_API_TOKEN}}"}}
      cookies: {{session: "${{ROBUST_SESSION}}"}}
    fields: {{url: link, external_id: id, title: subject, text: content.html,
             author: user.nick, published_at: created, likes: stats.likes}}
  - name: robust-api-paged
    kind: api
    url: "{base}/api/paged"
    api:
      items: ""
      pagination: {{kind: page, param: p, start: 0}}
    fields: {{url: link, title: subject, text: content.html}}
  - name: robust-changed-board
    kind: board
    url: "{base}/board/list/1.html"
    owner_team: donghu
    selectors:
      item_link: "ul.topics a::attr(href)"   # the site renamed its list: matches nothing
      title: "h1::text"
      body: "div.message"
  - name: robust-badapi
    kind: api
    url: "{base}/api/broken"
    api: {{items: data}}
    fields: {{title: subject}}
"""


class RobustSite:
    """Serve the pages above on 127.0.0.1; ``hits`` counts requests per path."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.conditional_hits: Counter[str] = Counter()  # answered 304
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.detail_delay = 0.0  # seconds before each detail page (for kill tests)
        self.extra_threads: list[Thread] = []

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> RobustSite:
        site = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802
                # the crawler may give up on us (timeout, size limit): that is the test
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    site._serve(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.request_queue_size = 128
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # ------------------------------------------------------------ pages
    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?", 1)[0]
        with self._lock:
            self.hits[path] += 1
            n = self.hits[path]
        if path == "/board/t/slow.html":
            time.sleep(SLOW_SECONDS)
            return self._send(h, 200, "text/html; charset=utf-8", b"<h1>too late</h1>")
        if path == "/board/t/huge.html":
            h.send_response(200)
            h.send_header("Content-Type", "text/html; charset=utf-8")
            h.send_header("Content-Length", str(HUGE_BYTES))
            h.end_headers()
            chunk = b"<p>" + "很长".encode() * 1000 + b"</p>\n"
            sent = 0
            while sent < HUGE_BYTES:
                part = chunk[: HUGE_BYTES - sent]
                h.wfile.write(part)
                sent += len(part)
            return None
        if path == "/board/t/empty.html":
            return self._send(h, 200, "text/html; charset=utf-8", b"")
        if path == f"/board/t/{FLAKY.id}.html" and n == 1:
            return self._send(h, 500, "text/html", b"<h1>Internal Server Error</h1>")
        if path.startswith("/board/list/"):
            page = int(path.rsplit("/", 1)[1].removesuffix(".html"))
            if 1 <= page <= len(LIST_PAGES):
                return self._send(h, 200, "text/html; charset=utf-8", self._list(page))
        if path.startswith("/board/t/"):
            tid = path.rsplit("/", 1)[1].removesuffix(".html")
            for t in [*THREADS, FLAKY, *self.extra_threads]:
                if str(t.id) == tid:
                    if self.detail_delay:
                        time.sleep(self.detail_delay)
                    return self._detail(h, t)
        if path == "/api/posts":
            return self._api(h)
        if path == "/api/paged":
            page = int(h.path.split("p=", 1)[1].split("&")[0]) if "p=" in h.path else 0
            items = API_PAGES[page] if page < len(API_PAGES) else []
            good = [i for i in items if isinstance(i, dict)]
            return self._send(h, 200, "application/json", json.dumps(good).encode())
        if path == "/api/broken":
            return self._send(h, 200, "text/html; charset=utf-8", "<h1>系统维护中</h1>".encode())
        if path == "/feed/rss.xml":
            return self._rss(h)
        if path == "/feed/atom.xml":
            body = self._atom().encode("gb18030")
            return self._send(h, 200, "application/atom+xml", body)
        if path == "/feed/bad.xml":
            body = "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>坏的</title><item><title>半截".encode()
            return self._send(h, 200, "application/rss+xml; charset=utf-8", body)
        if path == "/feed/empty.xml":
            return self._send(h, 200, "application/rss+xml", b"")
        return self._send(h, 404, "text/html; charset=utf-8", b"<h1>404</h1>")

    def _send(self, h: BaseHTTPRequestHandler, status: int, ctype: str, body: bytes) -> None:
        h.send_response(status)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def _api(self, h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("X-Token") != API_TOKEN or f"session={API_SESSION}" not in (
            h.headers.get("Cookie") or ""
        ):
            return self._send(h, 401, "application/json", b'{"code": 401, "msg": "login"}')
        cursor = h.path.split("cursor=", 1)[1].split("&")[0] if "cursor=" in h.path else "c1"
        page = int(cursor[1:])
        nxt = f"c{page + 1}" if page < len(API_PAGES) else None
        body = {"code": 0, "data": {"list": API_PAGES[page - 1], "next": nxt}}
        return self._send(h, 200, "application/json", json.dumps(body, ensure_ascii=False).encode())

    def _list(self, page: int) -> bytes:
        ids = list(LIST_PAGES[page - 1])
        if page == 1:
            ids = [t.id for t in self.extra_threads] + ids
        links = "".join(f'<li><a href="/board/t/{i}.html">帖子 {i}</a></li>' for i in ids)
        nxt = (
            f'<a class="next" href="/board/list/{page + 1}.html">下一页</a>'
            if page < len(LIST_PAGES)
            else ""
        )
        return f"<html><body><ul class='threads'>{links}</ul>{nxt}</body></html>".encode()

    def _detail(self, h: BaseHTTPRequestHandler, t: Thread) -> None:
        enc, header, meta = t.encoding
        meta_tag = f'<meta charset="{meta}">' if meta else ""
        page = (
            f"<html><head>{meta_tag}<title>{html.escape(t.title)}</title></head><body>"
            f"<h1>{html.escape(t.title)}</h1>"
            f"<span class='author'>{html.escape(t.author)}</span>"
            f"<span class='posted'>{_shanghai(t.published_at)}</span>"
            f"<span class='likes'>{t.id * 3}</span>"
            f"<div class='message'><p>{html.escape(t.body)}</p><p>{_FILLER}</p></div>"
            "</body></html>"
        )
        ctype = "text/html" + (f"; charset={header}" if header else "")
        self._send(h, 200, ctype, page.encode(enc))

    def _rss(self, h: BaseHTTPRequestHandler) -> None:
        etag = '"rss-v1"'
        modified = format_datetime(BASE_TIME, usegmt=True)
        if h.headers.get("If-None-Match") == etag or h.headers.get("If-Modified-Since") == modified:
            with self._lock:
                self.conditional_hits["/feed/rss.xml"] += 1
            h.send_response(304)
            h.send_header("ETag", etag)
            h.end_headers()
            return None
        items = "".join(
            f"<item><title>{html.escape(title)}</title><link>{self.url}/news/{i}.html</link>"
            f"<guid>{self.url}/news/{i}.html</guid><description>{html.escape(body)}</description>"
            f"<pubDate>{format_datetime(BASE_TIME + timedelta(hours=i - 100), usegmt=True)}</pubDate></item>"
            for i, title, body in RSS_ITEMS
        )
        body = (
            "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
            f"<title>县新闻</title><link>{self.url}/</link><description>新闻</description>{items}"
            "</channel></rss>"
        ).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        h.send_header("Content-Length", str(len(body)))
        h.send_header("ETag", etag)
        h.send_header("Last-Modified", modified)
        h.end_headers()
        h.wfile.write(body)
        return None

    def _atom(self) -> str:
        entries = "".join(
            f"<entry><title>{html.escape(title)}</title><link href='{self.url}/news/{i}.html'/>"
            f"<id>urn:news:{i}</id><updated>{(BASE_TIME + timedelta(hours=i - 200)).isoformat()}</updated>"
            f"<author><name>县融媒体中心</name></author><content type='html'>{html.escape('<p>' + body + '</p>')}</content></entry>"
            for i, title, body in ATOM_ITEMS
        )
        return (
            "<?xml version='1.0' encoding='GB18030'?>"
            "<feed xmlns='http://www.w3.org/2005/Atom'><title>县政务</title>"
            f"<id>urn:feed</id><updated>{BASE_TIME.isoformat()}</updated>{entries}</feed>"
        )
