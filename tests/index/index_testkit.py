"""Helpers for the index tests: the tokeniser stand-in and an osmem-ready ES backend.

osmem-server answers 406 to the client's ``compatible-with`` media type, so
the tests (only) pass a transport node that sends plain JSON.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import jieba

jieba.setLogLevel(logging.WARNING)


def tokenize(text: str) -> list[str]:
    """Stand-in for the classifier's tokeniser: plain jieba accurate mode."""
    return jieba.lcut(text)


def plain_json_node() -> type:
    from elastic_transport import Urllib3HttpNode

    class PlainJsonNode(Urllib3HttpNode):
        """Test-only: rewrites the vendor media type osmem-server rejects."""

        def perform_request(self, method: str, target: str, body: Any = None, headers: Any = None, **kw: Any) -> Any:  # fmt: skip
            if headers is not None:
                headers = headers.copy()
                for key in list(headers.keys()):
                    value = headers[key]
                    if key.lower() in ("accept", "content-type") and "vnd.elasticsearch" in value:
                        headers[key] = (
                            "application/x-ndjson" if "ndjson" in value else "application/json"
                        )
            return super().perform_request(method, target, body=body, headers=headers, **kw)

    return PlainJsonNode


def make_es_backend(url: str, name: str | None = None, **kw: Any) -> Any:
    from elasticsearch import Elasticsearch

    from index.elasticsearch import ElasticsearchBackend

    client = Elasticsearch(url, node_class=plain_json_node(), request_timeout=30)
    # Small paging window so deep pages take the search_after path in tests.
    opts: dict[str, Any] = {"refresh": True, "deep_page_from": 5, "page_batch": 2}
    opts.update(kw)
    return ElasticsearchBackend(client, name or f"test-{uuid.uuid4().hex[:10]}", tokenize, **opts)
