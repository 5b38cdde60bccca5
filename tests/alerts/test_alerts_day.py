"""A scripted day with an injected clock, through the service's own jobs.

Friday 2026-11-20 (Asia/Shanghai). Posts arrive and alerts open; one is
acknowledged in time, one escalates twice (street, then county), a silence
suppresses one, a spike fires once and not again, the scheduler process is
replaced mid-day (after a deadline check queued notifications and before they
were sent), and the tier IV digest goes out on Monday morning. Every job runs
twice per step, as an overlapping or repeated run would. The receivers are real:
an HTTP server verifying DingTalk and Feishu signatures and an aiosmtpd server.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from alerts_testkit import Receiver, SmtpSink, add_post, receivers_config
from sqlalchemy import select

from alerts.escalation import escalations
from alerts.lifecycle import apply_action
from alerts.silences import add_silence
from runtime.app import App
from runtime.jobs import evaluate_alerts
from runtime.service import Service
from store.models import Alert, AuditLog
from yuqing.clock import FrozenClock
from yuqing.settings import load_config

SH = ZoneInfo("Asia/Shanghai")


def at(day: int, h: int, m: int = 0) -> datetime:
    return datetime(2026, 11, day, h, m, tzinfo=SH).astimezone(UTC)


RULES = [
    {"name": "severe-post", "kind": "single_post", "min_tier": "III"},
    {"name": "minor-watch", "kind": "keyword", "keywords": ["路灯"], "tier": "IV"},
    {
        "name": "spike",
        "kind": "spike",
        "window": "1h",
        "baseline": "7d",
        "min_count": 5,
        "tier": "III",
    },
]


class Day:
    def __init__(self, tmp_path: Path, db_url: str, receiver: Receiver, smtp: SmtpSink) -> None:
        cfg = receivers_config(tmp_path / "cfg", receiver, smtp, rules=RULES)
        (cfg / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
        env = {"YUQING_DATABASE_URL": db_url, "YUQING_VAR_DIR": str(tmp_path / "var")}
        self.config = load_config(cfg, env)
        self.clock = FrozenClock(at(20, 9))
        self.svc = self._service("process-1")

    def _service(self, holder: str) -> Service:
        return Service(App(self.config, clock=self.clock), holder=holder)

    def restart(self) -> None:
        """The process dies (no clean release) and another one starts."""
        self.svc.app.close()
        self.svc = self._service("process-2")

    def to(self, when: datetime, jobs: tuple[str, ...] = ("deadlines", "digest", "outbox")) -> None:
        assert when >= self.clock.now()
        self.clock.advance(when - self.clock.now())
        self.svc.lock.acquire(self.clock.now())
        for _ in range(2):
            evaluate_alerts(self.svc.app)
            for job in jobs:
                self.svc.run(job)
        assert self.svc.errors == 0

    def every(self, start: datetime, end: datetime, minutes: int = 5) -> None:
        t = start
        while t <= end:
            self.to(t)
            t += timedelta(minutes=minutes)

    def post(self, title: str, **kw: object) -> int:
        return add_post(self.svc.app.store, self.clock.now(), title, **kw)  # type: ignore[arg-type]

    def alert_id(self, title: str) -> int:
        with self.svc.app.store.session() as s:
            return s.scalars(select(Alert.id).where(Alert.title == title)).one()

    def act(self, alert_id: int, action: str, **kw: str) -> None:
        with self.svc.app.store.session() as s:
            apply_action(s, alert_id, action, "duty-officer", self.clock.now(), **kw)


def test_scripted_day(tmp_path: Path, db_url: str, receiver: Receiver, smtp: SmtpSink) -> None:
    day = Day(tmp_path, db_url, receiver, smtp)
    with day.svc.app.store.session() as s:
        add_silence(
            s,
            now=day.clock.now(),
            until=at(20, 12),
            created_by="li",
            reason="河西镇滑坡已由应急局接管",
            area="河西镇",
        )
    # 09:00 posts arrive.
    day.post("湖滨社区工地坍塌", severity=4)  # tier I -> A
    day.post("湖滨社区燃气泄漏", severity=3)  # tier II -> B
    day.post("湖滨社区路灯不亮", severity=1)  # tier IV (watch word) -> C, digest only
    day.post("河西镇山体滑坡", severity=4, area="河西镇")  # silenced
    day.to(at(20, 9))
    a, b, c = (
        day.alert_id(t) for t in ("湖滨社区工地坍塌", "湖滨社区燃气泄漏", "湖滨社区路灯不亮")
    )
    # 09:10 B is acknowledged in time (its deadline is 09:30).
    day.every(at(20, 9, 5), at(20, 9, 10))
    day.act(b, "acknowledge")
    # 09:15 A's acknowledge deadline passes: the deadline check queues the escalation,
    # then the process dies before delivering it.
    day.to(at(20, 9, 15), jobs=("deadlines",))
    day.restart()
    day.every(at(20, 9, 20), at(20, 9, 35))  # 09:30: A escalates again, to the county
    # 09:40-10:05 six traffic complaints in 湖滨社区 within the hour: a spike at the 5th.
    for i, t in enumerate(range(40, 66, 5)):
        day.to(at(20, 9 + t // 60, t % 60))
        day.post(f"湖滨路口拥堵{i}", severity=1, category="交通运输")
    day.every(at(20, 10, 10), at(20, 10, 15))
    s_id = day.alert_id("湖滨社区「交通运输」类诉求激增")
    day.act(s_id, "acknowledge")
    for i in range(4):  # more of the same: the active spike alert does not fire again
        day.post(f"湖滨路口又堵{i}", severity=1, category="交通运输")
    day.every(at(20, 10, 20), at(20, 11))
    day.act(b, "reply", text="已关阀抢修，燃气公司在场", channel="onsite")
    day.act(a, "acknowledge")
    day.act(a, "reply", text="已封闭现场，伤员送医", channel="notice")
    day.every(at(20, 11, 5), at(20, 18), minutes=30)
    # The weekend passes; Monday 08:35 the tier IV digest goes out; C is acknowledged.
    day.to(at(23, 8, 35))
    day.act(c, "acknowledge")
    day.every(at(23, 8, 40), at(23, 10), minutes=20)

    assert receiver.rejected == []
    hook = [
        (h.body.get("kind"), h.body.get("alert_id"), h.body["subject"])
        for h in receiver.at("/hook")
    ]
    assert hook == [
        ("open", a, "【新告警】[I级 特别重大] 湖滨社区工地坍塌"),
        ("open", b, "【新告警】[II级 重大] 湖滨社区燃气泄漏"),
        ("reminder", a, "【超时催办】[I级 特别重大] 湖滨社区工地坍塌"),
        ("reminder", a, "【超时催办】[I级 特别重大] 湖滨社区工地坍塌"),
        ("open", s_id, "【新告警】[III级 较大] 湖滨社区「交通运输」类诉求激增"),
        ("due", c, "【时限将至】[IV级 一般] 湖滨社区路灯不亮"),  # ack by 09:00 Monday
        ("digest", None, "【每日汇总】湖滨社区网格 2026-11-23 一般（IV级）告警 1 条"),
    ]
    assert "已上报第 1 级：东湖街道办事处（donghu）" in receiver.at("/hook")[2].body["text"]
    assert (
        "已上报第 2 级：云溪县舆情应对中心（county-centre）" in receiver.at("/hook")[3].body["text"]
    )
    assert receiver.at("/hook")[6].body["alert_ids"] == [c]
    assert [m["Subject"] for m in smtp.messages] == [x[2] for x in hook]
    (ding,) = receiver.at("/dingtalk")
    assert ding.body["markdown"]["title"] == "【超时上报】[I级 特别重大] 湖滨社区工地坍塌"
    assert ding.query["timestamp"] == str(
        int(at(20, 9, 20).timestamp() * 1000)
    )  # sent after restart
    (feishu,) = receiver.at("/feishu")
    assert feishu.body["content"]["text"].startswith("【超时上报】[I级 特别重大] 湖滨社区工地坍塌")
    assert "已上报第 2 级：云溪县舆情应对中心（county-centre）" in feishu.body["content"]["text"]
    (wecom,) = receiver.at("/wecom")
    assert wecom.body["markdown"]["content"].startswith("### 【超时上报】")

    with day.svc.app.store.session() as s:
        assert [(e.level, e.team_id, e.at) for e in escalations(s, a)] == [
            (1, "donghu", at(20, 9, 15)),
            (2, "county-centre", at(20, 9, 30)),
        ]
        assert s.get(Alert, b).escalation_level == 0
        assert s.get(Alert, c).escalation_level == 0
        assert s.get(Alert, s_id).escalation_level == 0
        assert s.scalars(select(Alert.id).where(Alert.area == "河西镇")).all() == []
        silenced = s.scalars(select(AuditLog).where(AuditLog.action == "alert.silenced")).all()
        assert len(silenced) == 1
        assert len(s.scalars(select(Alert).where(Alert.rule == "spike")).all()) == 1
    day.svc.app.close()
