"""A scripted day at the duty desk (研判), with an injected clock, through the service's
own jobs and real receivers: the desk's webhook, the grid's webhook and e-mail.

Friday 2026-11-20 (Asia/Shanghai), working hours. What must hold:
- a model-only tier II post notifies the desk, not the team;
- confirm: the team is notified, its deadlines start at the confirmation;
- dismiss: no team notification, a classifier correction stored;
- no decision: fail-open when the window ends (the team is told, and why);
- a certain trigger (a rubric term marked certain) skips the desk;
- a growing matter (more authors) raises its tier and tightens its deadline;
- a tier raised by hand tightens the deadline at once, and a pending notification
  for the old tier is superseded;
- posts published 10 days ago, found now, start no deadline in the past and page nobody.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from alerts_testkit import Receiver, SmtpSink, add_post, write_config
from sqlalchemy import select

from alerts import triage
from alerts.lifecycle import correct
from runtime.app import App
from runtime.jobs import evaluate_alerts
from runtime.service import Service
from store.alerting_models import NotificationOutbox
from store.classifier_models import ClassifierCorrection
from store.models import Alert, AlertPost, Post, Response
from yuqing.clock import FrozenClock
from yuqing.settings import load_config

SH = ZoneInfo("Asia/Shanghai")
RULES = [{"name": "severe-post", "kind": "single_post", "min_tier": "III"}]
TRIAGE = {
    "enabled": True,
    "windows": {"I": "10m", "II": "15m"},
    "certain": {"min_authors": 3, "min_sources": 2, "terms": ["身亡"]},
}


def at(day: int, h: int, m: int = 0) -> datetime:
    return datetime(2026, 11, day, h, m, tzinfo=SH).astimezone(UTC)


class Desk:
    def __init__(self, tmp_path: Path, db_url: str, receiver: Receiver, smtp: SmtpSink) -> None:
        cfg = write_config(
            tmp_path / "cfg",
            channels={
                "desk": {"kind": "webhook", "url": receiver.url + "/desk"},
                "hook": {"kind": "webhook", "url": receiver.url + "/hook"},
                "mail": {
                    "kind": "smtp",
                    "url": smtp.url,
                    "sender": "yuqing@county.example",
                    "recipients": ["hubin@example.org"],
                    "timeout": "5s",
                },
            },
            team_channels={"donghu-hubin": ["hook", "mail"], "county-triage": ["desk"]},
            default_channels=["log"],
            alerts={"rules": RULES, "triage": TRIAGE},
        )
        (cfg / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
        env = {"YUQING_DATABASE_URL": db_url, "YUQING_VAR_DIR": str(tmp_path / "var")}
        self.config = load_config(cfg, env)
        self.clock = FrozenClock(at(20, 9))
        self.svc = Service(App(self.config, clock=self.clock), holder="desk-test")

    @property
    def now(self) -> datetime:
        return self.clock.now()

    def to(self, when: datetime) -> None:
        assert when >= self.now
        self.clock.advance(when - self.now)
        self.svc.lock.acquire(self.now)
        for _ in range(2):  # a repeated run changes nothing
            evaluate_alerts(self.svc.app)
            for job in ("deadlines", "outbox"):
                self.svc.run(job)
        assert self.svc.errors == 0

    def post(self, title: str, **kw: object) -> int:
        return add_post(self.svc.app.store, self.now, title, **kw)  # type: ignore[arg-type]

    def alert(self, title: str) -> Alert:
        with self.svc.app.store.session() as s:
            a = s.scalars(select(Alert).where(Alert.title == title)).one()
            s.expunge(a)
            return a


def kinds(receiver: Receiver, path: str) -> list[tuple[str, int]]:
    return [(h.body["kind"], h.body["alert_id"]) for h in receiver.at(path)]


def test_a_day_at_the_duty_desk(
    tmp_path: Path, db_url: str, receiver: Receiver, smtp: SmtpSink
) -> None:
    d = Desk(tmp_path, db_url, receiver, smtp)
    store = d.svc.app.store
    # 09:00 four machine-only posts: two tier II, one tier I, and one certain tier I.
    d.post("湖滨社区燃气管道漏气", severity=3)  # confirmed by the desk
    d.post("湖滨社区有人打架", severity=3)  # dismissed
    d.post("湖滨社区楼顶有人徘徊", severity=4)  # nobody decides: fail-open
    d.post(
        "湖滨社区施工坠落",
        severity=4,
        text="湖滨社区工地一名工人坠落身亡",
        reasons=["规则: 命中‘身亡’(I级 特别重大)"],
    )  # certain: straight to the team
    d.to(at(20, 9))
    gas, fight, roof, fall = (
        d.alert(t).id
        for t in (
            "湖滨社区燃气管道漏气",
            "湖滨社区有人打架",
            "湖滨社区楼顶有人徘徊",
            "湖滨社区施工坠落",
        )
    )
    assert kinds(receiver, "/desk") == [("triage", gas), ("triage", fight), ("triage", roof)]
    assert kinds(receiver, "/hook") == [("open", fall)]  # the team hears only the certain one
    a = d.alert("湖滨社区燃气管道漏气")
    assert (a.status, a.triage, a.desk_team_id) == ("triage", "pending", "county-triage")
    assert a.triage_deadline == at(20, 9, 15)
    assert d.alert("湖滨社区楼顶有人徘徊").triage_deadline == at(20, 9, 10)
    assert d.alert("湖滨社区施工坠落").triage == "certain"

    # 09:04 the desk confirms the gas leak: the team is paged, deadlines from now.
    d.to(at(20, 9, 4))
    with store.session() as s:
        triage.confirm(s, d.config, gas, "desk-wang", d.now, "已电话核实")
    # 09:06 the desk dismisses the fight as a false alarm.
    d.to(at(20, 9, 6))
    with store.session() as s:
        triage.dismiss(s, d.config, fight, "desk-wang", d.now, "系游戏直播画面，非真实事件")
    d.to(at(20, 9, 7))
    a = d.alert("湖滨社区燃气管道漏气")
    assert (a.status, a.triage, a.triaged_by) == ("open", "confirmed", "desk-wang")
    assert (a.routed_at, a.ack_deadline) == (at(20, 9, 4), at(20, 9, 34))  # II: 30 min
    assert kinds(receiver, "/hook") == [("open", fall), ("open", gas)]
    f = d.alert("湖滨社区有人打架")
    assert (f.status, f.triage) == ("dismissed", "dismissed")
    with store.session() as s:
        (corr,) = s.scalars(select(ClassifierCorrection)).all()
        assert (corr.old_severity, corr.new_severity, corr.actor) == (3, 1, "desk-wang")
        assert "游戏直播" in corr.note

    # 09:10 nobody decided about the roof: it fails open and the team is told why.
    d.to(at(20, 9, 9))
    assert d.alert("湖滨社区楼顶有人徘徊").status == "triage"
    d.to(at(20, 9, 10))
    r = d.alert("湖滨社区楼顶有人徘徊")
    assert (r.status, r.triage, r.routed_at) == ("open", "failed_open", at(20, 9, 10))
    assert r.ack_deadline == at(20, 9, 25)  # tier I: 15 min from routing, not from 09:00
    hook = receiver.at("/hook")
    assert (hook[-1].body["kind"], hook[-1].body["alert_id"]) == ("open", roof)
    assert "自动派发" in hook[-1].body["note"]

    # 10:00 a tier III matter (routed, working-time deadlines) grows: three authors.
    d.to(at(20, 10))
    d.post("湖滨花园小区外墙瓷砖脱落", severity=2, author="resident-a")
    d.to(at(20, 10, 1))
    tiles = d.alert("湖滨花园小区外墙瓷砖脱落")
    assert (tiles.status, tiles.tier, tiles.ack_deadline) == ("open", 2, at(20, 12, 1))
    d.post("湖滨花园小区外墙瓷砖脱落", severity=2, author="resident-b")
    d.post("湖滨花园小区外墙瓷砖脱落", severity=2, author="resident-c")
    d.to(at(20, 10, 20))
    tiles = d.alert("湖滨花园小区外墙瓷砖脱落")
    assert tiles.tier == 3  # raised to II by the matter: three distinct authors
    assert tiles.ack_deadline == at(20, 10, 50)  # II's 30 min from the raise, not 12:00
    assert any("3 位不同作者" in (g.get("reason") or "") for g in tiles.signals or [])
    assert ("raise", tiles.id) in kinds(receiver, "/hook")

    # 14:00 a tier IV-graded post, corrected by hand to II: deadlines and notice at once.
    d.to(at(20, 14))
    d.post("湖滨社区路面塌陷", severity=2)
    d.to(at(20, 14, 1))
    hole = d.alert("湖滨社区路面塌陷")
    assert hole.ack_deadline == at(20, 16, 1)
    with store.session() as s:
        correct(
            s, hole.id, "supervisor-li", d.now, d.config.taxonomy, config=d.config,
            severity=3, text="塌陷扩大，已有车辆陷入",
        )  # fmt: skip
    hole = d.alert("湖滨社区路面塌陷")
    assert (hole.tier, hole.ack_deadline) == (3, at(20, 14, 31))
    d.to(at(20, 14, 2))
    assert ("raise", hole.id) in kinds(receiver, "/hook")
    with store.session() as s:
        history = s.scalars(select(Response.action).where(Response.alert_id == hole.id)).all()
        assert "retier" in history and "correct" in history

    # 15:00 a backfill: the 12345 export of ten days ago, found now. Nobody is paged.
    d.to(at(20, 15))
    old = at(10, 9)
    severe = ["湖滨社区燃气爆炸旧帖", "湖滨社区工地坍塌旧帖", "湖滨社区化工厂起火旧帖"]
    for title in severe:  # three matters (one matter's posts would form one event)
        d.post(title, severity=4, published_at=old)
    d.post("湖滨社区路灯不亮旧帖", severity=2, published_at=old)  # old and everyday: no alert
    d.to(at(20, 15, 1))
    assert not [h for h in receiver.hits if "旧帖" in h.body.get("subject", "")]
    assert not [m for m in smtp.messages if "旧帖" in m["Subject"]]
    with store.session() as s:
        backlog = s.scalars(select(Alert).where(Alert.title.in_(severe)).order_by(Alert.id)).all()
        assert [b.status for b in backlog] == ["backlog"] * 3
        assert s.scalars(select(Alert).where(Alert.title == "湖滨社区路灯不亮旧帖")).all() == []
        for b in backlog:
            assert b.ack_deadline >= d.now and b.respond_deadline >= d.now
            assert b.triage_deadline is not None and b.triage_deadline > d.now
        queued = s.scalars(
            select(NotificationOutbox).where(
                NotificationOutbox.alert_id.in_([b.id for b in backlog])
            )
        ).all()
        assert queued == []
        first = backlog[0].id
    with store.session() as s:
        triage.archive(s, first, "desk-wang", d.now, "十天前已处置完毕")
    assert d.alert("湖滨社区燃气爆炸旧帖").status == "dismissed"

    # Every e-mail matches a grid webhook message; the desk got none by e-mail.
    d.to(at(20, 15, 30))
    assert [m["Subject"] for m in smtp.messages] == [
        h.body["subject"] for h in receiver.at("/hook")
    ]
    with store.session() as s:
        posts = s.scalars(select(AlertPost.post_id).where(AlertPost.alert_id == fight)).all()
        assert [s.get(Post, p).severity for p in posts] == [1]  # the correction applied
    d.svc.app.close()


def test_an_undecided_alert_waits_when_fail_open_is_off(
    tmp_path: Path, db_url: str, receiver: Receiver, smtp: SmtpSink
) -> None:
    d = Desk(tmp_path, db_url, receiver, smtp)
    cfg = d.config.alerts.triage.model_copy(update={"fail_open": False})
    import dataclasses

    d.config = dataclasses.replace(
        d.config, alerts=d.config.alerts.model_copy(update={"triage": cfg})
    )
    d.svc.app.close()
    d.svc = Service(App(d.config, clock=d.clock), holder="desk-test")
    d.post("湖滨社区燃气管道漏气", severity=3)
    d.to(at(20, 9))
    d.to(at(20, 9) + timedelta(hours=1))
    a = d.alert("湖滨社区燃气管道漏气")
    assert a.status == "triage" and kinds(receiver, "/hook") == []
    d.svc.app.close()
