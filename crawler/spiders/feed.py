"""RSS and Atom feeds, read with feedparser."""

from __future__ import annotations

import html
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import feedparser
from scrapy import Request
from scrapy.http import Response

from crawler.items import RawPost
from crawler.spiders.base import SourceSpider, canonical_url
from yuqing.contracts import DeadLetter


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
    """Every entry of the feed goes to the sink; it knows what is unchanged."""

    name = "feed"
    kind = "feed"

    async def start(self) -> AsyncIterator[Any]:
        yield Request(self.start_url, callback=self.parse_feed, errback=self.failed)

    def parse_feed(self, response: Response) -> Iterator[Any]:
        self.count_page()
        ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        parsed = feedparser.parse(response.body, response_headers={"content-type": ctype})
        if not parsed.entries:
            why = parsed.get("bozo_exception") or "no entries"
            yield DeadLetter(
                stage="parse",
                source=self.source.name,
                reason=f"not a usable feed: {why}",
                payload={
                    "url": response.url,
                    "body": response.text[:20_000] if hasattr(response, "text") else "",
                },
                url=response.url,
            )
            return
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
                yield self.broken(response, exc)
