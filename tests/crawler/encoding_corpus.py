"""An encoding test corpus of our own making, and a loopback site that serves it.

Chinese text written for these tests (simplified for GB2312, GBK and GB18030,
with characters only GBK or only GB18030 carry; traditional for Big5) becomes,
per encoding, an RSS feed of four entries and three HTML pages. Each is served in
every mode: the Content-Type header names the right charset, none, utf-8 (a lie)
or iso-8859-1 (a lie), and the XML declaration / ``<meta charset>`` is kept,
removed, or lying (naming another encoding).

    python -m tests.crawler.encoding_corpus OUT_DIR   # write the corpus out to look at

Also served: a feed whose 16 entries link to anchors of one page (they differ only
by ``#fragment``), a feed whose 3 entries share one link and nothing else, and a
feed whose source garbled its own text (mojibake served as valid UTF-8).
"""

from __future__ import annotations

import contextlib
import html
import sys
import threading
from dataclasses import dataclass
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.crawler.robust_site import BASE_TIME

# (title, body): entries 0-3 go into the feed, 4-6 become pages
TEXTS: dict[str, list[tuple[str, str]]] = {
    "gb2312": [
        ("东湖街道路灯不亮", "东湖新村门口的路灯坏了一个月，晚上老人出门很不方便。"),
        ("西园小区垃圾清运不及时", "垃圾桶满了三天没人清运，气味难闻，请环卫部门尽快处理。"),
        ("工地夜间施工噪音扰民", "学校旁边的工地每天夜里施工到凌晨两点，孩子们睡不好觉。"),
        ("农贸市场价格公示不更新", "蔬菜价格公示牌长期不更新，群众无法比价。"),
        ("公交站台顶棚破损", "人民路公交站台顶棚破损，下雨天乘客只能站在雨里等车。"),
        ("供暖温度不达标", "暖气片温度很低，室内只有14°C，老人孩子容易感冒。"),
        ("河道污染需要治理", "南河沿岸有工厂偷排污水，河水发黑发臭，鱼都死了。"),
    ],
    # 堃 玥 喆 镕 昇 are in GBK, not in GB2312
    "gbk": [
        ("堃园小区电梯故障", "堃园小区三号楼电梯经常困人，维保单位一直不来修。"),
        ("玥湖公园厕所脏乱", "玥湖公园的公共厕所很久没人打扫，游客意见很大。"),
        ("喆达物业乱收费", "喆达物业擅自上调停车费，业主多次反映没有答复。"),
        ("镕钢厂粉尘污染", "镕钢厂附近粉尘很大，居民晾晒的衣服都是灰。"),
        ("昇平路井盖缺失", "昇平路口井盖缺失，夜间行人很危险。"),
        ("社区卫生服务站排队久", "卫生服务站人手不足，看病排队要两个小时。"),
        ("校门口交通拥堵", "上下学时段校门口车辆乱停，存在安全隐患。"),
    ],
    # 𠮷 (beyond the BMP) and 䶮 (extension A) are four-byte GB18030 only
    "gb18030": [
        ("𠮷祥路积水严重", "𠮷祥路一下雨就积水，商铺门口尤其严重。"),
        ("䶮家巷自来水发黄", "䶮家巷一带自来水发黄，已经持续三天。"),
        ("𠮷安社区突然停水", "𠮷安社区突然停水，物业没有提前通知。"),
        ("菜市场占道经营", "菜市场外摊贩占道经营，行人只能走机动车道。"),
        ("村道坑洼不平", "村道坑洼不平，雨天积水，电动车经常摔倒。"),
        ("广场舞音响扰民", "每晚广场舞音响太大，影响周边居民休息。"),
        ("老旧小区改造进度慢", "䶮山小区改造拖了一年还没完工，居民出行困难。"),
    ],
    "big5": [
        ("東湖街道路燈不亮", "東湖新村門口的路燈壞了一個月，晚上老人出門很不方便。"),
        ("西園社區垃圾清運不及時", "垃圾桶滿了三天沒人清運，氣味難聞，請環衛部門儘快處理。"),
        ("工地夜間施工噪音擾民", "學校旁邊的工地每天夜裡施工到凌晨兩點，孩子們睡不好覺。"),
        ("公車站牌損壞", "人民路公車站的站牌損壞，乘客看不到路線資訊。"),
        ("暖氣溫度不達標", "暖氣片溫度很低，室內只有14°C，長者容易感冒。"),
        ("河川汙染需要整治", "南河沿岸有工廠偷排汙水，河水發黑發臭，魚都死了。"),
        ("市場攤販佔用人行道", "市場外攤販佔用人行道，行人只能走車道。"),
    ],
}
ENCODINGS = tuple(TEXTS)
HEADERS = ("right", "none", "utf8", "latin1")  # what the Content-Type charset says
DECLARATIONS = ("kept", "removed", "lying")  # what the XML declaration / <meta> says
MODES = tuple(f"{h}-{d}" for h in HEADERS for d in DECLARATIONS)
# a lying declaration names another encoding: the other Chinese family, or one
# that latin-1 / UTF-8 templates put there
LIES = {"gb2312": "big5", "gbk": "utf-8", "gb18030": "iso-8859-1", "big5": "gbk"}
WITH_GUID = {"gb2312", "gb18030"}  # the others' entries have links only
FEED_ENTRIES = 4
# page dates: exact, and relative (昨天下午 is stored with the approximate flag)
PAGE_DATES = ("2026年11月20日 10:05", "昨天下午", "3小时前")
PAGE_DATES_TRADITIONAL = ("2026年11月20日 10:05", "昨天下午", "3小時前")
FRAGMENT_ENTRIES = 16
COLLIDING_ENTRIES = 3


