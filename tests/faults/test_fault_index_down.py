"""The Elasticsearch index goes away (maintenance) while posts keep arriving.

The index is ``osmem-server`` (the loopback stand-in for Elasticsearch, reached
through the production ``open_backend`` with a test-only plain-JSON transport
node) behind a TCP gate that closes: connections refused, open ones cut. Posts
flow the production way, in this process: the ingest sink (classify, store,
queue) -> index outbox -> ``drain_index`` every second, as the service's tick
does. The console's search API is asked during the outage.

Honest about time: the gate stays closed for YUQING_FAULT_INDEX_DOWN_S seconds
of real time (300 under ``make faults``, 20 in ``make test``), with the outbox
backing off on a clock that follows the wall clock. When the index returns, the
test pushes that clock 10 minutes forward (the longest backoff) instead of
waiting for the last retry to come due.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from faults_kit import (
    ShiftedClock,
    TcpGate,
    fault_seconds,
    hotline_rows,
    plain_json_node,
    seed_model,
    tally,
    write_config,
)

from index import open_backend
from index.base import SearchQuery
from index.maintenance import index_status
from runtime.app import App
from runtime.ingest import Ingestor
from runtime.pipeline import drain_index
from yuqing.contracts import CrawledPost
from yuqing.settings import load_config


@pytest.fixture(scope="module")
def osmem_url() -> Iterator[str]:
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


class Recording:
    """The backend, counting every document the cluster accepted, by post id."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.accepted: Counter[int] = Counter()

    def index(self, docs: Sequence[Any]) -> list[tuple[int, str]]:
        failures = self.inner.index(docs)  # raises while the cluster is unreachable
        failed = {i for i, _ in failures}
        self.accepted.update(d.id for d in docs if d.id not in failed)
        return failures  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _posts(start: int, n: int) -> list[CrawledPost]:
    return [
        CrawledPost(
            source="hotline",
            title=r["标题"],
            text=r["内容"],
            external_id=r["工单号"],
            published_at=datetime(2026, 11, 20, 2, 0, tzinfo=UTC) + timedelta(minutes=i),
        )
        for i, r in enumerate(hotline_rows(n, start=start))
    ]


@pytest.mark.slow
@pytest.mark.timeout(1500)  # `make faults` keeps the index away 5 minutes; the default is 300 s
def test_index_down_posts_stored_queued_then_indexed_once(
    osmem_url: str, tmp_path: Path, trained_models: Path
) -> None:
    from console import accounts
    from console.app import create_app

    down_s = fault_seconds("YUQING_FAULT_INDEX_DOWN_S", 20)
    target = urlsplit(osmem_url)
    gate = TcpGate(target.hostname or "127.0.0.1", target.port or 9200)
    config = write_config(tmp_path / "config")
    var = tmp_path / "var"
    seed_model(var, trained_models)
    env = {
        "YUQING_VAR_DIR": str(var),
        "YUQING_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
        "YUQING_ES_URL": gate.url,
    }
    clock = ShiftedClock()
    app = App(load_config(config, env), clock=clock)
    settings = app.config.settings.index
    assert settings.backend == "elasticsearch"
    index = Recording(
        open_backend(
            settings.model_copy(update={"es_index": f"fault-{int(time.time() * 1000)}"}),
            app.config.index_path,
            app.tokenize,
            es_client_kwargs={
                "node_class": plain_json_node(),
                "max_retries": 0,
                "request_timeout": 5,
            },
        )
    )
    app._index = index  # type: ignore[assignment]
    sink = Ingestor(app)
    with app.store.session() as s:
        accounts.add_user(s, app.config, "ana", "correct horse battery", "analyst", clock.now())
        token = accounts.create_token(s, "ana", clock.now(), name="fault")
    web = TestClient(create_app(app), headers={"Authorization": f"Bearer {token}"})
    try:
        sink.accept_many(_posts(0, 30))
        assert drain_index(app).indexed == 30
        assert web.get("/api/v1/search", params={"q": "工单"}).status_code == 200

        gate.close()
        outage_ends = time.monotonic() + down_s
        n, failures, searched = 30, 0, []
        while time.monotonic() < outage_ends:
            sink.accept_many(_posts(n, 5))  # posts keep being stored
            n += 5
            run = drain_index(app)  # as the service's tick: queued, backed off
            assert run.indexed == 0
            failures += run.failed
            r = web.get("/api/v1/search", params={"q": "工单"})
            searched.append((r.status_code, r.json().get("detail", "")))
            time.sleep(min(2.0, max(0.0, outage_ends - time.monotonic())))
        st = index_status(app.store, index)
        assert not st.reachable and st.error and st.last_error
        assert (st.posts, st.backlog) == (n, n - 30)  # stored, and queued for the index
        assert failures > 0
        # the console says what is wrong, in words a user reads, with a 503
        assert searched and all(code == 503 for code, _ in searched), searched[:3]
        assert all("检索服务暂不可用" in detail for _, detail in searched)

        gate.open()
        assert web.get("/api/v1/search", params={"q": "工单"}).status_code == 200
        clock.advance(timedelta(minutes=10))  # past the longest backoff
        while drain_index(app).indexed:
            pass
        st = index_status(app.store, index)
        assert st.in_step and (st.documents, st.posts, st.backlog) == (n, n, 0)
        t = tally(app)
        t.assert_once({f"id:hotline:GD{i:06d}" for i in range(n)}, "hotline")
        # sent to the cluster and accepted once each, never twice
        assert set(index.accepted) == t.post_ids and max(index.accepted.values()) == 1
        assert index.search(SearchQuery(limit=1, facets=False)).total == n
    finally:
        web.close()
        gate.close()
        app.close()
