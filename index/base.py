"""The search stage's one interface: query, hit and result types and the backend protocol.

Two backends implement :class:`SearchBackend`: the embedded SQLite FTS5 index
(default, no server) and Elasticsearch. Both are fed space-joined jieba tokens
from the same injected ``tokenize`` callable, so the segmenter that serves
queries is always the one that built the index.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from yuqing.contracts import IndexDoc

Tokenize = Callable[[str], list[str]]
Sort = Literal["relevance", "newest"]
Interval = Literal["day", "week"]

FACET_FIELDS: tuple[str, ...] = ("category", "severity", "area", "source")


class QueryError(ValueError):
    """A malformed search query; the message is meant for the person who typed it."""


class BackendError(RuntimeError):
    """The index cannot be reached or refused a whole request (not one document)."""


@dataclass(slots=True)
class SearchQuery:
    """What to search for. ``text`` uses the query language of :mod:`index.query`.

    ``since`` is inclusive and ``until`` exclusive; naive datetimes are read in
    the backend's time zone. ``severity_min=3`` means tier II or more serious.
    """

    text: str = ""
    category: str | None = None
    severity_min: int | None = None
    severity: int | None = None
    area: str | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    sort: Sort = "relevance"
    limit: int = 20
    offset: int = 0
    facets: bool = True
    histogram: Interval | None = None
    expand: bool = True  # search the synonym table's words for what was typed
    recall: bool = False  # "everything about X": any one word matches, newest first


@dataclass(slots=True)
class SearchHit:
    """One matching post. ``snippet`` and ``title_html`` are safe HTML: escaped text
    with the matched words wrapped in ``<mark>…</mark>``."""

    id: int
    title: str
    text: str
    snippet: str
    category: str | None
    severity: int
    area: str | None
    source: str
    published_at: datetime | None
    url: str | None
    score: float
    title_html: str = ""
    status: str = "new"
    event_id: int | None = None
    expanded: list[str] = field(default_factory=list)  # synonyms this post matched by


@dataclass(slots=True)
class SearchResult:
    """A page of hits, the total match count, facet counts and an optional histogram.

    ``facets`` maps category/severity/area/source to value -> count over all
    matches (severity keys are "1".."4"); ``histogram`` lists (bucket start in
    the backend's time zone, count), gaps filled with zero.
    """

    total: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    histogram: list[tuple[datetime, int]] = field(default_factory=list)
    expansions: dict[str, list[str]] = field(default_factory=dict)  # typed word -> synonyms
    partial: bool = False  # posts having only some of several words are in (few had all)


@runtime_checkable
class SearchBackend(Protocol):
    """What the store's outbox and the console need from an index."""

    def index(self, docs: Sequence[IndexDoc]) -> list[tuple[int, str]]:
        """Upsert documents; returns (id, reason) for each one that failed.

        Raises :class:`BackendError` only when the whole batch could not be sent.
        """
        ...

    def delete(self, ids: Iterable[int]) -> None: ...

    def search(self, q: SearchQuery) -> SearchResult:
        """Raises :class:`QueryError` for a malformed query."""
        ...

    def count(self) -> int: ...

    def clear(self) -> None: ...

    def close(self) -> None: ...

    def ping(self) -> bool: ...

    def describe(self) -> dict[str, str]:
        """Where the index lives, for ``yuqing index status`` (no secrets)."""
        ...

    def begin_rebuild(self) -> Rebuild:
        """Start building a fresh index beside the live one, which keeps serving."""
        ...


@runtime_checkable
class Rebuild(Protocol):
    """A fresh index being built while the old one serves; ``commit`` swaps them
    atomically (readers see the old index or the new one, never an empty one)."""

    def index(self, docs: Sequence[IndexDoc]) -> list[tuple[int, str]]: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


def resolve_tz(tz: str | tzinfo) -> tzinfo:
    return ZoneInfo(tz) if isinstance(tz, str) else tz


def validate_doc(doc: Any) -> str | None:
    """Why ``doc`` cannot be indexed, or None."""
    if isinstance(doc.id, bool) or not isinstance(doc.id, int):
        return f"id must be an integer, got {doc.id!r}"
    if not isinstance(doc.title, str) or not isinstance(doc.text, str):
        return "title and text must be strings"
    if not isinstance(doc.source, str) or not doc.source:
        return "source must be a non-empty string"
    if isinstance(doc.severity, bool) or doc.severity not in (1, 2, 3, 4):
        return f"severity must be 1..4, got {doc.severity!r}"
    if doc.published_at is not None and not isinstance(doc.published_at, datetime):
        return f"published_at must be a datetime, got {type(doc.published_at).__name__}"
    for name in ("category", "area", "url", "status"):
        v = getattr(doc, name)
        if v is not None and not isinstance(v, str):
            return f"{name} must be a string, got {type(v).__name__}"
    return None