@dataclass(frozen=True, slots=True)
class Doc:
    """One feed entry or page of the corpus: where it is and what must be stored."""

    mode: str
    encoding: str
    kind: str  # entry, page
    path: str  # the URL path of its link (an entry) or of the page
    title: str
    body: str
    approximate: bool = False  # its date is a relative day (昨天下午)


def check_texts() -> None:
    """Every text is what its encoding can carry, and the GBK and GB18030 sets carry
    something their smaller siblings cannot."""
    for enc, pairs in TEXTS.items():
        for title, body in pairs:
            (title + body).encode(enc)
    assert any(not _fits(t + b, "gb2312") for t, b in TEXTS["gbk"])
    assert any(not _fits(t + b, "gbk") for t, b in TEXTS["gb18030"])


def _fits(text: str, enc: str) -> bool:
    try:
        text.encode(enc)
    except UnicodeEncodeError:
        return False
    return True


def docs() -> list[Doc]:
    out = []
    for mode in MODES:
        for enc, pairs in TEXTS.items():
            for i, (title, body) in enumerate(pairs):
                if i < FEED_ENTRIES:
                    out.append(Doc(mode, enc, "entry", f"/{mode}/{enc}/n{i}.html", title, body))
                else:
                    n = i - FEED_ENTRIES
                    approx = PAGE_DATES[n % len(PAGE_DATES)] == "昨天下午"
                    out.append(
                        Doc(mode, enc, "page", f"/{mode}/{enc}/p{n}.html", title, body, approx)
                    )
    return out


def _charset(mode: str, enc: str) -> str:
    header = mode.split("-")[0]
    return {"right": f"; charset={enc}", "none": "", "utf8": "; charset=utf-8",
            "latin1": "; charset=iso-8859-1"}[header]  # fmt: skip


def _declared(mode: str, enc: str) -> str | None:
    decl = mode.split("-")[1]
    return {"kept": enc, "removed": None, "lying": LIES[enc]}[decl]


