"""The search cluster goes away (maintenance) while posts keep arriving.

Everything runs as deployed, in its own process: ``yuqing run`` (the scheduler
indexing the outbox every second, and the console) with the OpenSearch backend
built from its settings (``YUQING_OPENSEARCH_URL``, opensearch-py as shipped),
``yuqing import`` bringing 12345 records, ``yuqing index status`` asked during
the outage. The cluster is ``osmem-server`` on loopback behind a TCP gate that
closes: connections refused, open ones cut.

Honest about time: the gate stays closed for YUQING_FAULT_INDEX_DOWN_S seconds
of real time (300 under ``make faults``, 20 in ``make test``). The service runs
on a scaled clock (30x, through YUQING_CLOCK), so the outbox's backoff of up to
10 minutes passes in 20 s once the cluster returns; the test waits on what the
store and the cluster say, never on a fixed time.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from faults_kit import (
    YUQING,
    TcpGate,
    fault_seconds,
    free_port,
    hotline_rows,
    run_yuqing,
    seed_model,
    tally,
    wait_until,
    write_config,
    write_jsonl,
    yuqing_env,
)
from sqlalchemy import func, select

from runtime.app import App
from store.models import IndexOutbox, Post
from yuqing.clock import ScaledClock
from yuqing.settings import load_config

START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
SPEED = 30.0


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


def _counts(app: App) -> tuple[int, int]:
    """(posts stored, posts queued for the index), read from the shared store."""
    with app.store.session() as s:
        posts = s.scalar(select(func.count()).select_from(Post)) or 0
        queued = s.scalar(select(func.count()).select_from(IndexOutbox)) or 0
    return int(posts), int(queued)


def _writes(backend: Any) -> dict[int, int]:
    """How often the cluster wrote each post: its ``_version`` (1 = written once)."""
    body = {"query": {"match_all": {}}, "version": True, "_source": ["id"]}
    resp = backend._send_search(index=backend.alias, body=body, size=10_000)
    return {int(h["_id"]): int(h["_version"]) for h in resp["hits"]["hits"]}


def _import(env: dict[str, str], path: Path) -> dict[str, Any]:
    r = run_yuqing(["import", str(path), "--source", "hotline", "--json"], env)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.slow
@pytest.mark.timeout(1500)  # `make faults` keeps the index away 5 minutes; the default is 300 s
def test_index_down_posts_stored_queued_then_indexed_once(
    osmem_url: str, tmp_path: Path, trained_models: Path
) -> None:
    from console import accounts

    down_s = fault_seconds("YUQING_FAULT_INDEX_DOWN_S", 20)
    target = urlsplit(osmem_url)
    gate = TcpGate(target.hostname or "127.0.0.1", target.port or 9200)
    index = {"es_index": f"fault-{int(time.time() * 1000)}", "max_retries": 0, "request_timeout": "5s"}  # fmt: skip
    config = write_config(
        tmp_path / "config",
        settings={"scheduler": {"pipeline_interval": "1s"}, "index": index},
        # alerts go to the log only: this test counts the index
        alerts={"channels": {"log": {"kind": "log"}}, "notify": {"default_channels": ["log"]}},
        team_channels={},
    )
    var = tmp_path / "var"
    seed_model(var, trained_models)
    clock = ScaledClock(START, SPEED)
    db_url = f"sqlite:///{tmp_path / 'store.db'}"
    env = yuqing_env(config, var, db_url, YUQING_CLOCK=clock.spec(), YUQING_OPENSEARCH_URL=gate.url)
    # the test reads the store, and the cluster straight (not through the gate)
    app = App(load_config(config, {**env, "YUQING_OPENSEARCH_URL": osmem_url}), clock=clock)

    # before the service starts, a first import indexes its records itself
    first = _import(env, write_jsonl(tmp_path / "a.jsonl", hotline_rows(30)))
    assert (first["new"], first["indexed"]) == (30, 30), first
    port = free_port()
    service = subprocess.Popen(
        [YUQING, "run", "--port", str(port)],
        env={**env, "YUQING_ADMIN_PASSWORD": "fault-admin-password"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    web = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    try:

        def up() -> bool:
            try:
                return web.get("/healthz").status_code == 200
            except httpx.HTTPError:
                return service.poll() is not None  # died: fail below, with its output

        wait_until("the console answering", up, 120, 0.5)
        assert service.poll() is None, "yuqing run exited"
        with app.store.session() as s:
            accounts.add_user(s, app.config, "ana", "correct horse battery", "analyst", clock.now())
            token = accounts.create_token(s, "ana", clock.now(), name="fault")
        web.headers["Authorization"] = f"Bearer {token}"
        r = web.get("/api/v1/search", params={"q": "工单"})
        assert r.status_code == 200, r.text

        gate.close()  # nothing queued, nothing in flight
        outage_ends = time.monotonic() + down_s
        n, searched, batch = 30, [], 0
        while True:  # posts keep being stored while the index is away
            batch += 1
            rows = hotline_rows(10, start=n)
            got = _import(env, write_jsonl(tmp_path / f"b{batch}.jsonl", rows))
            assert (got["new"], got["indexed"]) == (10, 0), got
            n += 10
            t0 = time.monotonic()
            r = web.get("/api/v1/search", params={"q": "工单"})
            print(f"search during the outage: {r.status_code} in {time.monotonic() - t0:.1f}s")
            searched.append((r.status_code, r.json().get("detail", "")))
            if time.monotonic() >= outage_ends and batch >= 2:
                break
            time.sleep(min(2.0, max(0.0, outage_ends - time.monotonic())))
        # the console says what is wrong, in words a user reads, with a 503
        assert searched and all(code == 503 for code, _ in searched), searched[:3]
        assert all("检索服务暂不可用" in detail for _, detail in searched)
        # `yuqing index status` (its own process, through the gate) shows the backlog
        st = run_yuqing(["index", "status", "--json"], env)
        assert st.returncode == 1, st.stdout + st.stderr[-2000:]
        status = json.loads(st.stdout.strip().splitlines()[-1])
        assert status["reachable"] is False and status["backend"] == "opensearch"
        assert (status["posts"], status["backlog"]) == (n, n - 30), status
        assert status["last_error"]
        assert _counts(app) == (n, n - 30)  # stored, and queued for the index

        gate.open()
        wait_until(
            "the outbox drained into the index",
            lambda: _counts(app) == (n, 0) and app.index.count() == n,
            300,
            1.0,
        )
        r = web.get("/api/v1/search", params={"q": "工单", "limit": 1})
        assert r.status_code == 200, r.text
    finally:
        web.close()
        service.send_signal(signal.SIGINT)
        try:
            out, _ = service.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            service.kill()
            out, _ = service.communicate()
        gate.close()
        print(out[-6000:])  # shown when the test fails

    assert service.returncode == 0, out[-3000:]
    assert "index unavailable" in out  # the outage is in the service's log
    t = tally(app)
    t.assert_once({f"id:hotline:GD{i:06d}" for i in range(n)}, "hotline")
    # each post written to the cluster once: no retry sent a post twice
    writes = _writes(app.index)
    assert set(writes) == t.post_ids and set(writes.values()) == {1}, writes
    app.close()
