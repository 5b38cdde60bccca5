"""Fixtures for the index contract suite: both backends over one small corpus.

The Elasticsearch backend runs against ``osmem-server`` (an in-memory
OpenSearch-compatible server, started once per session on a free loopback
port), through the test-only transport node of ``index_testkit``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import jieba
import pytest
from index_corpus import CORPUS
from index_testkit import drop_es, make_es_backend, tokenize

from index.base import SearchBackend
from index.embedded import EmbeddedBackend

jieba.setLogLevel(logging.WARNING)


ES_ENV = "YUQING_TEST_ES_URL"


@pytest.fixture(scope="session")
def es_url() -> Iterator[str]:
    """osmem-server, the loopback stand-in for Elasticsearch (always, when installed)."""
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


@pytest.fixture(scope="session")
def real_es_url() -> str:
    """A real Elasticsearch cluster, only when YUQING_TEST_ES_URL names one."""
    url = os.environ.get(ES_ENV)
    if not url:
        pytest.skip(f"{ES_ENV} is not set: Elasticsearch cases ran against osmem-server only")
    from elasticsearch import Elasticsearch

    client = Elasticsearch(url, request_timeout=10)
    try:
        info = client.info()
    except Exception as exc:  # set but wrong must fail loudly, as the PostgreSQL variable does
        pytest.fail(f"{ES_ENV}={url} is unreachable: {exc}")
    finally:
        client.close()
    logging.getLogger(__name__).info("real cluster %s", info["version"]["number"])
    return url


# The contract runs on the embedded index, on osmem-server ("elasticsearch") and on
# a real cluster ("elasticsearch-real", skipped unless YUQING_TEST_ES_URL is set).
BACKENDS = ["embedded", "elasticsearch", "elasticsearch-real"]


def open_test_backend(request: pytest.FixtureRequest, tmp_path: Path) -> SearchBackend:
    if request.param == "embedded":
        return EmbeddedBackend(tmp_path / "index.sqlite", tokenize)
    if request.param == "elasticsearch":
        return make_es_backend(request.getfixturevalue("es_url"))  # type: ignore[no-any-return]
    url = request.getfixturevalue("real_es_url")
    return make_es_backend(url, plain_json=False)  # type: ignore[no-any-return]


def close_test_backend(b: SearchBackend) -> None:
    if not isinstance(b, EmbeddedBackend):
        drop_es(b)
    b.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchBackend]:
    b = open_test_backend(request, tmp_path)
    yield b
    close_test_backend(b)


@pytest.fixture
def loaded(backend: SearchBackend) -> SearchBackend:
    assert backend.index(CORPUS) == []
    return backend
