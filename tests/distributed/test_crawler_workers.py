"""Distributed crawling, end to end: real `yuqing crawler-worker` processes on one Redis
frontier, a real local site, the store on SQLite and PostgreSQL.

Reconciled after each run: every source item stored exactly once (one post, one
sighting), indexed once after the index outbox drains, both workers fetched pages,
and no page fetched twice -- except, after a worker is killed with SIGKILL, the
pages it held in flight, which another worker fetches again without storing
anything twice.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import yaml
from sqlalchemy import func, select

from crawler.distributed import Frontier
from crawler.frontier_codec import loads
from runtime.app import App
from runtime.jobs import crawl_in_child, drain_index
from store.crawl_models import CrawlRun
from store.models import DeadLetterRow, IndexOutbox, Post, PostSighting
from tests.distributed.frontier_site import FrontierSite, expected_urls, sources_yaml
from yuqing.settings import load_config

REPO = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("YUQING_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
CONCURRENCY = 4
# Long enough that a live worker starved of CPU on a busy CI machine (its heartbeat thread
# waits for the GIL) is not taken for dead and its pages fetched twice, and that the
# killed worker's leases can be read before the survivor reaps them; a 4 s lease did
# neither under a full parallel suite on 2 cores.
LEASE_SECONDS = 15

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site() -> Iterator[FrontierSite]:
    with FrontierSite() as running:
        yield running


@pytest.fixture(scope="module")
def shared_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One var dir (one trained model) for the module's tests."""
    return tmp_path_factory.mktemp("var")


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of this test's own, deleted afterwards."""
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS_URL} is unreachable: {exc}")
    name = f"yuqing-test:{uuid.uuid4().hex[:10]}"
    yield name
    Frontier(redis.Redis.from_url(REDIS_URL, decode_responses=True), name).clear()


@pytest.fixture
def delay() -> float:
    return 0.0


@pytest.fixture
def app(
    tmp_path: Path, site: FrontierSite, shared_var: Path, db_url: str, prefix: str, delay: float
) -> Iterator[App]:
    directory = tmp_path / "config"
    shutil.copytree(REPO / "config", directory)
    (directory / "sources.yaml").write_text(sources_yaml(site.url), encoding="utf-8")
    path = directory / "settings.yaml"
    settings = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    settings["crawler"] = {
        **(settings.get("crawler") or {}),
        "download_delay": delay,
        "autothrottle": False,
        "timeout_seconds": 10,
        "concurrent_requests_per_domain": CONCURRENCY,
        "redis_key_prefix": prefix,
        "worker_lease_seconds": LEASE_SECONDS,
    }
    settings["index"] = {"backend": "embedded", "embedded_path": str(tmp_path / "index.sqlite")}
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    env = {"YUQING_VAR_DIR": str(shared_var), "YUQING_DATABASE_URL": db_url}
    running = App(load_config(directory, {**env, "YUQING_REDIS_URL": REDIS_URL}))
    running.model(demo=True)  # train the demo model once here, not in each worker
    running.site = site  # type: ignore[attr-defined]
    yield running
    running.close()


def worker_env(app: App) -> dict[str, str]:
    return {
        **os.environ,
        "YUQING_CONFIG": str(app.config.directory),
        "YUQING_VAR_DIR": str(app.config.var_dir),
        "YUQING_DATABASE_URL": app.config.database_url,
        "YUQING_REDIS_URL": REDIS_URL,
    }


def yuqing(app: App, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runtime.cli", *args],
        env=worker_env(app),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


class Worker:
    """One `yuqing crawler-worker` process; its log is kept for the failure message."""

    def __init__(self, app: App, name: str, log_dir: Path) -> None:
        self.log = log_dir / f"{name}.log"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runtime.cli",
                "crawler-worker",
                "--concurrency",
                str(CONCURRENCY),
            ],
            env=worker_env(app),
            cwd=REPO,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def pages(self) -> int:
        """Pages this worker parsed (from Scrapy's closing stats, summed over sources)."""
        return sum(
            int(line.split(":")[-1].strip(" ,"))
            for line in self.text().splitlines()
            if "'yuqing/pages'" in line
        )

    def refetches(self) -> int:
        """Pages this worker had to fetch again, each for a reason it logged: a request
        Scrapy retried (a timeout on a busy machine), pages put back after a store failure,
        or leases reaped from a worker presumed dead."""
        text = self.text()
        retried = sum(int(m) for m in re.findall(r"'retry/count': (\d+)", text))
        released = sum(int(m) for m in re.findall(r"; (\d+) pages go back to the queue", text))
        reaped = sum(int(m) for m in re.findall(r": (\d+) of its requests are back", text))
        return retried + released + reaped

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=120)


