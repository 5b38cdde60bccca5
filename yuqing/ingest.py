"""The sink the crawler hands posts to: place, classify, store (and queue for the index)."""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store.posts import add_dead_letter, is_seen, upsert_post
from yuqing.app import App
from yuqing.contracts import CrawledPost, DeadLetter
from yuqing.settings import AppConfig, load_config, resolve_config_dir

log = logging.getLogger("yuqing.ingest")


class Ingestor:
    """A PostSink writing to the store. Every post is committed on its own so a
    killed crawl keeps everything accepted before it died."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.model = app.model()
        self.rewrite = app.url_rewrite()
        self.accepted = 0
        self.new = 0
        self.rejected = 0

    def accept(self, post: CrawledPost) -> bool:
        gazetteer = self.app.gazetteer
        placement = gazetteer.place(f"{post.title}\n{post.text}", post.area)
        if placement.area != post.area:
            post.extra.setdefault("area_reason", placement.matched)
        post.area = placement.area
        if placement.matched and (gazetteer.depth(placement.area) or 0) >= 1:
            # near-duplicates are linked only among posts naming the same place
            post.extra["near_dup_scope"] = placement.area
        cls = self.model.classify(post.title, post.text, likes=post.likes, replies=post.replies)
        with self.app.store.session() as s:
            result = upsert_post(s, post, cls, self.app.now(), self.rewrite)
        self.accepted += 1
        self.new += int(result.created)
        return result.changed

    def reject(self, letter: DeadLetter) -> None:
        with self.app.store.session() as s:
            add_dead_letter(s, letter, self.app.now())
        self.rejected += 1
        log.warning("dead letter from %s: %s", letter.source, letter.reason)

    def seen(self, source: str, url: str) -> bool:
        with self.app.store.session() as s:
            return is_seen(s, source, url, self.rewrite)

    def load_state(self, source: str) -> dict[str, Any]:
        """The source's crawl state (crawler.state), kept in ``sources.state``."""
        from store.models import SourceRow

        with self.app.store.session() as s:
            row = s.scalars(select(SourceRow).where(SourceRow.name == source)).first()
            return dict(row.state or {}) if row is not None else {}

    def save_state(self, source: str, state: dict[str, Any]) -> None:
        with self.app.store.session() as s:
            row = source_row(s, self.app.config, source)
            row.state = dict(state)

    def close(self) -> None:
        self.app.close()


def source_row(session: Session, config: AppConfig, name: str) -> Any:
    """The ``sources`` row of ``name``, created when missing (locked on PostgreSQL)."""
    from store.models import SourceRow

    row = session.scalars(select(SourceRow).where(SourceRow.name == name).with_for_update()).first()
    if row is None:
        kind = "?"
        with contextlib.suppress(KeyError):
            kind = config.source(name).kind
        row = SourceRow(name=name, kind=kind, state={}, crawls=0, items_total=0)
        session.add(row)
        session.flush()
    return row


def open_sink(config: AppConfig | None = None, demo_url: str | None = None) -> Ingestor:
    """Factory used by `scrapy crawl` (YUQING_SINK_FACTORY) and the crawl child process."""
    if config is None:
        config = load_config(resolve_config_dir(None, os.environ), os.environ)
    return Ingestor(App(config, demo_url=demo_url))
