"""Fixtures for the index contract suite: both backends over one small corpus.

The Elasticsearch backend runs against ``osmem-server`` (an in-memory
OpenSearch-compatible server, started once per session on a free loopback
port), through the test-only transport node of ``index_testkit``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import jieba
import pytest
from index_corpus import CORPUS
from index_testkit import make_es_backend, tokenize

from index.base import SearchBackend
from index.embedded import EmbeddedBackend

jieba.setLogLevel(logging.WARNING)


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
