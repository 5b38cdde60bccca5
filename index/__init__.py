"""Search: one interface (:mod:`index.base`), two backends (embedded FTS5, Elasticsearch).

:func:`open_backend` picks the backend the settings name; callers import it from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index.base import (
    BackendError,
    QueryError,
    SearchBackend,
    SearchHit,
    SearchQuery,
    SearchResult,
    Tokenize,
)

if TYPE_CHECKING:
    from index.synonyms import Synonyms
    from yuqing.settings import IndexSettings

__all__ = [
    "BackendError",
    "QueryError",
    "SearchBackend",
    "SearchHit",
    "SearchQuery",
    "SearchResult",
    "open_backend",
]


def open_backend(
    settings: IndexSettings,
    path: Path,
    tokenize: Tokenize,
    *,
    timezone: str | tzinfo = "Asia/Shanghai",
    es_client: Any = None,
    es_client_kwargs: Mapping[str, Any] | None = None,
    es_analyzer: str = "whitespace",
    synonyms: Synonyms | Path | str | None = None,
) -> SearchBackend:
    """Open the backend ``settings.backend`` names.

    ``path`` is the embedded index file. For Elasticsearch, pass a ready
    ``es_client`` or extra keyword arguments for the client built from
    ``settings.es_url`` (e.g. ``api_key``, ``ca_certs``, ``node_class``).
    ``synonyms`` is the table (or its file, usually ``config/synonyms.yaml``);
    ``settings.expand_synonyms`` false leaves it out.
    """
    from index.synonyms import EMPTY, as_synonyms

    syn = as_synonyms(synonyms) if getattr(settings, "expand_synonyms", True) else EMPTY
    if settings.backend == "embedded":
        from index.embedded import EmbeddedBackend

        return EmbeddedBackend(path, tokenize, timezone=timezone, synonyms=syn)
    if settings.backend == "elasticsearch":
        from index.elasticsearch import ElasticsearchBackend

        if es_client is None:
            from elasticsearch import Elasticsearch

            es_client = Elasticsearch(settings.es_url, **dict(es_client_kwargs or {}))
        return ElasticsearchBackend(
            es_client,
            settings.es_index,
            tokenize,
            timezone=timezone,
            analyzer=es_analyzer,
            synonyms=syn,
        )
    raise ValueError(f"unknown index backend {settings.backend!r}")
