"""Fixtures for the index contract suite: both backends over one small corpus.

The Elasticsearch backend runs against ``osmem-server`` (an in-memory
OpenSearch-compatible server, started once per session on a free loopback
port). It answers 406 to the client's ``compatible-with`` media type, so the
tests (only) pass a transport node that sends plain JSON.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jieba
import pytest
from index_corpus import CORPUS

from index.base import SearchBackend
from index.embedded import EmbeddedBackend

jieba.setLogLevel(logging.WARNING)


def tokenize(text: str) -> list[str]:
    """Stand-in for the classifier's tokeniser: plain jieba accurate mode."""
    return jieba.lcut(text)


def _plain_json_node() -> type:
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


@pytest.fixture(scope="session")
def es_url() -> Iterator[str]:
    try:
        from osmem_server import OsmemError, OsmemServer
    except ImportError:
        pytest.skip("osmem-server is not installed (pip install osmem-server)")
    try:
        server = OsmemServer.start(japanese=False, addr="127.0.0.1:0")
    except OsmemError as exc:
        pytest.skip(f"osmem-server did not start: {exc}")
    yield server.url
    server.close()


def make_es_backend(url: str, name: str | None = None, **kw: Any) -> Any:
    from elasticsearch import Elasticsearch

    from index.elasticsearch import ElasticsearchBackend

    client = Elasticsearch(url, node_class=_plain_json_node(), request_timeout=30)
    # Small paging window so deep pages take the search_after path in tests.
    opts: dict[str, Any] = {"refresh": True, "deep_page_from": 5, "page_batch": 2}
    opts.update(kw)
    return ElasticsearchBackend(client, name or f"test-{uuid.uuid4().hex[:10]}", tokenize, **opts)


@pytest.fixture(params=["embedded", "elasticsearch"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchBackend]:
    if request.param == "embedded":
        b: SearchBackend = EmbeddedBackend(tmp_path / "index.sqlite", tokenize)
    else:
        b = make_es_backend(request.getfixturevalue("es_url"))
    yield b
    b.close()


@pytest.fixture
def loaded(backend: SearchBackend) -> SearchBackend:
    assert backend.index(CORPUS) == []
    return backend
