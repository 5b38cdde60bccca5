"""Simple PostSinks: in memory, for tests, dry runs and the `scrapy crawl` default-less case."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from store.posts import post_key
from yuqing.contracts import CrawledPost, DeadLetter, Outcome
from yuqing.settings import AppConfig


class MemorySink:
    """Keeps what it is given. ``seen`` knows the URLs it was seeded with and accepted."""

    def __init__(
        self, seen: Iterable[tuple[str, str]] = (), state: dict[str, dict[str, Any]] | None = None
    ) -> None:
        self.state: dict[str, dict[str, Any]] = dict(state or {})  # crawl state per source
        self.posts: list[CrawledPost] = []
        self.dead_letters: list[DeadLetter] = []
        self._seen: set[tuple[str, str]] = set(seen)
        self._fingerprints: dict[tuple[str, str], tuple[Any, ...]] = {}
        self.closed = False

    def accept(self, post: CrawledPost) -> Outcome:
        key = (post.source, post_key(post))
        fp = (post.title, post.text, post.reply_text, post.likes, post.replies)
        self.posts.append(post)
        if post.url:
            self._seen.add((post.source, post.url))
        before = self._fingerprints.get(key)
        self._fingerprints[key] = fp
        if before is None:
            return Outcome.NEW
        return Outcome.UNCHANGED if before == fp else Outcome.UPDATED

    def accept_many(self, posts: Sequence[CrawledPost]) -> list[Outcome]:
        return [self.accept(p) for p in posts]

    def reject(self, letter: DeadLetter) -> None:
        self.dead_letters.append(letter)

    def seen(self, source: str, url: str) -> bool:
        return (source, url) in self._seen

    def load_state(self, source: str) -> dict[str, Any]:
        return dict(self.state.get(source, {}))

    def save_state(self, source: str, state: dict[str, Any]) -> None:
        self.state[source] = dict(state)

    def close(self) -> None:
        self.closed = True


def open_memory_sink(config: AppConfig) -> MemorySink:
    """A YUQING_SINK_FACTORY for trying a source without a store."""
    return MemorySink()


def to_json(obj: CrawledPost | DeadLetter) -> dict[str, Any]:
    """A post or dead letter as JSON-ready data (datetimes in ISO 8601), without the
    unmasked text a post carries to its sink."""
    out = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(obj).items()}
    out.pop("raw", None)
    return out
