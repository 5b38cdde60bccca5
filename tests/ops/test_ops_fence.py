"""The scheduler lease fences every job and every single notification send: an
old holder whose lease is running out sends nothing (and records no failure),
the new holder sends each notification once. Two Services on one real store,
a real SMTP server, the clock moved by hand."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from ops_kit import CONFIG_DIR, START, SmtpSink, add_post, edit_yaml
from sqlalchemy import select

from runtime.app import App
from runtime.service import Service
from store.alerting_models import NotificationOutbox
from yuqing.clock import FrozenClock
from yuqing.settings import load_config

TTL = 30  # seconds: the margin a job or a send needs is a third of it


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    s = SmtpSink().start()
    yield s
    s.stop()


@pytest.fixture
def two(
    tmp_path: Path, db_url: str, sink: SmtpSink
) -> Iterator[tuple[Service, Service, FrozenClock]]:
    cfg = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, cfg)

    def alerts(d: dict) -> None:
        d["channels"] = {
            "mail": {
                "kind": "smtp",
                "url": sink.url,
                "sender": "yuqing@county.example",
                "recipients": ["duty@county.example"],
                "timeout": "2s",
            }
        }
        d.setdefault("notify", {})["default_channels"] = ["mail"]
        d["jobs"] = {"lock_ttl": f"{TTL}s", "outbox": "1h", "reports": None}

    def teams(d: dict) -> None:
        for t in d["teams"]:
            t["channels"] = ["mail"]

    edit_yaml(cfg / "alerts.yaml", alerts)
    edit_yaml(cfg / "teams.yaml", teams)
    (cfg / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    env = {"YUQING_DATABASE_URL": db_url, "YUQING_VAR_DIR": str(tmp_path / "var")}
    config = load_config(cfg, env)
    clock = FrozenClock(START)
    a = Service(App(config, clock=clock), holder="old")
    b = Service(App(config, clock=clock), holder="new")
    yield a, b, clock
    a.app.close()
    b.app.close()


def _rows(svc: Service) -> list[NotificationOutbox]:
    with svc.app.store.session() as s:
        return list(s.scalars(select(NotificationOutbox).order_by(NotificationOutbox.id)))


def test_old_holder_sends_nothing_new_holder_sends_each_once(
    two: tuple[Service, Service, FrozenClock], sink: SmtpSink
) -> None:
    old, new, clock = two
    assert old.lock.acquire(clock.now())
    for title in ("化工厂爆炸起火", "大桥垮塌多人被困", "小区燃气泄漏爆炸"):
        add_post(old.app.store, clock.now(), title, severity=4, area="湖滨社区")
    old.run("tick")  # alerts opened, tier I notifications queued (due now)
    queued = _rows(old)
    assert queued and all(r.status == "pending" for r in queued)

    # Two thirds of the lease gone without a renewal (a pause, a store hiccup): less
    # than the margin is left, so neither a job nor a send may start any more.
    clock.advance(timedelta(seconds=TTL * 0.8))
    old.run("outbox")
    old.job_outbox()  # even past the job's check, each send checks the lease first
    assert sink.messages == []
    assert [(r.status, r.attempts, r.last_error) for r in _rows(old)] == [
        ("pending", 0, None)
    ] * len(queued)  # not counted as a failed attempt either

    new.run("outbox")  # the standby does nothing while the old lease lives
    assert sink.messages == [] and not new.lock.acquire(clock.now())

    clock.advance(timedelta(seconds=TTL * 0.2 + 1))  # the lease has expired
    assert new.lock.acquire(clock.now())
    new.run("outbox")
    old.run("outbox")  # the old holder wakes up: still nothing
    old.job_outbox()
    new.run("outbox")  # and a second run of the new holder finds nothing due
    assert not old.lease_once()

    rows = _rows(new)
    assert [(r.status, r.attempts) for r in rows] == [("sent", 1)] * len(queued)
    sent = Counter(r.payload["subject"] for r in rows)
    got = Counter(m["Subject"] for m in sink.messages)
    assert got == sent and sum(got.values()) == len(queued)
    assert old.errors == 0 and new.errors == 0
