"""The frontier's parts against a real Redis: seeding rounds, leases and their return when a
worker dies, the shared per-domain delay, and the JSON request codec that keeps pickle out."""

from __future__ import annotations

import os
import pickle
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from scrapy import Request

from crawler.distributed import Frontier, enqueue_source
from crawler.frontier_codec import FrontierDataError, dumps, loads
from yuqing.settings import load_config

REDIS_URL = os.environ.get("YUQING_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
def server() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is unreachable: {exc}")
    yield client
    client.close()


@pytest.fixture
def prefix(server: redis.Redis) -> Iterator[str]:
    name = f"yuqing-test:{uuid.uuid4().hex[:10]}"
    yield name
    Frontier(server, name).clear()


def test_one_round_of_a_source_at_a_time(server: redis.Redis, prefix: str) -> None:
    f = Frontier(server, prefix, lease_seconds=5, worker_id="w1")
    assert f.seed("board") == 1
    assert f.seed("board") is None  # the seed is still pending
    assert f.seed("feed") == 1  # rounds are per source
    lease, round_id = f.lease_seed("board") or ("", 0)
    assert round_id == 1 and f.lease_seed("board") is None
    assert f.push("board", '{"url": "http://a/1"}', 0, 1)
    assert not f.push("board", '{"url": "http://a/1"}', 0, 1)  # the same entry once
    assert f.push("board", '{"url": "http://a/2"}', 0, 1, fingerprint="fp2")
    assert not f.push("board", '{"url": "http://a/2", "x": 1}', 0, 1, fingerprint="fp2")  # seen
    assert f.lease("board") is not None and f.lease("board") is not None
    assert f.ack(lease, "board", 1) == 2  # the pushed requests are still pending
    assert f.seed("board") is None
    leased = list(server.hkeys(f.leases_key))
    assert [f.ack(x, "board", 1) for x in leased] == [1, 0]
    assert f.seed("board") == 2


def test_a_dead_workers_leases_go_back_and_its_late_ack_counts_nothing(
    server: redis.Redis, prefix: str
) -> None:
    a = Frontier(server, prefix, lease_seconds=5, worker_id="a")
    b = Frontier(server, prefix, lease_seconds=5, worker_id="b")
    a.seed("board")
    seed, _ = a.lease_seed("board") or ("", 0)
    a.push("board", '{"url": "http://a/1"}', 0, 1)
    a.push("board", '{"url": "http://a/2"}', 1, 1)
    a.ack(seed, "board", 1)
    a.heartbeat()
    b.heartbeat()
    first = a.lease("board")
    assert first is not None and first[1] == '{"url": "http://a/1"}'  # lowest score first
    assert b.reap() == 0  # a is alive
    server.delete(a.key("worker", "a"))  # a stops beating: presumed dead
    assert b.reap() == 1
    assert b.workers() == ["b"]
    assert a.ack(first[0], "board", 1) is None  # too late: b owns the request now
    assert a.pending("board") == 2
    again = [b.lease("board"), b.lease("board")]
    assert sorted(x[1] for x in again if x) == ['{"url": "http://a/1"}', '{"url": "http://a/2"}']
    assert [b.ack(x[0], "board", 1) for x in again if x] == [1, 0]


def test_a_graceful_leave_hands_back_what_is_leased(server: redis.Redis, prefix: str) -> None:
    f = Frontier(server, prefix, lease_seconds=5, worker_id="w")
    f.seed("board")
    f.heartbeat()
    assert f.lease_seed("board") is not None
    assert f.leave() == 1
    assert f.lease_seed("board") is not None  # the seed is there again
    assert f.workers() == []


def test_the_download_delay_holds_over_all_workers(server: redis.Redis, prefix: str) -> None:
    a = Frontier(server, prefix, worker_id="a")
    b = Frontier(server, prefix, worker_id="b")
    waits = [
        a.reserve("example.org", 0.5),
        b.reserve("example.org", 0.5),
        a.reserve("example.org", 0.5),
    ]
    assert waits[0] == 0
    assert 0.4 < waits[1] <= 0.5 and 0.9 < waits[2] <= 1.0  # one send time per 0.5 s
    assert b.reserve("other.org", 0.5) == 0  # per domain


def test_requests_round_trip_as_json_and_nothing_else_is_read() -> None:
    class S:
        def parse_list(self, response: object) -> None: ...

        def failed(self, failure: object) -> None: ...

    spider = S()
    request = Request(
        "http://127.0.0.1/board/?page=2",
        callback=spider.parse_list,
        errback=spider.failed,
        headers={"If-None-Match": '"x"'},
        body=b"\xff\x00",
        cb_kwargs={"page": 2},
        meta={"handle_httpstatus_list": [304]},
    )
    data = dumps(request.to_dict(spider=spider))  # type: ignore[arg-type]
    back = loads(data)
    assert back["callback"] == "parse_list" and back["cb_kwargs"] == {"page": 2}
    assert back["body"] == b"\xff\x00" and back["headers"][b"If-None-Match"] == [b'"x"']
    for bad, why in [
        (pickle.dumps({"url": "http://x"}), "not a frontier request"),
        ('{"url": "http://x", "_class": "os.system"}', "not allowed"),
        ('{"url": "http://x", "callback": "_closed"}', "parse method"),
        ('{"url": "http://x", "errback": "close"}', "not allowed"),
        ('{"callback": "parse_list"}', "no url"),
    ]:
        with pytest.raises(FrontierDataError, match=why):
            loads(bad)


def test_enqueue_needs_redis_and_a_crawlable_source(config_dir: Path, tmp_path: Path) -> None:
    env = {"YUQING_VAR_DIR": str(tmp_path)}
    with pytest.raises(ValueError, match="redis_url"):
        enqueue_source(load_config(config_dir, env), "demo-board")
    config = load_config(config_dir, {**env, "YUQING_REDIS_URL": REDIS_URL})
    with pytest.raises(KeyError):
        enqueue_source(config, "no-such-source")


def test_the_cli_says_what_is_missing(config_dir: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    base = {k: v for k, v in os.environ.items() if not k.startswith("YUQING_")}
    env = {**base, "YUQING_CONFIG": str(config_dir), "YUQING_VAR_DIR": str(tmp_path)}

    def yuqing(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "runtime.cli", "crawler-worker", *args],
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
        )

    no_redis = yuqing()
    assert no_redis.returncode == 2 and "crawler.redis_url" in no_redis.stderr
    unknown = yuqing("enqueue", "nope", YUQING_REDIS_URL=REDIS_URL)
    assert unknown.returncode == 2 and "nope" in unknown.stderr
    both = yuqing("enqueue", "demo-board", "--all", YUQING_REDIS_URL=REDIS_URL)
    assert both.returncode == 2 and "not both" in both.stderr


def test_pages_behind_a_failed_store_batch_are_fetched_again(
    server: redis.Redis, prefix: str, config_dir: Path, tmp_path: Path
) -> None:
    import json
    import subprocess
    import sys

    import yaml

    from tests.distributed.frontier_site import PER_PAGE, FrontierSite, sources_yaml

    settings_path = config_dir / "settings.yaml"
    settings = yaml.safe_load(settings_path.read_text(encoding="utf-8"))
    settings["crawler"] = {
        **settings["crawler"],
        "download_delay": 0,
        "autothrottle": False,
        "redis_key_prefix": prefix,
    }
    settings_path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    with FrontierSite() as site:
        (config_dir / "sources.yaml").write_text(sources_yaml(site.url), encoding="utf-8")
        assert Frontier(server, prefix).seed("dist-board-first-page") == 1
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).with_name("flaky_worker.py")), str(config_dir),
             REDIS_URL, "3"],
            env={**os.environ, "YUQING_VAR_DIR": str(tmp_path), "PYTHONPATH": str(Path(__file__).parents[2])},
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        hits = site.page_hits()
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    want = sorted(f"{site.url}/board/t/{i}.html" for i in range(240, 240 - PER_PAGE, -1))
    assert out["urls"] == want  # every thread stored despite the failed batch
    assert "the store failed" in proc.stderr
    assert max(hits.values()) == 2  # the pages of the failed batch, once more
