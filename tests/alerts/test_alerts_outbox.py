"""The notification outbox: exactly-once queueing, delivery in order per alert,
retries with backoff through an outage, quiet hours and the tier IV digest."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from alerts_testkit import Receiver, SmtpSink, add_post, receivers_config
from sqlalchemy import select

from alerts.engine import evaluate_new_posts, sync_teams
from alerts.escalation import check_deadlines
from alerts.outbox import deliver_due, enqueue_digests, outbox_rows
from alerts.routing import Router
from store.db import Store
from store.models import Alert
from yuqing.clock import FrozenClock
from yuqing.gazetteer import Gazetteer
from yuqing.settings import AppConfig, load_config


def _setup(tmp_path: Path, db_url: str, receiver: Receiver, smtp: SmtpSink, **alerts: object):
    alerts.setdefault("notify", {"default_channels": ["log"], "remind_at": 0})  # no "due" here
    config = load_config(receivers_config(tmp_path / "cfg", receiver, smtp, **alerts))
    store = Store(db_url)
    with store.session() as s:
        sync_teams(s, config)
    return config, store


def _evaluate(store: Store, config: AppConfig, clock: FrozenClock) -> None:
    with store.session() as s:
        evaluate_new_posts(s, config, Router(config.teams, Gazetteer(config.areas)), clock.now())


def _kinds(receiver: Receiver, path: str) -> list[tuple[int, str]]:
    return [(h.body["alert_id"], h.body["kind"]) for h in receiver.at(path)]


def _mail_subjects(smtp: SmtpSink) -> list[str]:
    return [m["Subject"] for m in smtp.messages]


def test_outage_then_everything_once_in_order(
    tmp_path: Path, db_url: str, receiver: Receiver, smtp: SmtpSink, clock: FrozenClock
) -> None:
    config, store = _setup(tmp_path, db_url, receiver, smtp)
    receiver.stop()
    smtp.stop()
    add_post(store, clock.now(), "工地坍塌", severity=4)  # tier I: escalates at 10:15
    add_post(store, clock.now(), "燃气泄漏", severity=3)  # tier II
    _evaluate(store, config, clock)
    with store.session() as s:
        a, b = s.scalars(select(Alert.id).order_by(Alert.id)).all()
    # Ten minutes down (and a deadline passing meanwhile): nothing lost, failures visible.
    for _ in range(20):
        clock.advance(timedelta(minutes=1))
        with store.session() as s:
            check_deadlines(s, config, clock.now())
        stats = deliver_due(store, config, clock)
        assert stats.sent == 0
    with store.session() as s:
        rows = outbox_rows(s)
        assert {r.status for r in rows} == {"pending"}
        first = rows[0]
        assert first.attempts >= 5 and "ConnectError" in (first.last_error or "")
        assert first.next_attempt_at > clock.now()
    receiver.start()
    smtp.start()
    for _ in range(15):
        clock.advance(timedelta(minutes=1))
        deliver_due(store, config, clock)
    with store.session() as s:
        rows = outbox_rows(s)
        assert {r.status for r in rows} == {"sent"}
        assert all(r.last_error is None for r in rows)
    assert receiver.rejected == []
    assert sorted(_kinds(receiver, "/hook")) == [(a, "open"), (a, "reminder"), (b, "open")]
    hook_a = [k for i, k in _kinds(receiver, "/hook") if i == a]
    assert hook_a == ["open", "reminder"]  # order per alert
    (ding,) = receiver.at("/dingtalk")
    assert ding.body["markdown"]["title"] == "【超时上报】[I级 特别重大] 工地坍塌"
    assert "已上报第 1 级：东湖街道办事处（donghu）" in ding.body["markdown"]["text"]
    subjects = _mail_subjects(smtp)
    assert len(subjects) == 3
    assert [x for x in subjects if "工地坍塌" in x] == [
        "【新告警】[I级 特别重大] 工地坍塌",
        "【超时催办】[I级 特别重大] 工地坍塌",
    ]
    # Delivering again sends nothing more.
    clock.advance(timedelta(hours=1))
    assert deliver_due(store, config, clock).sent == 0
    store.close()


def test_repeated_checks_queue_once(
    tmp_path: Path, db_url: str, receiver: Receiver, smtp: SmtpSink, clock: FrozenClock
) -> None:
    config, store = _setup(tmp_path, db_url, receiver, smtp)
    add_post(store, clock.now(), "工地坍塌", severity=4)
    _evaluate(store, config, clock)
    clock.advance(timedelta(minutes=20))
    for _ in range(3):
        with store.session() as s:
            check_deadlines(s, config, clock.now())
    with store.session() as s:
        assert [(r.kind, r.channel) for r in outbox_rows(s)] == [
            ("open", "hook"),
            ("open", "mail"),
            ("escalate", "ding"),
            ("reminder", "hook"),
            ("reminder", "mail"),
        ]
    store.close()


def test_a_failing_channel_ends_failed_and_visible(
    tmp_path: Path, db_url: str, receiver: Receiver, smtp: SmtpSink, clock: FrozenClock
) -> None:
    config, store = _setup(
        tmp_path,
        db_url,
        receiver,
        smtp,
        notify={"max_attempts": 3, "default_channels": ["log"], "remind_at": 0},
    )
    smtp.stop()
    add_post(store, clock.now(), "工地坍塌", severity=4)
    _evaluate(store, config, clock)
    for _ in range(10):
        deliver_due(store, config, clock)
        clock.advance(timedelta(minutes=5))
    with store.session() as s:
        by_channel = {r.channel: r for r in outbox_rows(s)}
    assert by_channel["hook"].status == "sent"
    mail = by_channel["mail"]
    assert (mail.status, mail.attempts) == ("failed", 3)
    assert "Connection refused" in (mail.last_error or "") and mail.sent_at is None
    store.close()


def test_quiet_hours_hold_tier_iii_and_batch_them(
    tmp_path: Path, db_url: str, receiver: Receiver, smtp: SmtpSink, clock: FrozenClock
) -> None:
    config, store = _setup(tmp_path, db_url, receiver, smtp)
    clock.advance(timedelta(hours=10))  # Friday 20:00 local
    add_post(store, clock.now(), "违章搭建", severity=2)
    add_post(store, clock.now(), "噪音扰民", severity=2)
    _evaluate(store, config, clock)
    clock.advance(timedelta(days=1))  # Saturday
    assert deliver_due(store, config, clock).sent == 0
    clock.advance(timedelta(days=1, hours=12, minutes=31))  # Monday 08:31 local
    stats = deliver_due(store, config, clock)
    assert (stats.sent, stats.messages) == (4, 2)  # two alerts x (hook, mail), one send each
    (hit,) = receiver.at("/hook")
    assert hit.body["kind"] == "batch"
    assert [i["title"] for i in hit.body["items"]] == ["违章搭建", "噪音扰民"]
    (mail,) = smtp.messages
    assert mail["Subject"] == "【汇总通知】2 条告警通知"
    store.close()


def test_tier_iv_daily_digest(
    tmp_path: Path, db_url: str, receiver: Receiver, smtp: SmtpSink, clock: FrozenClock
) -> None:
    rules = [{"name": "severe-post", "kind": "single_post", "min_tier": "IV"}]
    config, store = _setup(tmp_path, db_url, receiver, smtp, rules=rules)
    add_post(store, clock.now(), "路灯不亮", severity=1)
    add_post(store, clock.now(), "井盖松动", severity=1)
    _evaluate(store, config, clock)
    with store.session() as s:
        assert outbox_rows(s) == []  # tier IV waits for the digest
        assert enqueue_digests(s, config, clock.now()) == 0  # today's digest time has passed
    clock.advance(timedelta(days=2, hours=22, minutes=31))  # Monday 08:31 local
    for _ in range(2):
        with store.session() as s:
            enqueue_digests(s, config, clock.now())
    deliver_due(store, config, clock)
    (hit,) = receiver.at("/hook")
    assert hit.body["kind"] == "digest" and len(hit.body["alert_ids"]) == 2
    assert hit.body["subject"] == "【每日汇总】湖滨社区网格 2026-11-23 一般（IV级）告警 2 条"
    assert [m["Subject"] for m in smtp.messages] == [hit.body["subject"]]
    store.close()
