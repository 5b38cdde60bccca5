"""RSS and Atom feeds, read with feedparser, fetched with conditional requests."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import feedparser
from scrapy import Request
from scrapy.http import Response

from crawler.items import RawPost
from crawler.spiders.base import SourceSpider, _text_of, canonical_url
from yuqing.contracts import DeadLetter

# bozo exceptions that say nothing is wrong with the entries themselves
_HARMLESS = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)


def _entry_time(entry: Any, *keys: str) -> datetime | str | None:
    for key in keys:
        parsed = entry.get(f"{key}_parsed")
        if parsed:  # feedparser normalises to UTC
            return datetime(*parsed[:6]).replace(tzinfo=UTC)
    for key in keys:
        if entry.get(key):
            return str(entry.get(key))  # let our parser try what feedparser could not
    return None


class FeedSpider(SourceSpider):
    """Every entry of the feed goes to the sink; it knows what is unchanged.

    The feed's ETag and Last-Modified are kept in the crawl state and sent back,
    so an unchanged feed costs one 304 and no parsing.
    """

    name = "feed"
    kind = "feed"
    _validators: dict[str, str] | None = None

    async def start(self) -> AsyncIterator[Any]:
        headers = {}
        if self.crawl_state.get("etag"):
            headers["If-None-Match"] = self.crawl_state["etag"]
        if self.crawl_state.get("last_modified"):
            headers["If-Modified-Since"] = self.crawl_state["last_modified"]
        yield Request(
            self.start_url,
            headers=headers,
            callback=self.parse_feed,
            errback=self.failed,
            meta={"handle_httpstatus_list": [304]},
        )

    def finish_state(self, state: dict[str, Any]) -> None:
        super().finish_state(state)
        if self._validators is not None:  # a 200 whose entries all reached the sink
            state.update(self._validators)

    def parse_feed(self, response: Response) -> Iterator[Any]:
        self.count_page()
        if response.status == 304:
            self.count("not_modified")
            self.count("productive")
            return
        if not response.body:
            yield self.empty(response)
            return
        ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        parsed = feedparser.parse(response.body, response_headers={"content-type": ctype})
        bozo = parsed.get("bozo_exception")
        if not parsed.entries or (bozo is not None and not isinstance(bozo, _HARMLESS)):
            self.count("errors")
            why = bozo or "no entries"
            yield DeadLetter(
                stage="parse",
                source=self.source.name,
                reason=f"not a well-formed feed ({len(parsed.entries)} entries recovered): {why}",
                payload={"url": response.url, "body": _text_of(response)[:20_000]},
                url=response.url,
            )
            if not parsed.entries:
                return
        else:
            self._validators = {
                "etag": (response.headers.get(b"ETag") or b"").decode("latin-1"),
                "last_modified": (response.headers.get(b"Last-Modified") or b"").decode("latin-1"),
            }
        self.count("productive")
        for entry in parsed.entries:
            try:
                link = entry.get("link")
                content = entry.get("content") or []
                body = content[0].get("value", "") if content else entry.get("summary", "")
                title = entry.get("title", "")
                yield RawPost(
                    source=self.source.name,
                    url=canonical_url(response.urljoin(link)) if link else None,
                    title=html.escape(title),
                    body=body or html.escape(title),
                    external_id=entry.get("id") or link,
                    author=html.escape(entry["author"]) if entry.get("author") else None,
                    time=_entry_time(entry, "published", "updated"),
                    area=self.source.area,
                )
            except Exception as exc:
                self._validators = None  # fetch it whole again next time
                yield self.broken(response, exc)
