"""Elasticsearch unreachable for a while during an ingest: every post is indexed
once it returns, none twice.

The cluster (osmem-server, or the real one under YUQING_TEST_ES_URL) sits behind
a loopback TCP proxy that goes down mid-ingest (connections refused, open ones
cut) and comes back on the same port. Posts flow the production way: store
upsert -> index outbox -> ``drain_index``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from index_testkit import FlakyProxy, drop_es, make_es_backend
from test_index_maintenance import add_posts

from index.base import SearchQuery
from index.maintenance import index_status
from runtime.app import App
from runtime.pipeline import drain_index
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


@pytest.fixture(params=["elasticsearch", "elasticsearch-real"])
def cluster(request: pytest.FixtureRequest) -> tuple[str, bool]:
    if request.param == "elasticsearch":
        return request.getfixturevalue("es_url"), True
    return request.getfixturevalue("real_es_url"), False


@pytest.fixture
def proxy(cluster: tuple[str, bool]) -> Iterator[FlakyProxy]:
    parts = urlsplit(cluster[0])
    p = FlakyProxy(parts.hostname or "127.0.0.1", parts.port or 9200)
    yield p
    p.close()


@pytest.fixture
def app(db_url: str, config_dir: Path, tmp_path: Path) -> Iterator[App]:
    env = {"YUQING_VAR_DIR": str(tmp_path / "var"), "YUQING_DATABASE_URL": db_url}
    a = App(load_config(config_dir, env), clock=FrozenClock(T0))
    yield a
    a.close()


def drain_all(app: App) -> int:
    n = 0
    while (run := drain_index(app)).indexed:
        n += run.indexed
    return n


def test_outage_delays_but_loses_and_duplicates_nothing(
    app: App, cluster: tuple[str, bool], proxy: FlakyProxy
) -> None:
    url, plain_json = cluster
    direct = make_es_backend(url, plain_json=plain_json)  # to read the truth afterwards
    b = make_es_backend(
        proxy.url, direct.alias, plain_json=plain_json, max_retries=0, request_timeout=5
    )
    rec = Recording(b)
    app._index = rec  # type: ignore[assignment]
    clock: FrozenClock = app.clock  # type: ignore[assignment]
    try:
        ids = add_posts(app, range(0, 10))
        assert drain_all(app) == 10

        proxy.down()
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

        # every post once: counted by the cluster, listed by id, sent once each
        assert direct.count() == 40
        hits = direct.search(SearchQuery(limit=100, facets=False)).hits
        assert sorted(h.id for h in hits) == sorted(ids) and len(set(ids)) == 40
        assert set(rec.accepted) == set(ids)
        assert max(rec.accepted.values()) == 1
    finally:
        drop_es(direct)
        direct.close()
        b.close()
