"""RSS and Atom feeds, read with feedparser, fetched with conditional requests."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import feedparser
from scrapy import Request
from scrapy.http import Response

from crawler.encoding import as_utf8_xml, decode_body
from crawler.items import RawPost
from crawler.middlewares import header_charset
from crawler.spiders.base import SourceSpider, _text_of, page_url, url_with_fragment
from store.posts import IDENTITY_KEY
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
        # decoded here, by the one path pages take too: feedparser trusts an HTTP
        # charset of iso-8859-1 over the bytes (and latin-1 decodes anything)
        decoded = decode_body(response.body, header_charset(response), self.source.encoding)
        if decoded.mojibake:
            self.count("mojibake_pages")
            self.logger.warning("%s still reads as mojibake: %s", response.url, decoded.mojibake)
        parsed = feedparser.parse(
            as_utf8_xml(decoded.text),
            response_headers={"content-type": "application/xml; charset=utf-8"},
        )
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
        identities = _identities(response, parsed.entries)
        for entry, identity in zip(parsed.entries, identities, strict=True):
            try:
                link = entry.get("link")
                content = entry.get("content") or []
                body = content[0].get("value", "") if content else entry.get("summary", "")
                title = entry.get("title", "")
                yield RawPost(
                    source=self.source.name,
                    url=page_url(response.urljoin(link)) if link else None,
                    title=html.escape(title),
                    body=body or html.escape(title),
                    external_id=entry.get("id") or link,
                    author=html.escape(entry["author"]) if entry.get("author") else None,
                    time=_entry_time(entry, "published", "updated"),
                    area=self.source.area,
                    extra={IDENTITY_KEY: identity} if identity else {},
                )
            except Exception as exc:
                self._validators = None  # fetch it whole again next time
                yield self.broken(response, exc)


def _identities(response: Response, entries: list[Any]) -> list[str | None]:
    """Per entry, an identity beyond its link when the link (fragment dropped) is
    shared with another entry of the feed: its guid/id when no other entry has it, else its link with the fragment when it has one. None where the link
    tells entries apart (so a feed entry and the board thread it links to stay one
    post) or nothing does (the sink pipeline then reports the collision and keeps
    both: crawler.pipelines)."""
    links: list[tuple[str, str] | None] = []
    for entry in entries:
        try:
            full = response.urljoin(entry.get("link")) if entry.get("link") else None
            links.append((page_url(full), url_with_fragment(full)) if full else None)
        except ValueError:  # a broken link: its RawPost fails and is dead-lettered
            links.append(None)
    shared = Counter(link[0] for link in links if link)
    guids = Counter(str(e.get("id") or "") for e in entries)  # a guid must be the feed's only
    out: list[str | None] = []
    for entry, link in zip(entries, links, strict=True):
        if link is None or shared[link[0]] < 2:
            out.append(None)
            continue
        guid = str(entry.get("id") or "")
        if guid and guids[guid] == 1:
            out.append(f"guid:{guid}")
        elif link[1] != link[0]:
            out.append(f"link:{link[1]}")
        else:
            out.append(None)
    return out
