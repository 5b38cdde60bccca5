"""Fixtures for the index contract suite: every backend over one small corpus.

``osmem-server`` (an in-memory OpenSearch-compatible server, started once per
session on a free loopback port) stands in for a cluster. The OpenSearch
backend reaches it on its deploy path: settings -> ``runtime.app.App`` ->
``index.open_backend`` -> ``opensearch-py`` as shipped. The Elasticsearch
backend reaches it through the test-only transport node of ``index_testkit``
(the ``elasticsearch`` client's media type is refused there). A real cluster
named by ``YUQING_TEST_ES_URL`` / ``YUQING_TEST_OPENSEARCH_URL`` is reached the
deploy way too; those cases skip, saying so, when the variable is unset.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jieba
import pytest
from index_corpus import CORPUS
from index_testkit import app_backend, close_test_backend, make_es_backend, tokenize

from index.base import SearchBackend
from index.embedded import EmbeddedBackend

jieba.setLogLevel(logging.WARNING)


ES_ENV = "YUQING_TEST_ES_URL"
OPENSEARCH_ENV = "YUQING_TEST_OPENSEARCH_URL"


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


def _real_cluster(env: str, client_class: Any, what: str) -> str:
    url = os.environ.get(env)
    if not url:
        pytest.skip(f"{env} is not set: {what} cases ran against osmem-server only")
    client = client_class(
        url, **({"request_timeout": 10} if what == "Elasticsearch" else {"timeout": 10})
    )
    try:
        info = client.info()
    except Exception as exc:  # set but wrong must fail loudly, as the PostgreSQL variable does
        pytest.fail(f"{env}={url} is unreachable: {exc}")
    finally:
        client.close()
    logging.getLogger(__name__).info("real %s %s", what, info["version"]["number"])
    return url


@pytest.fixture(scope="session")
def real_es_url() -> str:
    """A real Elasticsearch cluster, only when YUQING_TEST_ES_URL names one."""
    from elasticsearch import Elasticsearch

    return _real_cluster(ES_ENV, Elasticsearch, "Elasticsearch")


@pytest.fixture(scope="session")
def real_opensearch_url() -> str:
    """A real OpenSearch cluster, only when YUQING_TEST_OPENSEARCH_URL names one."""
    from opensearchpy import OpenSearch

    return _real_cluster(OPENSEARCH_ENV, OpenSearch, "OpenSearch")


# The contract runs on the embedded index; on osmem-server as Elasticsearch (adapted
# transport) and as OpenSearch (the deploy path); on real clusters when the
# variables name them ("-real", the deploy path; skipped otherwise).
BACKENDS = ["embedded", "elasticsearch", "opensearch", "elasticsearch-real", "opensearch-real"]


def open_test_backend(request: pytest.FixtureRequest, tmp_path: Path) -> SearchBackend:
    if request.param == "embedded":
        return EmbeddedBackend(tmp_path / "index.sqlite", tokenize)
    if request.param == "elasticsearch":
        return make_es_backend(request.getfixturevalue("es_url"))  # type: ignore[no-any-return]
    if request.param == "opensearch":
        return app_backend("opensearch", request.getfixturevalue("es_url"), tmp_path)
    if request.param == "opensearch-real":
        return app_backend("opensearch", request.getfixturevalue("real_opensearch_url"), tmp_path)
    return app_backend("elasticsearch", request.getfixturevalue("real_es_url"), tmp_path)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchBackend]:
    b = open_test_backend(request, tmp_path)
    yield b
    close_test_backend(b)


@pytest.fixture
def loaded(backend: SearchBackend) -> SearchBackend:
    assert backend.index(CORPUS) == []
    return backend