@pytest.fixture
def workers(app: App, tmp_path: Path) -> Iterator[list[Worker]]:
    started = [Worker(app, "a", tmp_path), Worker(app, "b", tmp_path)]
    yield started
    for w in started:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait(timeout=30)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def frontier(app: App) -> Frontier:
    return Frontier.from_config(app.config)


def wait_until(what: str, check: Any, workers: list[Worker], timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        dead = [w for w in workers if w.proc.poll() is not None and w.proc.returncode != -9]
        if dead:
            pytest.fail(f"a worker exited ({dead[0].proc.returncode}):\n{dead[0].text()[-3000:]}")
        time.sleep(0.2)
    logs = "\n".join(w.text()[-2000:] for w in workers)
    pytest.fail(f"timed out waiting for {what}\n{logs}")


def drained(app: App, sources: list[str], rounds: int) -> bool:
    """Every source's round ``rounds`` has finished (its crawl_runs row is written)."""
    f = frontier(app)
    with app.store.session() as s:
        done = {
            src: s.scalar(select(func.count()).select_from(CrawlRun).where(CrawlRun.source == src))
            or 0
            for src in sources
        }
    return all(done[src] >= rounds and f.pending(src) == 0 for src in sources)


def stored(app: App) -> dict[str, list[str]]:
    with app.store.session() as s:
        rows = s.execute(
            select(PostSighting.source, Post.url).join(Post, Post.id == PostSighting.post_id)
        ).all()
    out: dict[str, list[str]] = {}
    for source, url in rows:
        out.setdefault(source, []).append(url or "")
    return out


def reconcile_store_and_index(app: App) -> int:
    """Every item once in the store and, after the outbox drains, once in the index."""
    site: FrontierSite = app.site  # type: ignore[attr-defined]
    want = expected_urls(site.url)
    got = stored(app)
    for source, urls in want.items():
        assert sorted(got.get(source, [])) == sorted(urls), source
    total = sum(len(u) for u in want.values())
    with app.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Post)) == total
        assert s.scalar(select(func.count()).select_from(IndexOutbox)) == total
    run = drain_index(app)
    assert (run.indexed, run.failed) == (total, 0)
    assert app.index.count() == total
    assert drain_index(app).indexed == 0  # nothing queued twice
    with app.store.session() as s:
        assert s.scalar(select(func.count()).select_from(IndexOutbox)) == 0
    return total


