"""JSON endpoints (forum and social APIs) described by a field mapping in sources.yaml.

- name: county-forum
  kind: api
  url: https://example.gov.cn/api/posts
  api:
    items: data.list                  # dotted path of the list of posts
    pagination: {kind: cursor, param: cursor, cursor_path: data.next}
    headers: {Authorization: "Bearer ${FORUM_TOKEN}"}   # resolved by the settings loader
  fields: {url: link, external_id: id, title: subject, text: content.html,
           author: user.nick, published_at: created, likes: stats.likes}
"""

from __future__ import annotations

import html
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

from scrapy import Request
from scrapy.http import Response
from w3lib.url import add_or_replace_parameter

from crawler.encoding import decode_body
from crawler.items import RawPost
from crawler.middlewares import header_charset
from crawler.spiders.base import SourceSpider, _text_of, page_url
from yuqing.contracts import DeadLetter
from yuqing.settings import ApiSpec

API_FIELDS = (
    "url",
    "external_id",
    "title",
    "text",
    "author",
    "published_at",
    "likes",
    "replies",
    "reply",
    "reply_at",
    "area",
)
_MISSING = object()


def dotted(data: Any, path: str) -> Any:
    """``data["a"]["b"][0]`` for ``"a.b.0"``; ``_MISSING`` when any step is absent."""
    if not path:
        return data
    for part in path.split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif (
            isinstance(data, list)
            and part.lstrip("-").isdigit()
            and -len(data) <= int(part) < len(data)
        ):
            data = data[int(part)]
        else:
            return _MISSING
    return data


def _time(value: Any) -> Any:
    """Epoch seconds (or milliseconds) as aware UTC; strings go to the date parser."""
    if isinstance(value, bool) or value is None or value is _MISSING:
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 10**11 else value
        return datetime.fromtimestamp(seconds, UTC)
    return str(value)


class ApiSpider(SourceSpider):
    """Page through a JSON API (cursor or page numbers) and map each item to a post.

    Incremental like the board: a page whose every post URL the sink has seen ends
    the paging (unless the last crawl was killed).
    """

    name = "api"
    kind = "api"

    @property
    def spec(self) -> ApiSpec:
        assert self.source.api is not None  # Source validation guarantees it
        return self.source.api

    def _request(self, page: int, cursor: str | None) -> Request:
        url = self.start_url
        pg = self.spec.pagination
        if pg is not None:
            if pg.kind == "page":
                url = add_or_replace_parameter(url, pg.param, str(pg.start + page - 1))
            elif cursor is not None:
                url = add_or_replace_parameter(url, pg.param, cursor)
            if pg.size_param and pg.size:
                url = add_or_replace_parameter(url, pg.size_param, str(pg.size))
        headers = {"Accept": "application/json", **self.spec.headers}
        cookies: dict[str | bytes, Any] = {k: v for k, v in self.spec.cookies.items()}
        return Request(
            url,
            headers=headers,
            cookies=cookies,
            callback=self.parse_page,
            errback=self.failed,
            cb_kwargs={"page": page},
        )

    async def start(self) -> AsyncIterator[Any]:
        yield self._request(1, None)

    def parse_page(self, response: Response, page: int) -> Iterator[Any]:
        self.count_page()
        if not response.body:
            yield self.empty(response)
            return
        try:
            try:
                data = json.loads(response.body)  # UTF-8/16/32, as JSON should be
            except UnicodeDecodeError:  # an old system's GBK JSON: the pages' decoding rule
                data = json.loads(
                    decode_body(response.body, header_charset(response), self.source.encoding).text
                )
        except ValueError as exc:
            self.count("errors")
            yield DeadLetter(
                stage="parse",
                source=self.source.name,
                reason=f"not JSON: {exc}",
                payload={"url": response.url, "body": _text_of(response)[:20_000]},
                url=response.url,
            )
            return
        items = dotted(data, self.spec.items)
        if not isinstance(items, list):
            yield self.miss(
                response,
                f"page {page}: items path {self.spec.items!r} is not a list in the response",
            )
            return
        if not items:
            return  # the end of the listing
        self.count("productive")
        urls: list[str] = []
        for number, item in enumerate(items):
            try:
                raw = self._post(item, response)
            except Exception as exc:
                self.count("errors")
                yield DeadLetter(
                    stage="parse",
                    source=self.source.name,
                    reason=f"item {number} on page {page}: {type(exc).__name__}: {exc}",
                    payload={"url": response.url, "item": item},
                    url=response.url,
                )
                continue
            if raw.url:
                urls.append(raw.url)
            yield raw
        if urls and all(self.sink.seen(self.source.name, u) for u in urls) and not self.resuming:
            self.logger.info("page %d: all posts already seen, stop paging", page)
            return
        pg = self.spec.pagination
        if pg is None or page >= self.source.max_pages:
            return
        if pg.kind == "page":
            yield self._request(page + 1, None)
            return
        cursor = dotted(data, pg.cursor_path or "")
        if cursor not in (None, "", False, _MISSING):
            yield self._request(page + 1, str(cursor))

    def _post(self, item: Any, response: Response) -> RawPost:
        if not isinstance(item, dict):
            raise ValueError(f"expected an object, got {type(item).__name__}")
        f = self.source.fields

        def get(name: str) -> Any:
            value = dotted(item, f[name]) if name in f else _MISSING
            return None if value is _MISSING else value

        url = get("url")
        external_id = get("external_id")
        title, text = get("title"), get("text")
        if title is None and text is None:
            raise ValueError(
                f"neither title ({f.get('title')!r}) nor text ({f.get('text')!r}) is in the item"
            )
        return RawPost(
            source=self.source.name,
            url=page_url(response.urljoin(str(url))) if url else None,
            title=html.escape(str(title or "")),
            body=str(text) if text is not None else html.escape(str(title)),
            external_id=str(external_id) if external_id is not None else None,
            author=html.escape(str(get("author"))) if get("author") is not None else None,
            time=_time(get("published_at")),
            likes=get("likes"),
            replies=get("replies"),
            reply=str(get("reply")) if get("reply") is not None else None,
            reply_time=_time(get("reply_at")),
            area=str(get("area")) if get("area") else self.source.area,
        )
