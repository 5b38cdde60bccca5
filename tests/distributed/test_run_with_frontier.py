"""`yuqing run` with a shared frontier (crawler.redis_url) still crawls: it starts one
crawler worker beside its scheduler, and stops it with itself."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import redis

from crawler.distributed import Frontier
from tests.test_end_to_end import _counts, _env, _free_port, _interrupt, _start, _wait, yq_json

REDIS_URL = os.environ.get("YUQING_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")

pytestmark = pytest.mark.slow


@pytest.mark.timeout(600)
def test_run_starts_a_crawler_worker_when_the_frontier_is_shared(tmp_path: Path) -> None:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is unreachable: {exc}")
    prefix = f"yuqing-test:{uuid.uuid4().hex[:10]}"
    env = _env(tmp_path)
    settings = Path(env["YUQING_CONFIG"]) / "settings.yaml"
    settings.write_text(
        settings.read_text(encoding="utf-8").replace(
            "crawler:\n", f"crawler:\n  redis_key_prefix: {prefix}\n", 1
        ),
        encoding="utf-8",
    )
    env["YUQING_REDIS_URL"] = REDIS_URL
    port = _free_port()
    log = tmp_path / "run.log"
    proc = _start(env, port, log)
    try:
        _wait(lambda: "crawler    worker pid" in log.read_text(), 240, "the crawler worker")
        worker_pid = int(log.read_text().split("crawler    worker pid ")[1].split()[0])

        def crawled() -> bool:
            if proc.poll() is not None:
                raise AssertionError("yuqing run exited:\n" + log.read_text())
            return yq_json(env, "search", "--limit", "1")["total"] >= 100

        _wait(crawled, 300, "the demo crawled by the worker and indexed")
    finally:
        if proc.poll() is None:
            _interrupt(proc, log)
        Frontier(redis.Redis.from_url(REDIS_URL, decode_responses=True), prefix).clear()
    with pytest.raises(ProcessLookupError):  # the worker stopped with the service
        os.kill(worker_pid, 0)
    posts, _alerts = _counts(env)
    assert posts >= 100
