"""A search cluster unreachable for a while during an ingest: every post is indexed
once it returns, none twice.

The cluster (osmem-server, or a real one under YUQING_TEST_ES_URL /
YUQING_TEST_OPENSEARCH_URL) sits behind a loopback TCP proxy that goes down
mid-ingest (connections refused, open ones cut) and comes back on the same
port. Posts flow the production way: store upsert -> index outbox ->
``drain_index``. The OpenSearch and real-cluster cases use the index ``App``
opens from its settings (the proxy's URL in ``YUQING_OPENSEARCH_URL`` /
``YUQING_ES_URL``) and count each post's writes by the cluster's own
``_version``; the Elasticsearch-on-osmem case keeps its adapted transport and
counts the writes the backend saw acknowledged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from index_testkit import URL_VARIABLE, FlakyProxy, cluster_config, drop_es, make_es_backend
from test_index_maintenance import add_posts

from index.base import SearchQuery
from index.maintenance import index_status
from runtime.app import App
from runtime.jobs import drain_index
from store.models import IndexOutbox
from yuqing.clock import FrozenClock
from yuqing.settings import load_config

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


class Recording:
    """Wraps a backend and records the ids of every document it accepted."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.accepted: Counter[int] = Counter()

    def index(self, docs: Sequence[Any]) -> list[tuple[int, str]]:
        failures = self.inner.index(docs)  # raises when the cluster is unreachable
        failed = {i for i, _ in failures}
        self.accepted.update(d.id for d in docs if d.id not in failed)
        return failures  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


# (how the test opens the backend, the server's URL fixture)
CLUSTERS = {
    "elasticsearch": ("adapted", "es_url"),
    "opensearch": ("opensearch", "es_url"),
    "elasticsearch-real": ("elasticsearch", "real_es_url"),
    "opensearch-real": ("opensearch", "real_opensearch_url"),
}


@pytest.fixture(params=list(CLUSTERS))
def cluster(request: pytest.FixtureRequest) -> tuple[str, str]:
    how, fixture = CLUSTERS[request.param]
    return request.getfixturevalue(fixture), how


@pytest.fixture
def proxy(cluster: tuple[str, str]) -> Iterator[FlakyProxy]:
    parts = urlsplit(cluster[0])
    p = FlakyProxy(parts.hostname or "127.0.0.1", parts.port or 9200)
    yield p
    p.close()


@pytest.fixture
def app(db_url: str, tmp_path: Path, cluster: tuple[str, str], proxy: FlakyProxy) -> Iterator[App]:
    """The App; for the deploy-path cases its index is the cluster behind the proxy,
    with no retries inside the client (the outbox is what retries)."""
    env = {"YUQING_VAR_DIR": str(tmp_path / "var"), "YUQING_DATABASE_URL": db_url}
    how = cluster[1]
    config = cluster_config(
        tmp_path / "config", {"max_retries": 0, "request_timeout": "5s"} if how != "adapted" else {}
    )
    if how != "adapted":
        env[URL_VARIABLE[how]] = proxy.url
    a = App(load_config(config, env), clock=FrozenClock(T0))
    yield a
    a.close()


def drain_all(app: App) -> int:
    n = 0
    while (run := drain_index(app)).indexed:
        n += run.indexed
    return n


def writes(backend: Any) -> Counter[int]:
    """How often the cluster wrote each post: its ``_version`` (1 = written once)."""
    body = {"query": {"match_all": {}}, "version": True, "_source": ["id"]}
    resp = backend._send_search(index=backend.alias, body=body, size=1000)
    return Counter({int(h["_id"]): int(h["_version"]) for h in resp["hits"]["hits"]})


def test_outage_delays_but_loses_and_duplicates_nothing(
    app: App, cluster: tuple[str, str], proxy: FlakyProxy
) -> None:
    url, how = cluster
    if how == "adapted":  # Elasticsearch on osmem: the test-only transport, swapped in
        direct = make_es_backend(url)
        b = make_es_backend(proxy.url, direct.alias, max_retries=0, request_timeout=5)
        rec = Recording(b)
        app._index = rec  # type: ignore[assignment]
        accepted: Callable[[], Counter[int]] = lambda: rec.accepted  # noqa: E731
    else:  # the index the App opened from its settings, through the proxy
        b = app.index
        direct = app_index_at(app, url)  # the same alias, straight to the cluster
        accepted = lambda: writes(direct)  # noqa: E731
    try:
        outage(app, b, direct, proxy, accepted)
    finally:
        drop_es(direct)
        direct.close()
        b.close()


def app_index_at(app: App, url: str) -> Any:
    from index import open_backend

    settings = app.config.settings.index.model_copy(update={"es_url": url})
    return open_backend(settings, app.config.index_path, app.tokenize)


def outage(
    app: App, b: Any, direct: Any, proxy: FlakyProxy, accepted: Callable[[], Counter[int]]
) -> None:
    clock: FrozenClock = app.clock  # type: ignore[assignment]
    ids = add_posts(app, range(0, 10))
    assert drain_all(app) == 10

    proxy.down()  # nothing queued, nothing in flight
    ids += add_posts(app, range(10, 25))
    run = drain_index(app)
    assert (run.indexed, run.failed) == (0, 15) and run.error
    st = index_status(app.store, b)
    assert not st.reachable and st.documents is None and st.error
    assert (st.posts, st.backlog, st.failing) == (25, 15, 15)
    assert st.last_error and st.next_retry_at and st.next_retry_at > clock.now()
    # still down: more posts arrive, retries keep failing, nothing is dropped
    ids += add_posts(app, range(25, 40))
    for _ in range(3):
        clock.advance(timedelta(minutes=11))
        assert drain_index(app).indexed == 0
    with app.store.session() as s:
        assert s.query(IndexOutbox).count() == 30

    proxy.up()
    clock.advance(timedelta(minutes=11))  # past the longest backoff
    assert drain_all(app) == 30
    st = index_status(app.store, b)
    assert st.in_step and (st.documents, st.posts, st.backlog) == (40, 40, 0)

    # every post once: counted by the cluster, listed by id, written once each
    assert direct.count() == 40
    hits = direct.search(SearchQuery(limit=100, facets=False)).hits
    assert sorted(h.id for h in hits) == sorted(ids) and len(set(ids)) == 40
    assert set(accepted()) == set(ids)
    assert max(accepted().values()) == 1