def feed(base: str, mode: str, enc: str) -> tuple[str, bytes]:
    """(Content-Type, body) of the encoding's RSS feed in ``mode``."""
    items = []
    for i, (title, body) in enumerate(TEXTS[enc][:FEED_ENTRIES]):
        link = f"{base}/{mode}/{enc}/n{i}.html"
        guid = f"<guid isPermaLink='false'>urn:{mode}:{enc}:{i}</guid>" if enc in WITH_GUID else ""
        when = format_datetime(BASE_TIME, usegmt=True)
        items.append(
            f"<item><title>{html.escape(title)}</title><link>{link}</link>{guid}"
            f"<description>{html.escape(body)}</description><pubDate>{when}</pubDate></item>"
        )
    declared = _declared(mode, enc)
    decl = f"<?xml version='1.0' encoding='{declared}'?>" if declared else "<?xml version='1.0'?>"
    text = (
        f"{decl}<rss version='2.0'><channel><title>公告 {enc}</title><link>{base}/</link>"
        f"<description>公告</description>{''.join(items)}</channel></rss>"
    )
    return "application/rss+xml" + _charset(mode, enc), text.encode(enc)


def page(mode: str, enc: str, n: int) -> tuple[str, bytes]:
    title, body = TEXTS[enc][FEED_ENTRIES + n]
    dates = PAGE_DATES_TRADITIONAL if enc == "big5" else PAGE_DATES
    declared = _declared(mode, enc)
    meta = f'<meta charset="{declared}">' if declared else ""
    text = (
        f"<html><head>{meta}<title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1><span class='posted'>{dates[n % len(dates)]}</span>"
        f"<div class='message'><p>{html.escape(body)}</p></div></body></html>"
    )
    return "text/html" + _charset(mode, enc), text.encode(enc)


def board_list(mode: str) -> bytes:
    n_pages = len(TEXTS["gb2312"]) - FEED_ENTRIES
    links = "".join(
        f"<li><a href='/{mode}/{enc}/p{n}.html'>{enc} {n}</a></li>"
        for enc in ENCODINGS
        for n in range(n_pages)
    )
    return f"<html><body><ul class='threads'>{links}</ul></body></html>".encode("ascii")


def fragment_feed(base: str) -> bytes:
    """16 entries linking to anchors of one digest page: only the fragment differs."""
    items = "".join(
        f"<item><title>每日简报第{i + 1}条</title>"
        f"<link>{base}/digest/2026-11-20.html#item-{i + 1}</link>"
        f"<description>今日第{i + 1}条群众诉求摘要：东湖街道第{i + 1}网格反映的问题已转办。</description></item>"
        for i in range(FRAGMENT_ENTRIES)
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>简报</title>"
        f"<link>{base}/</link><description>简报</description>{items}</channel></rss>"
    ).encode()


def colliding_feed(base: str) -> bytes:
    """3 different entries with one link, no guid, no fragment: nothing tells them
    apart but their text."""
    items = "".join(
        f"<item><title>停水通知（{n}）</title><link>{base}/notice.html</link>"
        f"<description>{n}片区明天上午停水检修，请居民提前储水。</description></item>"
        for n in ("东", "南", "西")[:COLLIDING_ENTRIES]
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>通知</title>"
        f"<link>{base}/</link><description>通知</description>{items}</channel></rss>"
    ).encode()


# a source that garbles its own text before serving it (valid UTF-8 of mojibake)
MOJIBAKE_REPAIRABLE = ("路灯坏了一个月", "东湖新村门口的路灯坏了一个月，晚上出门很不方便。")
MOJIBAKE_LOST = ("居民反映污水直排", "南河沿岸有工厂偷排污水，河水发黑发臭。")
MOJIBAKE_FINE = ("垃圾清运及时", "西园小区的垃圾现在每天清运两次。")


