"""Crawls through the whole pipeline (child process -> Ingestor -> store), on SQLite and
PostgreSQL: statistics kept in crawl_runs, re-runs add nothing, a crawl killed with
SIGKILL and run again loses nothing and duplicates nothing."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy import func, select

from runtime.app import App
from runtime.cli.crawl_cmd import stats_line
from runtime.jobs import child_env, crawl_in_child
from store.crawl_models import CrawlRun
from store.models import Alert, DeadLetterRow, Post, PostSighting, SourceRow
from tests.crawler.robust_site import API_ENV, FLAKY, GOOD, THREADS, RobustSite, sources_yaml
from yuqing.settings import load_config

REPO = Path(__file__).resolve().parents[2]
BOARD_PATHS = {f"/board/t/{t.id}.html" for t in [*THREADS, FLAKY]}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site() -> Iterator[RobustSite]:
    with RobustSite() as running:
        yield running


@pytest.fixture(scope="module")
def shared_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One var dir (and so one trained model) for the module's tests."""
    return tmp_path_factory.mktemp("var")


@pytest.fixture
def app(
    tmp_path: Path,
    site: RobustSite,
    shared_var: Path,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[App]:
    for name, value in API_ENV.items():  # the api source's ${...}, for this process and children
        monkeypatch.setenv(name, value)
    directory = tmp_path / "config"
    shutil.copytree(REPO / "config", directory)
    (directory / "sources.yaml").write_text(sources_yaml(site.url), encoding="utf-8")
    settings_path = directory / "settings.yaml"
    settings = yaml.safe_load(settings_path.read_text(encoding="utf-8")) or {}
    settings["crawler"] = {
        **(settings.get("crawler") or {}),
        "download_delay": 0,
        "autothrottle": False,
        "timeout_seconds": 3,  # the slow page answers after 30 s; good ones well within
        "retry_times": 1,
        "concurrent_requests_per_domain": 1,
    }
    settings_path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    config = load_config(
        directory, {**API_ENV, "YUQING_VAR_DIR": str(shared_var), "YUQING_DATABASE_URL": db_url}
    )
    running = App(config)
    running.model(demo=True)  # train the demo model once here, not in every child
    yield running
    running.close()


def board_posts(app: App) -> list[str]:
    with app.store.session() as s:
        urls = s.scalars(
            select(Post.url)
            .join(PostSighting, PostSighting.post_id == Post.id)
            .where(PostSighting.source == "robust-board")
        ).all()
    return [urlsplit(u).path for u in urls if u]


def runs(app: App, source: str) -> list[CrawlRun]:
    with app.store.session() as s:
        return list(
            s.scalars(select(CrawlRun).where(CrawlRun.source == source).order_by(CrawlRun.id))
        )


def test_crawl_stats_are_kept_and_rerun_adds_nothing(app: App) -> None:
    first = crawl_in_child(app, "robust-board", timeout=180)
    assert first.ok, first.error
    assert sorted(board_posts(app)) == sorted(BOARD_PATHS)
    [run] = runs(app, "robust-board")
    assert (run.ok, run.items, run.new, run.duplicate, run.dead_letters) == (True, 11, 11, 0, 4)
    assert run.pages == 15 and run.errors >= 4 and run.duration_s > 0
    assert run.finished_at >= run.started_at
    line = stats_line({"source": "robust-board", "ok": True, "error": None, **first.stats})
    assert "15 pages fetched, 11 items (11 new, 0 updated, 0 unchanged, 0 collided)" in line
    assert "4 dead letters" in line

    again = crawl_in_child(app, "robust-board", timeout=180)
    assert again.ok, again.error
    assert sorted(board_posts(app)) == sorted(BOARD_PATHS)
    second = runs(app, "robust-board")[-1]
    assert second.new == 0 and second.pages == 1  # the first list page is all seen: stop
    with app.store.session() as s:
        row = s.scalars(select(SourceRow).where(SourceRow.name == "robust-board")).one()
        assert row.crawls == 2 and row.items_total == 11
        assert row.state["running"] is False

    # a feed re-run is a conditional request answered 304
    for _ in range(2):
        assert crawl_in_child(app, "robust-rss", timeout=120).ok
    rss = runs(app, "robust-rss")
    assert (rss[0].new, rss[1].new, rss[1].not_modified) == (3, 0, 1)


def test_kill_9_mid_crawl_then_rerun_loses_and_duplicates_nothing(
    app: App, site: RobustSite
) -> None:
    site.detail_delay = 0.4  # slow enough to be killed halfway through
    try:
        env = child_env(app)
        proc = subprocess.Popen(
            [sys.executable, "-m", "runtime.crawl_child", "--source", "robust-board"],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        stored: list[str] = []
        while time.monotonic() < deadline and proc.poll() is None:
            stored = board_posts(app)
            if len(stored) >= 3:
                break
            time.sleep(0.1)
        assert proc.poll() is None, "the crawl finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        partial = board_posts(app)
        assert 3 <= len(partial) < len(BOARD_PATHS)
        with app.store.session() as s:
            row = s.scalars(select(SourceRow).where(SourceRow.name == "robust-board")).one()
            assert row.state["running"] is True  # the next crawl knows this one died
    finally:
        site.detail_delay = 0.0

    outcome = crawl_in_child(app, "robust-board", timeout=180)
    assert outcome.ok, outcome.error
    final = board_posts(app)
    assert sorted(final) == sorted(BOARD_PATHS)  # nothing lost, nothing twice
    with app.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Post)) == len(BOARD_PATHS)
        texts = {urlsplit(p.url).path: p.title for p in s.scalars(select(Post))}
        dead = s.scalars(select(DeadLetterRow.url)).all()
    for path, title in texts.items():
        assert GOOD[path][0] == title
    assert dead  # the bad pages are recorded (again, by the second crawl)
    last: Any = runs(app, "robust-board")[-1]
    assert last.new == len(BOARD_PATHS) - len(partial)


