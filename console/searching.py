"""Search input shared by the search page and the JSON API."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from index.base import BackendError, QueryError, SearchQuery, SearchResult
from yuqing.app import App
from yuqing.contracts import parse_tier

MAX_OFFSET = 100_000


class SearchUnavailable(RuntimeError):
    """The index cannot answer right now (HTTP 503); the message says why."""


@dataclass(slots=True)
class SearchParams:
    q: str = ""
    category: str | None = None
    severity: int | None = None
    severity_min: int | None = None
    area: str | None = None
    source: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 20
    offset: int = 0


def parse_severity(value: str | None, name: str = "severity") -> int | None:
    """'I'..'IV', '1'..'4', 'red' or '特别重大' -> 1..4; empty -> None."""
    if value is None or not value.strip():
        return None
    try:
        return parse_tier(value)
    except ValueError as exc:
        raise QueryError(f"{name}: {exc}") from None


def parse_when(value: str | None, name: str = "since") -> datetime | None:
    """YYYY-MM-DD or ISO 8601; naive values are local time (the backend's zone)."""
    if value is None or not value.strip():
        return None
    v = value.strip().replace("/", "-")
    try:
        if re.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", v):
            y, m, d = (int(x) for x in v.split("-"))
            return datetime(y, m, d)
        return datetime.fromisoformat(v)
    except ValueError:
        raise QueryError(f"{name}: {value!r} is not a date; use YYYY-MM-DD") from None


def empty_filter(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def run_search(app: App, p: SearchParams) -> SearchResult:
    """Raises QueryError for bad input, SearchUnavailable when the index cannot answer."""
    if p.offset > MAX_OFFSET:
        raise QueryError(f"offset is too large; the limit is {MAX_OFFSET}")
    q = SearchQuery(
        text=p.q,
        category=p.category,
        severity=p.severity,
        severity_min=p.severity_min,
        area=p.area,
        source=p.source,
        since=p.since,
        until=p.until,
        limit=p.limit,
        offset=p.offset,
    )
    try:
        backend = app.index
    except (ImportError, BackendError, OSError) as exc:
        raise SearchUnavailable(f"检索服务暂不可用：{exc}") from exc
    try:
        return backend.search(q)
    except BackendError as exc:
        raise SearchUnavailable(f"检索服务暂不可用：{exc}") from exc