def mojibake_feed(base: str) -> bytes:
    """Three entries: GBK read as latin-1 (undone with certainty), UTF-8 read as
    windows-1252 with bytes lost to U+FFFD (cannot be undone), and a fine one."""

    def garble(text: str, real: str, wrong: str) -> str:
        return text.encode(real).decode(wrong, errors="replace")

    entries = [
        tuple(garble(t, "gbk", "latin-1") for t in MOJIBAKE_REPAIRABLE),
        tuple(garble(t, "utf-8", "cp1252") for t in MOJIBAKE_LOST),
        MOJIBAKE_FINE,
    ]
    items = "".join(
        f"<item><title>{html.escape(t)}</title><link>{base}/garbled/{i}.html</link>"
        f"<description>{html.escape(b)}</description></item>"
        for i, (t, b) in enumerate(entries)
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>乱</title>"
        f"<link>{base}/</link><description>乱</description>{items}</channel></rss>"
    ).encode()


def sources_yaml(base: str) -> str:
    """A board and a feed source per encoding for every mode, and the two key feeds."""
    out = ["sources:"]
    for mode in MODES:
        out.append(
            f"""  - name: enc-{mode}-board
    kind: board
    url: "{base}/{mode}/list.html"
    selectors:
      item_link: "ul.threads a::attr(href)"
      title: "h1::text"
      body: "div.message"
      time: "span.posted::text\""""
        )
        for enc in ENCODINGS:
            out.append(
                f"""  - name: enc-{mode}-{enc}
    kind: feed
    url: "{base}/{mode}/{enc}/feed.xml\""""
            )
    out.append(
        f"""  - name: fragment-feed
    kind: feed
    url: "{base}/digest/feed.xml"
  - name: colliding-feed
    kind: feed
    url: "{base}/notice/feed.xml"
  - name: mojibake-feed
    kind: feed
    url: "{base}/garbled/feed.xml"
    owner_team: donghu"""
    )
    return "\n".join(out) + "\n"


CORPUS_SOURCES = [f"enc-{m}-board" for m in MODES] + [
    f"enc-{m}-{e}" for m in MODES for e in ENCODINGS
]


class EncodingSite:
    """Serves the corpus on 127.0.0.1 (a context manager)."""

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> EncodingSite:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    found = site.answer(self.path.split("?", 1)[0])
                    status, ctype, body = (200, *found) if found else (404, "text/html", b"")
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def answer(self, path: str) -> tuple[str, bytes] | None:
        if path == "/digest/feed.xml":
            return "application/rss+xml; charset=utf-8", fragment_feed(self.url)
        if path == "/notice/feed.xml":
            return "application/rss+xml; charset=utf-8", colliding_feed(self.url)
        if path == "/garbled/feed.xml":
            return "application/rss+xml; charset=utf-8", mojibake_feed(self.url)
        parts = path.strip("/").split("/")
        if not parts or parts[0] not in MODES:
            return None
        mode = parts[0]
        if parts[1:] == ["list.html"]:
            return "text/html; charset=utf-8", board_list(mode)
        if len(parts) == 3 and parts[1] in ENCODINGS:
            enc, name = parts[1], parts[2]
            if name == "feed.xml":
                return feed(self.url, mode, enc)
            if name.startswith("p") and name.endswith(".html") and name[1:-5].isdigit():
                n = int(name[1:-5])
                if FEED_ENTRIES + n < len(TEXTS[enc]):
                    return page(mode, enc, n)
        return None


def write_corpus(out: Path) -> int:
    """Write every file the site serves under ``out`` (a .ctype file beside each)."""
    check_texts()
    n = 0
    with EncodingSite() as site:
        paths = ["/digest/feed.xml", "/notice/feed.xml", "/garbled/feed.xml"]
        for mode in MODES:
            paths.append(f"/{mode}/list.html")
            for enc in ENCODINGS:
                paths.append(f"/{mode}/{enc}/feed.xml")
                paths += [f"/{mode}/{enc}/p{i}.html" for i in range(3)]
        for path in paths:
            found = site.answer(path)
            assert found is not None, path
            target = out / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(found[1])
            target.with_name(target.name + ".ctype").write_text(found[0], encoding="ascii")
            n += 1
    return n


if __name__ == "__main__":
    print(write_corpus(Path(sys.argv[1])), "files written")