def test_a_source_that_stops_yielding_alerts_its_owner(app: App) -> None:
    # selectors that match nothing on a page that returned 200: flagged at once
    outcome = crawl_in_child(app, "robust-changed-board", timeout=120)
    assert outcome.ok, outcome.error
    with app.store.session() as s:
        row = s.scalars(select(SourceRow).where(SourceRow.name == "robust-changed-board")).one()
        health = row.state["health"]
        assert health["status"] == "unhealthy" and "选择器" in health["reason"]
        alert = s.get(Alert, health["alert_id"])
        assert alert is not None
        assert (alert.rule, alert.team_id, alert.status) == ("source_health", "donghu", "open")
        dead = s.scalars(
            select(DeadLetterRow).where(DeadLetterRow.source == "robust-changed-board")
        ).all()
        assert [d.reason for d in dead] == [
            "list page 1 has no links for item_link 'ul.topics a::attr(href)' (site changed?)"
        ]
    # the next crawl of the same episode raises no second alert
    assert crawl_in_child(app, "robust-changed-board", timeout=120).ok
    with app.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 1

    # a feed that fails N times in a row (here: the empty feed) is flagged on the Nth
    limit = app.config.settings.crawler.unhealthy_after_empty_runs
    for i in range(limit):
        assert crawl_in_child(app, "robust-emptyfeed", timeout=120).ok
        with app.store.session() as s:
            row = s.scalars(select(SourceRow).where(SourceRow.name == "robust-emptyfeed")).one()
            assert row.state["bad_runs"] == i + 1
            assert row.state["health"]["status"] == ("unhealthy" if i + 1 == limit else "ok")
    with app.store.session() as s:
        alerts = s.scalars(select(Alert).where(Alert.title.contains("robust-emptyfeed"))).all()
        assert [a.team_id for a in alerts] == [app.config.teams.triage_team]  # no owner_team
        assert "连续 3 次" in alerts[0].reason


def test_a_crawl_stopped_by_shutdown_is_not_held_against_the_source(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    """Stopping the service while a crawl child starts up (SIGTERM before Scrapy has
    its own handlers: exit -15) is our doing: the run is recorded as interrupted,
    logged at INFO, and does not count towards the source being unhealthy."""
    import threading

    from runtime import jobs

    outcomes: list[Any] = []
    t = threading.Thread(
        target=lambda: outcomes.append(crawl_in_child(app, "robust-board", timeout=180))
    )
    with caplog.at_level("INFO", logger="yuqing.jobs"):
        t.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not jobs._children:
            time.sleep(0.005)
        jobs.stop_children()
        t.join(timeout=120)
    assert not t.is_alive()
    [outcome] = outcomes
    assert not outcome.ok and outcome.interrupted, outcome
    assert outcome.error == "stopped at shutdown"
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert any("stopped at shutdown" in r.getMessage() for r in caplog.records)
    with app.store.session() as s:
        row = s.scalars(select(SourceRow).where(SourceRow.name == "robust-board")).one()
        assert int((row.state or {}).get("bad_runs", 0)) == 0
    assert runs(app, "robust-board")[-1].error == "stopped at shutdown"


def test_a_crawl_without_a_usable_model_keeps_nothing_and_the_next_one_stores_all(
    app: App, tmp_path: Path
) -> None:
    """The crawl child loads the classifier at the first new post. With none to load
    the crawl stops unfinished: nothing stored, nothing dead-lettered, the feed's ETag
    not kept (no 304 next time), and the next crawl with a model stores every post."""
    env = {**API_ENV, "YUQING_VAR_DIR": str(tmp_path / "no-model")}
    bare = App(
        load_config(app.config.directory, {**env, "YUQING_DATABASE_URL": app.config.database_url})
    )
    try:
        failed = crawl_in_child(bare, "robust-rss", timeout=120)
    finally:
        bare.close()
    assert not failed.ok and "nothing stored" in (failed.error or ""), failed
    assert failed.stats["finish_reason"] == "sink_unavailable", failed.stats
    assert (failed.stats["items_new"], failed.stats["dead_letters"]) == (0, 0)
    with app.store.session() as s:
        assert s.scalar(select(func.count()).select_from(Post)) == 0
        assert s.scalar(select(func.count()).select_from(DeadLetterRow)) == 0
        row = s.scalars(select(SourceRow).where(SourceRow.name == "robust-rss")).one()
        assert row.state["running"] is True and not row.state.get("etag")

    again = crawl_in_child(app, "robust-rss", timeout=120)
    assert again.ok, again.error
    assert (again.stats["items_new"], again.stats["not_modified"]) == (3, 0)


def test_a_crawl_that_finds_nothing_new_loads_no_model(app: App) -> None:
    """Most scheduled crawls find nothing new: their child never loads scikit-learn."""
    assert crawl_in_child(app, "robust-rss", timeout=120).ok
    env = child_env(app)
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['runtime.crawl_child', '--source', 'robust-rss']\n"
        "try:\n"
        "    runpy.run_module('runtime.crawl_child', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "print('sklearn' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    stats_json, loaded = done.stdout.strip().splitlines()[-2:]
    assert '"not_modified": 1' in stats_json
    assert loaded == "False"
