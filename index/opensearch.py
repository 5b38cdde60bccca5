"""The OpenSearch backend (1.x-3.x servers, the ``opensearch-py`` client).

The ``elasticsearch`` client refuses to talk to OpenSearch (it checks the
server's product), and many clouds offer OpenSearch beside Elasticsearch, so
this backend runs :mod:`index.cluster`'s shared mapping, queries and alias
handling through ``opensearch-py``. One thing differs by server version:
``combined_fields`` (BM25F over the weighted fields) exists from OpenSearch
3.2; older servers score a token with ``multi_match`` of type ``cross_fields``,
the nearest query they have (rankings then differ slightly from the embedded
index's).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opensearchpy import NotFoundError, OpenSearch, OpenSearchException, helpers

from index.cluster import FIELDS, ClusterBackend, connection_options

if TYPE_CHECKING:
    from yuqing.settings import IndexSettings

__all__ = ["OpenSearchBackend", "client_options", "connect"]

# opensearch-py logs every failed request with its traceback, each tick of an outage;
# the backend raises BackendError instead, which the outbox logs once per attempt.
logging.getLogger("opensearch").setLevel(logging.ERROR)

COMBINED_FIELDS_SINCE = (3, 2)


class OpenSearchBackend(ClusterBackend):
    """Search backend over an OpenSearch cluster; the client is injected."""

    kind = "opensearch"
    errors = (OpenSearchException,)
    not_found = NotFoundError

    _combined: bool | None = None  # learnt from the server's version at the first query

    def _bulk_helper(self) -> Callable[..., tuple[int, Any]]:
        return helpers.bulk  # type: ignore[no-any-return]

    def _send_search(self, index: str, body: dict[str, Any], **params: Any) -> Any:
        return self.client.search(index=index, body=body, **params)

    def _send_create(self, index: str, mappings: dict[str, Any], settings: Any = None) -> Any:
        body: dict[str, Any] = {"mappings": mappings}
        if settings is not None:
            body["settings"] = settings
        return self.client.indices.create(index=index, body=body)

    def _send_update_aliases(self, actions: list[dict[str, Any]]) -> Any:
        return self.client.indices.update_aliases(body={"actions": actions})

    def location(self) -> str:
        out = []
        for h in self.client.transport.hosts:
            scheme = "https" if h.get("use_ssl") or h.get("scheme") == "https" else "http"
            out.append(f"{scheme}://{h.get('host')}:{h.get('port')}{h.get('url_prefix', '')}")
        return ", ".join(out)

    def server_version(self) -> tuple[int, int]:
        info = self._call(self.client.info)
        m = re.match(r"(\d+)\.(\d+)", str(info.get("version", {}).get("number", "")))
        return (int(m[1]), int(m[2])) if m else (0, 0)

    def _token_query(self, token: str) -> dict[str, Any]:
        if self._combined is None:
            self._combined = self.server_version() >= COMBINED_FIELDS_SINCE
        if self._combined:
            return super()._token_query(token)
        return {"multi_match": {"query": token, "fields": FIELDS, "type": "cross_fields"}}


def client_options(settings: IndexSettings) -> dict[str, Any]:
    """The ``OpenSearch(...)`` keyword arguments of a (secured) cluster's settings."""
    opts = connection_options(settings)
    if "basic_auth" in opts:
        opts["http_auth"] = opts.pop("basic_auth")
    if "api_key" in opts:  # OpenSearch 3.7+ security API keys read this header
        opts["headers"] = {"Authorization": f"ApiKey {opts.pop('api_key')}"}
    return opts


def connect(settings: IndexSettings, **extra: Any) -> OpenSearch:
    """The client for ``settings.es_url``; ``extra`` adds or overrides client options."""
    return OpenSearch(settings.es_url, **{**client_options(settings), **extra})
