"""Fixtures for the alerts tests: a pinned clock, a store, config copies, receivers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alerts_testkit import CONFIG_DIR, START, Receiver, SmtpSink, without_triage

from alerts.engine import sync_teams
from store.db import Store
from yuqing.clock import FrozenClock
from yuqing.settings import AppConfig, load_config


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def config() -> AppConfig:
    """The bundled config, duty-desk triage off: these tests are about routed alerts
    (tests/alerts/test_alerts_triage*.py test the desk)."""
    return without_triage(load_config(CONFIG_DIR))


@pytest.fixture
def store(db_url: str, config: AppConfig) -> Iterator[Store]:
    s = Store(db_url)
    with s.session() as sess:
        sync_teams(sess, config)
    yield s
    s.close()


@pytest.fixture
def receiver(clock: FrozenClock) -> Iterator[Receiver]:
    r = Receiver(now=clock.now).start()
    yield r
    r.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    s = SmtpSink().start()
    yield s
    s.stop()
