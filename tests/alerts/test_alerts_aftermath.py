"""After a reply: calm-down tracking, and a flare-up that reopens a resolved alert."""

from __future__ import annotations

from datetime import timedelta

from alerts_testkit import START, add_post
from sqlalchemy import select

from alerts.aftermath import aftermath
from alerts.engine import evaluate_new_posts
from alerts.lifecycle import apply_action
from alerts.routing import Router
from store.alerting_models import NotificationOutbox
from store.db import Store
from store.models import Alert, AuditLog, Response
from yuqing.gazetteer import Gazetteer
from yuqing.settings import AppConfig


def _eval(store: Store, config: AppConfig, now):  # type: ignore[no-untyped-def]
    with store.session() as s:
        return evaluate_new_posts(s, config, Router(config.teams, Gazetteer(config.areas)), now)


def _open_and_resolve(store: Store, config: AppConfig) -> int:
    add_post(store, START, "小区燃气泄漏", severity=3)
    add_post(store, START, "小区燃气泄漏", severity=3, text="燃气味很重")
    _eval(store, config, START)
    with store.session() as s:
        aid = s.scalars(select(Alert.id)).one()
        assert aftermath(s, config, s.get(Alert, aid), START)["status"] == "pending"
        apply_action(s, aid, "reply", "wang", START + timedelta(hours=1), text="已关阀")
        apply_action(s, aid, "resolve", "wang", START + timedelta(hours=2))
    return aid


def test_calm_down_is_tracked(store: Store, config: AppConfig) -> None:
    aid = _open_and_resolve(store, config)
    with store.session() as s:
        alert = s.get(Alert, aid)
        am = aftermath(s, config, alert, START + timedelta(days=1))
        assert (am["status"], am["before"], am["after"]) == ("watching", 2, 0)
        assert am["before_max_tier"] == "II" and am["after_max_tier"] is None
        assert aftermath(s, config, alert, START + timedelta(days=4))["status"] == "calmed"


def test_flare_up_reopens_a_resolved_alert(store: Store, config: AppConfig) -> None:
    aid = _open_and_resolve(store, config)
    t = START + timedelta(days=1)
    for i in range(3):
        add_post(store, t, "小区燃气泄漏", severity=2, text=f"又闻到燃气味{i}")
        _eval(store, config, t + timedelta(minutes=i))
        with store.session() as s:
            alert = s.get(Alert, aid)
            if i < 2:
                assert alert.status == "resolved"
                assert aftermath(s, config, alert, t + timedelta(hours=1))["after"] == i + 1
    with store.session() as s:
        alert = s.get(Alert, aid)
        reopened_at = t + timedelta(minutes=2)
        assert alert.status == "open" and alert.resolved_at is None
        assert aftermath(s, config, alert, reopened_at)["status"] == "flaring"  # 3 after vs 2
        assert alert.ack_deadline == reopened_at + timedelta(minutes=30)  # tier II again
        r = s.scalars(select(Response).where(Response.action == "reopen")).one()
        assert r.actor == "system" and "新增 3 条" in (r.text or "")
        assert s.scalars(select(AuditLog).where(AuditLog.action == "alert.reopen")).one()
        kinds = [
            n.kind for n in s.scalars(select(NotificationOutbox).order_by(NotificationOutbox.id))
        ]
        assert kinds == ["open", "reopen"]


def test_a_higher_tier_post_reopens_at_once(store: Store, config: AppConfig) -> None:
    aid = _open_and_resolve(store, config)
    add_post(store, START, "小区燃气泄漏", severity=4, text="燃气爆炸，有人受伤")
    _eval(store, config, START + timedelta(hours=3))
    with store.session() as s:
        alert = s.get(Alert, aid)
        assert (alert.status, alert.tier) == ("open", 4)
        assert alert.ack_deadline == START + timedelta(hours=3, minutes=15)
