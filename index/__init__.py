"""Search: one interface (:mod:`index.base`); backends embedded FTS5, Elasticsearch, OpenSearch.

:func:`open_backend` picks the backend the settings name; callers import it from here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
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
    from index.cluster import ClusterBackend
    from index.synonyms import Synonyms
    from yuqing.settings import IndexSettings

log = logging.getLogger("yuqing")

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
    client: Any = None,
    client_kwargs: Mapping[str, Any] | None = None,
    es_analyzer: str | None = None,
    synonyms: Synonyms | Path | str | None = None,
    create: bool = True,
) -> SearchBackend:
    """Open the backend ``settings.backend`` names.

    ``path`` is the embedded index file. For a cluster (``elasticsearch`` or
    ``opensearch``) the client is built from the settings (URL, credentials,
    CA certificate, timeout, retries); pass a ready ``client``, or extra
    ``client_kwargs`` for the one built (e.g. ``node_class``). ``synonyms`` is
    the table (or its file, usually ``config/synonyms.yaml``);
    ``settings.expand_synonyms`` false leaves it out. ``create`` false opens a
    cluster index without creating it (no request until the first use).
    """
    from index.synonyms import EMPTY, as_synonyms

    syn = as_synonyms(synonyms) if getattr(settings, "expand_synonyms", True) else EMPTY
    if settings.backend == "embedded":
        from index.embedded import EmbeddedBackend

        return EmbeddedBackend(path, tokenize, timezone=timezone, synonyms=syn)
    backend_class: type[ClusterBackend]
    connect: Callable[..., Any]
    if settings.backend == "elasticsearch":
        from index import elasticsearch

        backend_class, connect = elasticsearch.ElasticsearchBackend, elasticsearch.connect
    elif settings.backend == "opensearch":
        from index import opensearch

        backend_class, connect = opensearch.OpenSearchBackend, opensearch.connect
    else:
        raise ValueError(f"unknown index backend {settings.backend!r}")
    if not settings.verify_certs:
        log.warning("index: TLS certificates of %s are not verified (verify_certs: false)",
                    settings.es_url)  # fmt: skip
    if client is None:
        client = connect(settings, **dict(client_kwargs or {}))
    return backend_class(
        client,
        settings.es_index,
        tokenize,
        timezone=timezone,
        analyzer=es_analyzer or settings.es_analyzer,
        synonyms=syn,
        refresh="wait_for" if settings.refresh else False,
        bulk_size=settings.bulk_size,
        create=create,
    )
