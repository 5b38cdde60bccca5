"""Deadlines per tier (wall-clock for I-II, working time for III-IV) and escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from alerts_testkit import START, add_post
from sqlalchemy import select

from alerts.engine import evaluate_new_posts
from alerts.escalation import chain, check_deadlines, escalations
from alerts.lifecycle import apply_action
from alerts.routing import Router
from alerts.worktime import WorkCalendar, deadlines
from store.alerting_models import NotificationOutbox
from store.db import Store
from store.models import Alert, AuditLog
from yuqing.gazetteer import Gazetteer
from yuqing.settings import AppConfig, WorkingTime

SH = ZoneInfo("Asia/Shanghai")


def local(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=SH).astimezone(UTC)


def test_default_deadlines_per_tier(config: AppConfig) -> None:
    fri10 = local(2026, 11, 20, 10)
    assert deadlines(config, "donghu", 4, fri10) == (
        fri10 + timedelta(minutes=15),
        fri10 + timedelta(hours=5),
    )
    assert deadlines(config, "donghu", 3, fri10) == (
        fri10 + timedelta(minutes=30),
        fri10 + timedelta(hours=24),
    )
    # III: 2 working hours; 48h = two working days (over the weekend).
    assert deadlines(config, "donghu", 2, fri10) == (
        local(2026, 11, 20, 12),
        local(2026, 11, 24, 10),
    )
    # IV: next working day, five working days.
    assert deadlines(config, "donghu", 1, fri10) == (
        local(2026, 11, 23, 10),
        local(2026, 11, 27, 10),
    )
    # Opened on Friday evening: the working clock starts on Monday morning.
    fri20 = local(2026, 11, 20, 20)
    assert deadlines(config, "donghu", 2, fri20)[0] == local(2026, 11, 23, 10, 30)
    # A team with its own hours (hexi works 08:00-17:00).
    assert deadlines(config, "hexi", 2, fri20)[0] == local(2026, 11, 23, 10)


def test_work_calendar_holidays_and_makeup_days() -> None:
    wt = WorkingTime(holidays=["2026-10-01"], workdays=["2026-10-10"])
    cal = WorkCalendar(wt, "Asia/Shanghai")
    assert not cal.is_working(local(2026, 10, 1, 10))  # a Thursday off
    assert cal.is_working(local(2026, 10, 10, 10))  # a Saturday worked
    assert cal.next_working(local(2026, 9, 30, 18)) == local(2026, 10, 2, 8, 30)
    assert cal.add(local(2026, 9, 30, 17), timedelta(hours=1)) == local(2026, 10, 2, 9)


def _open(store: Store, config: AppConfig, now: datetime, title: str, **kw: object) -> int:
    add_post(store, now, title, **kw)  # type: ignore[arg-type]
    router = Router(config.teams, Gazetteer(config.areas))
    with store.session() as s:
        evaluate_new_posts(s, config, router, now)
        return s.scalars(select(Alert.id).order_by(Alert.id.desc())).first()  # type: ignore[return-value]


def test_escalates_up_the_chain_once_per_level(store: Store, config: AppConfig) -> None:
    assert chain(config, "donghu-hubin") == ["donghu", "county-centre"]
    aid = _open(store, config, START, "工地坍塌", severity=4)  # tier I, donghu-hubin
    with store.session() as s:
        assert check_deadlines(s, config, START + timedelta(minutes=14)).escalated == 0
    # Acknowledge deadline 10:15 passes: level 1 (the street); again: nothing new.
    for _ in range(2):
        with store.session() as s:
            check_deadlines(s, config, START + timedelta(minutes=16))
    with store.session() as s:
        assert s.get(Alert, aid).escalation_level == 1
        assert [(e.level, e.team_id) for e in escalations(s, aid)] == [(1, "donghu")]
    # One acknowledge window later: level 2, the county; then the chain has ended.
    for minutes in (31, 60, 300, 600):
        with store.session() as s:
            check_deadlines(s, config, START + timedelta(minutes=minutes))
    with store.session() as s:
        alert = s.get(Alert, aid)
        assert alert.escalation_level == 2
        esc = escalations(s, aid)
        assert [(e.level, e.team_id, e.deadline) for e in esc] == [
            (1, "donghu", "acknowledge"),
            (2, "county-centre", "acknowledge"),
        ]
        assert [e.at for e in esc] == [START + timedelta(minutes=15), START + timedelta(minutes=30)]
        audits = s.scalars(
            select(AuditLog).where(AuditLog.action == "alert.escalate").order_by(AuditLog.id)
        ).all()
        assert [(a.target_id, a.detail["level"], a.detail["team"]) for a in audits] == [
            (str(aid), 1, "donghu"),
            (str(aid), 2, "county-centre"),
        ]
        rows = s.scalars(
            select(NotificationOutbox)
            .where(NotificationOutbox.alert_id == aid)
            .order_by(NotificationOutbox.id)
        ).all()
        assert [(r.kind, r.team_id) for r in rows] == [
            ("open", "donghu-hubin"),
            ("due", "donghu-hubin"),  # 80 % of the acknowledge window gone at 10:12
            ("escalate", "donghu"),
            ("reminder", "donghu-hubin"),
            ("escalate", "county-centre"),
            ("reminder", "donghu-hubin"),
        ]


def test_a_late_check_catches_up_with_the_same_steps(store: Store, config: AppConfig) -> None:
    aid = _open(store, config, START, "工地坍塌", severity=4)
    with store.session() as s:
        assert check_deadlines(s, config, START + timedelta(hours=2)).escalated == 2
        assert [e.at for e in escalations(s, aid)] == [
            START + timedelta(minutes=15),
            START + timedelta(minutes=30),
        ]


def test_acknowledged_in_time_does_not_escalate_until_respond_deadline(
    store: Store, config: AppConfig
) -> None:
    aid = _open(store, config, START, "工地坍塌", severity=4)
    with store.session() as s:
        apply_action(s, aid, "acknowledge", "wang", START + timedelta(minutes=10))
    with store.session() as s:
        assert check_deadlines(s, config, START + timedelta(hours=4)).escalated == 0
    with store.session() as s:  # respond deadline (5 h) passes without a reply
        check_deadlines(s, config, START + timedelta(hours=5, minutes=1))
        assert [(e.level, e.deadline) for e in escalations(s, aid)] == [(1, "respond")]
    with store.session() as s:
        apply_action(s, aid, "reply", "wang", START + timedelta(hours=5, minutes=5), text="已处置")
    with store.session() as s:
        assert check_deadlines(s, config, START + timedelta(days=1)).escalated == 0
        assert s.get(Alert, aid).escalation_level == 1


def test_tier_iii_counts_working_time(store: Store, config: AppConfig) -> None:
    fri17 = local(2026, 11, 20, 17)
    aid = _open(store, config, fri17, "小区违建", severity=2)
    with store.session() as s:
        alert = s.get(Alert, aid)
        assert alert.ack_deadline == local(2026, 11, 23, 10)  # 30 min Fri + 1.5 h Mon
        assert check_deadlines(s, config, local(2026, 11, 22, 23)).escalated == 0
        assert check_deadlines(s, config, local(2026, 11, 23, 10, 1)).escalated == 1


def test_a_reminder_before_each_deadline_once(store: Store, config: AppConfig) -> None:
    aid = _open(store, config, START, "燃气泄漏", severity=3)  # tier II: ack 30 min, respond 24 h
    for minutes in (20, 24, 25, 26):
        with store.session() as s:
            check_deadlines(s, config, START + timedelta(minutes=minutes))
    with store.session() as s:
        apply_action(s, aid, "acknowledge", "wang", START + timedelta(minutes=27))
    for hours in (12, 19, 20, 21):
        with store.session() as s:
            check_deadlines(s, config, START + timedelta(hours=hours))
    with store.session() as s:
        rows = s.scalars(
            select(NotificationOutbox)
            .where(NotificationOutbox.kind == "due")
            .order_by(NotificationOutbox.id)
        ).all()
        assert [r.created_at for r in rows] == [
            START + timedelta(minutes=24),  # 80 % of 30 min
            START + timedelta(hours=20),  # 80 % of the time from acknowledging to 24 h
        ]
        assert "确认时限将至" in rows[0].payload["text"]
        assert "回复时限将至" in rows[1].payload["text"]
        assert s.get(Alert, aid).escalation_level == 0