def test_two_workers_share_one_frontier(app: App, workers: list[Worker]) -> None:
    site: FrontierSite = app.site  # type: ignore[attr-defined]
    site.hits.clear()
    seeded = yuqing(app, "crawler-worker", "enqueue", "dist-board")
    assert seeded.returncode == 0, seeded.stderr
    assert seeded.stdout.strip() == "dist-board: round 1 seeded"
    # what the scheduler calls: with crawler.redis_url set, a crawl is a seed
    outcome = crawl_in_child(app, "dist-feed")
    assert (outcome.ok, outcome.stats) == (True, {"enqueued_round": 1})
    again = yuqing(app, "crawler-worker", "enqueue", "dist-board")  # still running: refused
    assert again.stdout.strip() == "dist-board: previous round still running; not seeded"
    wait_until("round 1", lambda: drained(app, ["dist-board", "dist-feed"], 1), workers)

    total = reconcile_store_and_index(app)
    hits = site.page_hits()
    # nothing fetched twice, unless a worker says why (checked once their stats are out)
    twice = {p: n - 1 for p, n in hits.items() if n > 1}
    assert len(hits) == total - 30 + 12 + 1 + 1  # threads, list pages, the 404, the feed
    with app.store.session() as s:
        runs = {r.source: r for r in s.scalars(select(CrawlRun))}
        dead = s.scalars(select(DeadLetterRow.reason).where(DeadLetterRow.source == "dist-board"))
        assert list(dead) == ["HTTP 404"]  # the missing thread, kept, once
    assert (runs["dist-board"].new, runs["dist-board"].pages) == (240, 252)
    assert (runs["dist-feed"].new, runs["dist-feed"].items) == (30, 30)

    # an incremental round: the first list page is all stored, so nothing else is fetched
    site.hits.clear()
    assert "round 2 seeded" in yuqing(app, "crawler-worker", "enqueue", "dist-board").stdout
    wait_until("round 2", lambda: drained(app, ["dist-board"], 2), workers)
    assert dict(site.page_hits()) == {"/board/": 1}
    with app.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Post)) == total
        assert s.scalar(select(func.count()).select_from(IndexOutbox)) == 0
        last = s.scalars(select(CrawlRun).order_by(CrawlRun.id.desc())).first()
        assert last is not None and (last.source, last.pages, last.new) == ("dist-board", 1, 0)

    status = json.loads(yuqing(app, "crawler-worker", "status").stdout)
    assert len(status["workers"]) == 2
    assert status["sources"]["dist-board"] == {"round": 2, "queued": 0, "pending": 0, "pages": 1}
    for w in workers:
        assert w.stop() == 0, w.text()[-2000:]
    pages = [w.pages() for w in workers]
    assert all(p > 0 for p in pages), pages  # both workers did work
    explained = sum(w.refetches() for w in workers)
    logs = "\n".join(w.text()[-3000:] for w in workers)
    assert sum(twice.values()) <= explained, f"fetched twice: {twice}\n{logs}"
    assert sum(pages) == 252 + 1 + 1  # round 1 board and feed, round 2's list page
    assert not frontier(app).workers()  # both signed off, nothing leased


def test_a_worker_killed_mid_crawl(app: App, workers: list[Worker], tmp_path: Path) -> None:
    site: FrontierSite = app.site  # type: ignore[attr-defined]
    site.hits.clear()
    site.detail_delay = 0.05
    try:
        assert yuqing(app, "crawler-worker", "enqueue", "dist-board").returncode == 0
        wait_until("some posts", lambda: len(stored(app).get("dist-board", [])) >= 40, workers)
        victim, survivor = workers
        f = frontier(app)
        [victim_id] = [w for w in f.workers() if f":{victim.proc.pid}:" in w]
        os.kill(victim.proc.pid, signal.SIGKILL)
        victim.proc.wait(timeout=30)
        # what it held when it died (read before the survivor reaps it, a few seconds on)
        held = {
            path_of(loads(json.loads(v)["d"])["url"])
            for v in f.server.hvals(f.key("leases", victim_id))
        }
        assert len(stored(app)["dist-board"]) < 240  # killed mid-crawl
        restarted = Worker(app, "a-restarted", tmp_path)  # as systemd would
        workers.append(restarted)
        wait_until("the round", lambda: drained(app, ["dist-board"], 1), [survivor, restarted])
    finally:
        site.detail_delay = 0.0
    # the feed was not seeded here: only the board's items count
    got = stored(app)
    want = expected_urls(site.url)["dist-board"]
    missing, extra = set(want) - set(got["dist-board"]), len(got["dist-board"]) - len(want)
    assert (missing, extra, "dist-feed" in got) == (set(), 0, False)
    with app.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Post)) == 240
    run = drain_index(app)
    assert (run.indexed, app.index.count()) == (240, 240)
    # only what the killed worker held (in flight, or done but not yet acknowledged) was
    # fetched again, once, by the survivor; storing it again changed nothing
    hits = site.page_hits()
    twice = {p: n for p, n in hits.items() if n > 1}
    assert all(n == 2 for n in twice.values()), twice
    gone = [ln for w in workers for ln in w.text().splitlines() if "is gone" in ln]
    assert set(twice) <= held and not gone[1:], (twice, held, gone)  # one worker died
    assert not f.server.exists(f.key("leases", victim_id))  # reaped
    assert survivor.stop() == 0 and restarted.stop() == 0
    assert survivor.pages() > 0


