"""The sink the crawler hands posts to: place, classify, store (and queue for the index)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from analysis.linking import Linker
from runtime.app import App, NoModelError
from store.posts import (
    Outcome,
    UpsertResult,
    add_dead_letter,
    is_seen,
    upsert_posts,
)
from store.raw import keep_raw_many
from yuqing.contracts import CrawledPost, DeadLetter, SinkUnavailable
from yuqing.settings import AppConfig, load_config, resolve_config_dir

log = logging.getLogger("yuqing.ingest")


class Ingestor:
    """A PostSink writing to the store. Each batch is one transaction, so a killed
    crawl keeps every batch committed before it died and none of a batch half."""

    def __init__(self, app: App, *, lazy: bool = False) -> None:
        """``lazy``: load the classifier at the first post, not now. A crawl that finds
        nothing new (most scheduled runs of a feed or board) then never pays for loading
        scikit-learn and the model; one whose model is unusable stops at its first
        batch (SinkUnavailable), storing and dead-lettering nothing."""
        self.app = app
        self._model: Any = None
        self.unavailable: str | None = None  # why the lazy model could not be loaded
        if not lazy:
            self._model = app.model()
        self.rewrite = app.url_rewrite()
        self.accepted = 0
        self.new = 0
        self.updated = 0
        self.rejected = 0

    @property
    def model(self) -> Any:
        if self._model is None:
            try:
                self._model = self.app.model()
            except NoModelError as exc:
                self.unavailable = str(exc)
                raise SinkUnavailable(str(exc)) from exc
        return self._model

    def accept(self, post: CrawledPost) -> Outcome:
        return self.accept_many([post])[0]

    def accept_many(self, posts: Sequence[CrawledPost]) -> list[Outcome]:
        """Place, classify (together: several times faster) and store ``posts`` in one
        transaction, with bulk upserts of the posts, their sightings, the index outbox
        and the encrypted raw text. Returns, per post, whether it was stored new,
        updated or found unchanged (an Outcome: false only for unchanged).

        All or nothing: when the batch fails nothing of it is kept, and the caller
        (the crawler's SinkPipeline) stores the posts one by one to find the one at
        fault, which becomes a dead letter."""
        prepared = [self._prepare(p) for p in posts]
        classes = self.model.classify_many(
            [p.title for p, _ in prepared],
            [p.text for p, _ in prepared],
            likes=[p.likes for p, _ in prepared],
            replies=[p.replies for p, _ in prepared],
        )
        negativity = self.app.negativity
        if negativity is not None:
            scores = negativity.score_many(f"{p.title}\n{p.text}" for p, _ in prepared)
            for cls, score in zip(classes, scores, strict=True):
                cls.negativity = score
        items = [(post, cls) for (post, _), cls in zip(prepared, classes, strict=True)]
        sealed = [self.app.privacy.encrypt(raw) if raw is not None else None for _, raw in prepared]

        def store_batch(s: Session) -> list[UpsertResult]:
            now = self.app.now()
            results = upsert_posts(s, items, now, self.rewrite, Linker)
            keep_raw_many(
                s,
                [
                    (r.post_id, ct)
                    for r, ct in zip(results, sealed, strict=True)
                    if ct is not None and r.changed
                ],
                now,
            )
            return results

        # a database restart mid-batch is waited out: the batch is stored, not lost
        what = f"storing {len(items)} posts of {posts[0].source}" if posts else "storing posts"
        results = self.app.store.write(store_batch, what=what) if items else []
        self.accepted += len(results)
        self.new += sum(r.created for r in results)
        self.updated += sum(r.changed and not r.created for r in results)
        return [r.outcome for r in results]

    def _prepare(self, post: CrawledPost) -> tuple[CrawledPost, dict[str, Any] | None]:
        # a copy: the caller's post keeps its unmasked part for a retry; the unmasked
        # text never reaches a column in clear: it is stored encrypted
        raw = post.raw.value if post.raw is not None else None
        post = dataclasses.replace(post, extra=dict(post.extra), raw=None)
        post.author = self.app.privacy.pseudonym((raw or {}).get("author") or post.author)
        gazetteer = self.app.gazetteer
        # title apart from body: of two unrelated places named, the title's wins
        placement = gazetteer.place(post.text, post.area, title=post.title)
        if placement.area != post.area:
            post.extra.setdefault("area_reason", placement.matched)
        post.area = placement.area
        if placement.matched and (gazetteer.depth(placement.area) or 0) >= 1:
            # near-duplicates are linked only among posts naming the same place
            post.scope = placement.area
        return post, raw

    def reject(self, letter: DeadLetter) -> None:
        self.app.store.write(
            lambda s: add_dead_letter(s, letter, self.app.now()), what="keeping a dead letter"
        )
        self.rejected += 1
        log.warning("dead letter from %s: %s", letter.source, letter.reason)

    def seen(self, source: str, url: str) -> bool:
        return self.app.store.write(
            lambda s: is_seen(s, source, url, self.rewrite), what="reading sightings"
        )

    def load_state(self, source: str) -> dict[str, Any]:
        """The source's crawl state (crawler.state), kept in ``sources.state``."""
        from store.models import SourceRow

        def load(s: Session) -> dict[str, Any]:
            row = s.scalars(select(SourceRow).where(SourceRow.name == source)).first()
            return dict(row.state or {}) if row is not None else {}

        return self.app.store.write(load, what="reading crawl state")

    def save_state(self, source: str, state: dict[str, Any]) -> None:
        def save(s: Session) -> None:
            row = source_row(s, self.app.config, source)
            row.state = dict(state)

        self.app.store.write(save, what="saving crawl state")

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
    """Factory used by `scrapy crawl` (YUQING_SINK_FACTORY) and the crawl child process:
    the model is loaded at the first new post (a crawl finding nothing new loads none)."""
    if config is None:
        config = load_config(resolve_config_dir(None, os.environ), os.environ)
    return Ingestor(App(config, demo_url=demo_url), lazy=True)
