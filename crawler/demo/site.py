"""A local message board and RSS feed serving a demo corpus, for demos and tests.

Pages use the markup that ``config/sources.yaml``'s ``demo-board`` selectors
expect. Some detail pages are served in GBK, and a few with a ``<meta charset>``
that lies about the body, because county sites do that.

    python -m crawler.demo.site [--port 8765]
"""

from __future__ import annotations

import argparse
import hashlib
import html
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from crawler.demo.corpus import DemoPost, demo_corpus, live_posts
from yuqing.clock import Clock, SystemClock

PAGE_SIZE = 10
FEED_SIZE = 30
_TZ = ZoneInfo("Asia/Shanghai")


def page_encoding(post_id: int) -> tuple[str, str | None, str]:
    """(body encoding, charset in the HTTP header or None, charset the <meta> claims)."""
    if post_id % 17 == 3:
        return "gbk", None, "utf-8"  # GBK body, meta lies, no header
    if post_id % 17 == 8:
        return "utf-8", None, "gbk"  # UTF-8 body, meta lies, no header
    if post_id % 5 == 0:
        return "gbk", "gbk", "gbk"
    return "utf-8", "utf-8", "utf-8"


class _Server(ThreadingHTTPServer):
    # the default listen backlog of 5 overflows under a crawler's parallel
    # connections, and each dropped SYN costs a 1 s retransmission
    request_queue_size = 128


def _cn_time(value: datetime) -> str:
    v = value.astimezone(_TZ)
    return f"{v.year}年{v.month}月{v.day}日 {v.hour:02d}:{v.minute:02d}"


def _e(text: str) -> str:
    return html.escape(text, quote=True)