def test_sigterm_lets_in_flight_pages_finish(app: App, workers: list[Worker]) -> None:
    site: FrontierSite = app.site  # type: ignore[attr-defined]
    site.hits.clear()
    site.detail_delay = 0.05
    try:
        assert yuqing(app, "crawler-worker", "enqueue", "dist-board").returncode == 0
        wait_until("some posts", lambda: len(stored(app).get("dist-board", [])) >= 40, workers)
        leaving, staying = workers
        assert leaving.stop() == 0, leaving.text()[-2000:]  # SIGTERM: finish, then go
        assert len(stored(app)["dist-board"]) < 240  # stopped mid-crawl
        f = frontier(app)
        assert len(f.workers()) == 1  # signed off, leases returned or acknowledged
        wait_until("the round", lambda: drained(app, ["dist-board"], 1), [staying])
    finally:
        site.detail_delay = 0.0
    got = stored(app)["dist-board"]
    assert sorted(got) == sorted(expected_urls(site.url)["dist-board"])
    hits = site.page_hits()
    assert max(hits.values()) == 1, [p for p, n in hits.items() if n > 1]  # nothing twice
    assert "is gone" not in leaving.text() + staying.text()
    assert staying.stop() == 0
    assert leaving.pages() > 0 and staying.pages() > 0


@pytest.mark.parametrize("delay", [0.3])
def test_the_download_delay_holds_over_both_workers(
    app: App, workers: list[Worker], delay: float
) -> None:
    site: FrontierSite = app.site  # type: ignore[attr-defined]
    site.hits.clear()
    site.arrivals.clear()
    assert yuqing(app, "crawler-worker", "enqueue", "dist-board-first-page").returncode == 0
    # and something no spider wrote, in the same round: kept as a dead letter, not run
    f = frontier(app)
    evil = pickle.dumps({"url": "http://127.0.0.1/x", "callback": "close"}).hex()
    assert f.push("dist-board-first-page", evil, -100, 1)
    wait_until("the round", lambda: drained(app, ["dist-board-first-page"], 1), workers)
    with app.store.session() as s:
        [letter] = s.scalars(select(DeadLetterRow).where(DeadLetterRow.stage == "frontier"))
        assert letter.reason.startswith("unreadable frontier entry")
        assert letter.payload["data"] == evil
    for w in workers:
        assert w.stop() == 0
    pages = [w.pages() for w in workers]
    assert all(pages) and sum(pages) == 21, pages  # the list page and its 20 threads
    # send times are reserved in Redis one delay apart, over both workers: the 21 pages
    # cannot arrive faster than that (a slow machine only spreads them further)
    arrivals = sorted(site.arrivals)
    assert len(arrivals) == 21
    assert arrivals[-1] - arrivals[0] >= 20 * delay - 0.5


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_store_away_mid_crawl_loses_nothing(
    app: App, workers: list[Worker], db_url: str
) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    site: FrontierSite = app.site  # type: ignore[attr-defined]
    site.hits.clear()
    name = make_url(db_url).database
    admin = create_engine(make_url(db_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    site.detail_delay = 0.05
    try:
        assert yuqing(app, "crawler-worker", "enqueue", "dist-board").returncode == 0
        wait_until("some posts", lambda: len(stored(app).get("dist-board", [])) >= 30, workers)
        assert len(stored(app)["dist-board"]) < 240  # mid-crawl
        with admin.connect() as c:  # PostgreSQL goes away: no connections, old ones cut
            c.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            c.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
        time.sleep(8)
        with admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        assert all(w.proc.poll() is None for w in workers)  # the workers rode it out
        wait_until("the round", lambda: drained(app, ["dist-board"], 1), workers)
    finally:
        site.detail_delay = 0.0
        with admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()
    got = stored(app)["dist-board"]
    assert sorted(got) == sorted(expected_urls(site.url)["dist-board"])  # each once
    with app.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Post)) == 240
    assert (drain_index(app).indexed, app.index.count()) == (240, 240)
    for w in workers:
        assert w.stop() == 0
