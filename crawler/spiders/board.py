"""List + detail boards (留言板, 论坛) described by CSS/XPath selectors in sources.yaml."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from scrapy import Request
from scrapy.http import Response

from crawler.items import RawPost
from crawler.spiders.base import (
    SourceSpider,
    extract_markup,
    extract_text,
    page_url,
    select,
)


class BoardSpider(SourceSpider):
    """Walk list pages (newest first) and read each unseen thread.

    Incremental: a list page whose every thread the sink has already seen ends
    the paging, so a regular crawl costs one or two list pages. After a crawl
    that did not finish (killed), every list page is walked once more.
    """

    name = "board"
    kind = "board"

    async def start(self) -> AsyncIterator[Any]:
        yield Request(
            self.start_url, callback=self.parse_list, errback=self.failed, cb_kwargs={"page": 1}
        )

    def parse_list(self, response: Response, page: int) -> Iterator[Any]:
        self.count_page()
        sel = self.source.selectors
        assert sel is not None  # Source validation guarantees it for boards
        if not response.body:
            yield self.empty(response)
            return
        try:
            hrefs = select(response, sel.item_link).getall()
            next_href = extract_text(response, sel.next_page)
        except Exception as exc:  # e.g. an invalid selector in config
            yield self.broken(response, exc)
            return
        links: dict[str, None] = {}
        for href in (h.strip() for h in hrefs):
            if not href:
                continue
            try:
                links[page_url(response.urljoin(href))] = None
            except ValueError as exc:  # one broken link must not lose the rest of the page
                yield self.bad_link(response, href, exc)
        if not links:
            yield self.miss(
                response,
                f"list page {page} has no links for item_link {sel.item_link!r} (site changed?)",
            )
            return
        self.count("productive")
        fresh = [u for u in links if not self.sink.seen(self.source.name, u)]
        for url in fresh:
            try:
                detail = Request(url, callback=self.parse_detail, errback=self.failed)
            except ValueError as exc:  # "a:", "mailto:": not a page to fetch
                yield self.bad_link(response, url, exc)
                continue
            yield detail
        if not fresh and not self.resuming:
            self.logger.info(
                "list page %d: all %d threads already seen, stop paging", page, len(links)
            )
            self.crawler.stats.set_value("yuqing/stopped_at_page", page)
            return
        if next_href and page < self.source.max_pages:
            try:
                next_page = Request(
                    response.urljoin(next_href),
                    callback=self.parse_list,
                    errback=self.failed,
                    cb_kwargs={"page": page + 1},
                )
            except ValueError as exc:
                yield self.bad_link(response, next_href, exc)
                return
            yield next_page

    def parse_detail(self, response: Response) -> Iterator[Any]:
        self.count_page()
        sel = self.source.selectors
        assert sel is not None
        if not response.body:
            yield self.empty(response)
            return
        try:
            item = RawPost(
                source=self.source.name,
                url=page_url(response.url),
                title=extract_markup(response, sel.title) or "",
                body=extract_markup(response, sel.body) or "",
                author=extract_markup(response, sel.author),
                time=extract_markup(response, sel.time),
                likes=extract_text(response, sel.likes),
                replies=extract_text(response, sel.replies),
                reply=extract_markup(response, sel.reply),
                reply_time=extract_markup(response, sel.reply_time),
                area=self.source.area,
                extra={"encoding": getattr(response, "encoding", None)},
            )
        except Exception as exc:
            yield self.broken(response, exc)
            return
        if not item.title.strip() and not item.body.strip():
            yield self.miss(
                response, f"detail page: title {sel.title!r} and body {sel.body!r} match nothing"
            )
            return
        self.count("productive")
        yield item