class DemoSite:
    """Serve ``posts`` on a background thread; ``url`` is known after :meth:`start`."""

    def __init__(
        self,
        posts: Iterable[DemoPost],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Clock | None = None,
    ) -> None:
        # With a clock the site publishes as time passes: a post appears once the
        # clock reaches its published_at (soak runs give it a fast clock).
        self._clock = clock
        self._posts: dict[int, DemoPost] = {p.id: p for p in posts}
        self._broken: dict[int, int] = {}
        self._lock = threading.Lock()
        self._host, self._port = host, port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("DemoSite is not started")
        host, port = self._server.server_address[:2]
        if isinstance(host, bytes):
            host = host.decode()
        return f"http://{host}:{port}"

    def start(self) -> DemoSite:
        site = self

        class Handler(BaseHTTPRequestHandler):
            # headers and body go out in two writes: without this, Nagle's algorithm
            # and delayed ACKs hold every response for ~40 ms
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if urlsplit(self.path).path == "/feed.xml":
                    # validators like a real feed's, so conditional requests can be shown
                    etag = site.feed_etag()
                    if self.headers.get("If-None-Match") == etag:
                        self.send_response(304)
                        self.send_header("ETag", etag)
                        self.end_headers()
                        return
                status, ctype, body = site._route(self.path)
                self.send_response(status)
                if urlsplit(self.path).path == "/feed.xml" and status == 200:
                    self.send_header("ETag", site.feed_etag())
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output quiet

        self._server = _Server((self._host, self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="demo-site", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> DemoSite:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -------------------------------------------------------------- content
    def add(self, post: DemoPost) -> None:
        """Publish a post while the site runs (it appears on page 1 and in the feed)."""
        with self._lock:
            self._posts[post.id] = post

    def break_thread(self, post_id: int, status: int = 500) -> None:
        """Make a detail page answer with an HTTP error, as a failing site does."""
        with self._lock:
            self._broken[post_id] = status

    def posts(self) -> list[DemoPost]:
        """Newest first, as the board lists them (only those published by now)."""
        with self._lock:
            posts = list(self._posts.values())
        if self._clock is not None:
            now = self._clock.now()
            posts = [p for p in posts if p.published_at <= now]
        return sorted(posts, key=lambda p: (p.published_at, p.id), reverse=True)

    # -------------------------------------------------------------- routing
    def _route(self, raw_path: str) -> tuple[int, str, bytes]:
        parts = urlsplit(raw_path)
        path = parts.path
        if path == "/robots.txt":
            return 200, "text/plain; charset=utf-8", b"User-agent: *\nAllow: /\n"
        if path in ("/", "/board", "/board/"):
            try:
                page = int(parse_qs(parts.query).get("page", ["1"])[0])
            except ValueError:
                page = 1
            return 200, "text/html; charset=utf-8", self._list_page(max(page, 1)).encode()
        if path.startswith("/board/thread/") and path.endswith(".html"):
            try:
                post_id = int(path.removeprefix("/board/thread/").removesuffix(".html"))
            except ValueError:
                post_id = -1
            with self._lock:
                post = self._posts.get(post_id)
                broken = self._broken.get(post_id)
            if broken:
                return broken, "text/html; charset=utf-8", b"<h1>Server error</h1>"
            if post is not None and (self._clock is None or post.published_at <= self._clock.now()):
                return self._detail_page(post)
        if path == "/feed.xml":
            return 200, "application/rss+xml; charset=utf-8", self._feed().encode()
        return 404, "text/html; charset=utf-8", "<h1>404 页面不存在</h1>".encode()

    def _list_page(self, page: int) -> str:
        posts = self.posts()
        chunk = posts[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        items = "\n".join(
            f'<li><a class="subject" href="/board/thread/{p.id}.html">{_e(p.title)}</a>'
            f' <span class="author">{_e(p.author)}</span>'
            f' <span class="when">{_cn_time(p.published_at)}</span>'
            f' <span class="count">{p.replies}</span></li>'
            for p in chunk
        )
        nav = ""
        if page > 1:
            nav += f'<a class="prev" href="/board/?page={page - 1}">上一页</a> '
        if page * PAGE_SIZE < len(posts):
            nav += f'<a class="next" href="/board/?page={page + 1}">下一页</a>'
        return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>云溪论坛 - 民生留言板 - 第{page}页</title></head>
<body><div class="header">云溪论坛 · 民生留言板</div>
<ul class="threads">
{items}
</ul>
<div class="pager">{nav}</div>
</body></html>"""

    def _detail_page(self, post: DemoPost) -> tuple[int, str, bytes]:
        encoding, header_charset, meta_charset = page_encoding(post.id)
        paras = "".join(f"<p>{_e(line)}</p>" for line in post.body.split("\n") if line.strip())
        reply = ""
        if post.reply:
            reply = (
                '<div class="official-reply"><h3>官方回复</h3>'
                f'<div class="content"><p>{_e(post.reply)}</p></div>'
                f'<span class="time">{_cn_time(post.reply_at or post.published_at)}</span></div>'
            )
        page = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="{meta_charset}">
<title>{_e(post.title)} - 云溪论坛</title>
<script>var _hmt = _hmt || []; /* 统计代码 */</script>
<style>.message p {{ margin: 0 0 1em }}</style></head>
<body><div class="nav"><a href="/board/">返回列表</a></div>
<div class="thread">
<h1 class="subject">{_e(post.title)}</h1>
<div class="meta">楼主：<span class="author">{_e(post.author)}</span>
 发表于 <span class="posted">{_cn_time(post.published_at)}</span>
 点赞 <span class="likes">{post.likes}</span> 回复 <span class="replies">{post.replies}</span></div>
<div class="message">{paras}</div>
{reply}
<div class="signature">—— 本帖内容仅代表网友个人观点 ——</div>
</div></body></html>"""
        ctype = "text/html" + (f"; charset={header_charset}" if header_charset else "")
        return 200, ctype, page.encode(encoding, errors="xmlcharrefreplace")

    def feed_etag(self) -> str:
        """Changes when the feed's posts do (not with the port the site runs on)."""
        basis = "|".join(f"{p.id}:{p.published_at.isoformat()}" for p in self.posts()[:FEED_SIZE])
        return '"' + hashlib.sha1(basis.encode("utf-8")).hexdigest()[:16] + '"'

    def _feed(self) -> str:
        base = self.url
        items = []
        for p in self.posts()[:FEED_SIZE]:
            link = f"{base}/board/thread/{p.id}.html"
            items.append(
                f"<item><title>{_e(p.title)}</title><link>{link}</link>"
                f'<guid isPermaLink="true">{link}</guid>'
                f"<author>{_e(p.author)}</author>"
                f"<pubDate>{format_datetime(p.published_at.astimezone(UTC), usegmt=True)}</pubDate>"
                f"<description>{_e(''.join(f'<p>{_e(x)}</p>' for x in p.body.split(chr(10))))}</description></item>"
            )
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>云溪论坛 民生留言板</title><link>{base}/board/</link>"
            "<description>云溪县网民留言</description><language>zh-cn</language>"
            + "".join(items)
            + "</channel></rss>"
        )


def live_site(
    now: datetime | None = None,
    seed: int = 7,
    *,
    hours: float = 7 * 24,
    clock: Clock | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> DemoSite:
    """The demo corpus as of ``now`` (its history, and a handful of posts from the last
    hour), then new posts as the clock passes them (:func:`live_posts`, ``hours`` ahead):
    what `yuqing run --demo` serves, so a first run looks like a live stream."""
    clock = clock or SystemClock()
    start = now or clock.now()
    until = start + timedelta(hours=hours)
    return DemoSite(
        demo_corpus(start, seed) + live_posts(start, until, seed), host, port, clock=clock
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the yuqing demo board and feed.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    site = live_site(datetime.now(UTC), args.seed, host=args.host, port=args.port)
    site.start()
    print(f"demo site at {site.url}/board/ and {site.url}/feed.xml (Ctrl-C to stop)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        site.stop()


if __name__ == "__main__":
    main()
