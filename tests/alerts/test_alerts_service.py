"""The scheduler service: persistent jobs with stable ids, one active scheduler
among several processes (the store lock), a crashing job is not fatal."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alerts_testkit import START, write_config
from sqlalchemy import select

from alerts.lock import StoreLock
from runtime.app import App
from runtime.service import Service
from store.alerting_models import SchedulerJob, SchedulerLock
from store.db import Store
from yuqing.clock import FrozenClock
from yuqing.settings import load_config

JOB_IDS = {"pipeline:tick", "alerts:deadlines", "alerts:outbox", "alerts:digest", "reports:briefs"}


@pytest.fixture
def app_factory(tmp_path: Path, db_url: str) -> Iterator[object]:
    cfg = write_config(tmp_path / "cfg", alerts={"jobs": {"lock_ttl": "2s", "outbox": "1h"}})
    (cfg / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    env = {"YUQING_DATABASE_URL": db_url, "YUQING_VAR_DIR": str(tmp_path / "var")}
    config = load_config(cfg, env)
    clock = FrozenClock(START)
    apps: list[App] = []

    def make() -> App:
        app = App(config, clock=clock)
        apps.append(app)
        return app

    yield make, clock
    for a in apps:
        a.close()


def test_lock_is_a_lease(db_url: str) -> None:
    store = Store(db_url)
    a = StoreLock(store, "x", "a", timedelta(seconds=60))
    b = StoreLock(store, "x", "b", timedelta(seconds=60))
    assert a.acquire(START) and a.holds(START)
    assert not b.acquire(START + timedelta(seconds=30))
    assert a.acquire(START + timedelta(seconds=50))  # renewed to +110 s
    assert not b.acquire(START + timedelta(seconds=100))
    assert b.acquire(START + timedelta(seconds=111))  # a stopped renewing
    assert not a.holds(START + timedelta(seconds=112))
    b.release()
    assert a.acquire(START + timedelta(seconds=113))
    store.close()


def test_one_scheduler_acts_and_a_standby_takes_over(app_factory: object) -> None:
    make, clock = app_factory  # type: ignore[misc]
    first, second = Service(make(), holder="first"), Service(make(), holder="second")
    try:
        first.start()
        second.start()
        assert first.scheduler is not None and second.scheduler is None
        with first.app.store.session() as s:
            assert set(s.scalars(select(SchedulerJob.id))) == JOB_IDS
            assert s.get(SchedulerLock, "scheduler").holder == "first"
        job = first.scheduler.get_job("alerts:deadlines")
        assert job.coalesce and job.max_instances == 1
        # The standby's jobs do nothing while it does not hold the lock.
        second.run("deadlines")
        assert second.errors == 0
        first.stop()  # releases the lock
        assert second.lease_once()
        assert second.scheduler is not None
        with second.app.store.session() as s:
            assert set(s.scalars(select(SchedulerJob.id))) == JOB_IDS  # same ids, replaced
    finally:
        first.stop()
        second.stop()


def test_a_crashing_job_is_logged_not_fatal(
    app_factory: object, caplog: pytest.LogCaptureFixture
) -> None:
    make, clock = app_factory  # type: ignore[misc]
    svc = Service(make(), holder="only")
    try:
        svc.start()

        def boom() -> None:
            raise RuntimeError("channel exploded")

        svc.job_deadlines = boom  # type: ignore[method-assign]
        svc.run("deadlines")
        svc.run("deadlines")
        assert svc.errors == 2 and "channel exploded" in caplog.text
        assert svc.scheduler is not None and svc.scheduler.running
        svc.run("outbox")  # the other jobs still run
        assert svc.errors == 2
    finally:
        svc.stop()


def test_briefs_written_once_per_day(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "cfg")
    (cfg / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    env = {
        "YUQING_DATABASE_URL": f"sqlite:///{tmp_path / 'y.db'}",
        "YUQING_VAR_DIR": str(tmp_path / "var"),
    }
    clock = FrozenClock(START + timedelta(days=3))  # Monday 2026-11-23, 10:00 local
    app = App(load_config(cfg, env), clock=clock)
    svc = Service(app, holder="only")
    try:
        svc.lock.acquire(clock.now())
        svc.run("reports")
        folder = tmp_path / "var" / "briefs"
        names = sorted(p.name for p in folder.glob("*.pdf"))
        assert names == ["daily-2026-11-22.pdf", "weekly-2026-11-22.pdf"]
        assert (folder / "daily-2026-11-22.html").exists()
        assert (folder / names[0]).read_bytes().startswith(b"%PDF")
        before = (folder / names[0]).stat().st_mtime_ns
        svc.run("reports")
        assert (folder / names[0]).stat().st_mtime_ns == before and svc.errors == 0
    finally:
        app.close()


def test_a_source_on_a_crontab_runs_at_its_times(tmp_path: Path, db_url: str) -> None:
    from apscheduler.triggers.cron import CronTrigger

    cfg = write_config(tmp_path / "cfg", alerts={"jobs": {"lock_ttl": "2s"}})
    (cfg / "sources.yaml").write_text(
        "sources:\n"
        "  - {name: office, kind: feed, url: 'http://127.0.0.1:9/feed.xml', cron: '*/15 8-17 * * 1-5'}\n"
        "  - {name: steady, kind: feed, url: 'http://127.0.0.1:9/other.xml', interval: 10m}\n",
        encoding="utf-8",
    )
    env = {"YUQING_DATABASE_URL": db_url, "YUQING_VAR_DIR": str(tmp_path / "var")}
    app = App(load_config(cfg, env), clock=FrozenClock(START))
    svc = Service(app, holder="only")
    try:
        svc.start()
        office = svc.scheduler.get_job("crawl:office")
        assert isinstance(office.trigger, CronTrigger)
        assert str(office.trigger.timezone) == "Asia/Shanghai"
        local = office.next_run_time.astimezone(office.trigger.timezone)
        assert local.weekday() < 5 and 8 <= local.hour <= 17 and local.minute % 15 == 0
        assert svc.scheduler.get_job("crawl:steady").trigger.interval == timedelta(minutes=10)
    finally:
        svc.stop()
        app.close()


def test_a_bad_crontab_is_a_config_error(tmp_path: Path) -> None:
    from yuqing.settings import ConfigError

    cfg = write_config(tmp_path / "cfg")
    (cfg / "sources.yaml").write_text(
        "sources:\n  - {name: x, kind: feed, url: 'http://127.0.0.1:9/f.xml', cron: '99 * * *'}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as info:
        load_config(cfg)
    # "file: key: 中文 / file: key: English": the English half as it always read
    assert "sources.yaml: sources.0.cron: not a crontab line" in str(info.value.problems[0])


def test_lock_attempt_does_not_wait_for_a_frozen_holder(db_url: str) -> None:
    """A holder frozen mid-transaction on the lease row (row lock held) must not block
    the standby's attempt: the attempt answers "not yours" at once and can retry."""
    import threading

    from sqlalchemy import text

    if db_url.startswith("sqlite"):
        pytest.skip("SQLite locks the whole file; its busy timeout already bounds the wait")
    store = Store(db_url)
    a = StoreLock(store, "x", "a", timedelta(seconds=60))
    b = StoreLock(store, "x", "b", timedelta(seconds=60))
    assert a.acquire(START)
    frozen = store.engine.connect()
    tx = frozen.begin()
    frozen.execute(text("UPDATE scheduler_locks SET holder = holder WHERE name = 'x'"))
    outcome: list[bool] = []
    t = threading.Thread(target=lambda: outcome.append(b.acquire(START + timedelta(seconds=90))))
    t.start()
    t.join(timeout=60)
    blocked = t.is_alive()
    tx.rollback()
    frozen.close()
    t.join()
    assert not blocked, "the standby waited on the frozen holder's row lock"
    assert outcome == [False]
    assert b.acquire(START + timedelta(seconds=91))  # once the freeze ends it takes over
    store.close()
