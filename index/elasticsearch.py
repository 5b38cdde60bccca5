"""The Elasticsearch backend (8.x/9.x servers, the official ``elasticsearch`` client).

The mapping, queries and alias handling are :mod:`index.cluster`'s, shared with
the OpenSearch backend; this module gives them the ``elasticsearch`` client's
calls and errors, and builds the client from the settings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError, helpers

from index.cluster import (
    DEEP_PAGE_FROM,
    FIELDS,
    MAPPING_VERSION,
    ClusterBackend,
    ClusterRebuild,
    connection_options,
    mapping,
)

if TYPE_CHECKING:
    from yuqing.settings import IndexSettings

__all__ = [
    "DEEP_PAGE_FROM",
    "FIELDS",
    "MAPPING_VERSION",
    "ElasticsearchBackend",
    "ElasticsearchRebuild",
    "client_options",
    "connect",
    "mapping",
]

ElasticsearchRebuild = ClusterRebuild


class ElasticsearchBackend(ClusterBackend):
    """Search backend over an Elasticsearch cluster; the client is injected."""

    kind = "elasticsearch"
    errors = (ApiError, TransportError)
    not_found = NotFoundError

    def _bulk_helper(self) -> Callable[..., tuple[int, Any]]:
        return helpers.bulk

    def _send_search(self, index: str, body: dict[str, Any], **params: Any) -> Any:
        return self.client.search(index=index, **params, **body)

    def _send_create(self, index: str, mappings: dict[str, Any], settings: Any = None) -> Any:
        return self.client.indices.create(index=index, mappings=mappings, settings=settings)

    def _send_update_aliases(self, actions: list[dict[str, Any]]) -> Any:
        return self.client.indices.update_aliases(actions=actions)

    def location(self) -> str:
        return ", ".join(str(n.base_url) for n in self.client.transport.node_pool.all())


def client_options(settings: IndexSettings) -> dict[str, Any]:
    """The ``Elasticsearch(...)`` keyword arguments of a (secured) cluster's settings."""
    opts = connection_options(settings)
    opts["request_timeout"] = opts.pop("timeout")
    return opts


def connect(settings: IndexSettings, **extra: Any) -> Elasticsearch:
    """The client for ``settings.es_url``; ``extra`` adds or overrides client options."""
    return Elasticsearch(settings.es_url, **{**client_options(settings), **extra})
