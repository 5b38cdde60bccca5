"""Search: one interface (:mod:`index.base`), two backends (embedded FTS5, Elasticsearch)."""

from index.base import (
    BackendError,
    QueryError,
    SearchBackend,
    SearchHit,
    SearchQuery,
    SearchResult,
    open_backend,
)

__all__ = [
    "BackendError",
    "QueryError",
    "SearchBackend",
    "SearchHit",
    "SearchQuery",
    "SearchResult",
    "open_backend",
]
