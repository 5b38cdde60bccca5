"""The console as people live in it: an alert's history explains itself (escalations,
notifications, decisions), every deadline counts down from the server's clock, and the
inbox's list can be polled on its own with the unread count beside it."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from alerts.escalation import check_deadlines
from alerts.outbox import deliver_due
from console.pages import countdown, countdown_text

if TYPE_CHECKING:
    from tests.console.conftest import Console


def _red(console: Console) -> int:
    console.add_post("湖滨社区化工厂爆炸", "湖滨社区化工厂发生爆炸。", severity=4, area="湖滨社区")
    console.evaluate()
    alerts = console.client.get("/api/v1/alerts").json()["alerts"]
    return int(alerts[0]["id"])


def escalate(console: Console) -> None:
    """Past the acknowledge deadline: the escalation job runs, the outbox is delivered."""
    console.clock.advance(timedelta(minutes=16))
    with console.app.store.session() as s:
        assert check_deadlines(s, console.app.config, console.clock.now()).escalated >= 1
    stats = deliver_due(console.app.store, console.app.config, console.clock)
    assert stats.sent >= 1, stats.errors


def test_an_escalated_alerts_history_names_the_level_and_the_notification(
    console: Console,
) -> None:
    alert_id = _red(console)
    escalate(console)
    detail = console.client.get(f"/api/v1/alerts/{alert_id}").json()
    kinds = [h["kind"] for h in detail["history"]]
    assert kinds[0] == "open" and "escalate" in kinds and "notify" in kinds
    step = next(h for h in detail["history"] if h["kind"] == "escalate")
    assert step["level"] == 1 and step["label"] == "超时升级至第 1 级"
    assert "确认超时" in step["text"] and "东湖街道" in step["text"]  # the grid's street
    sent = [h for h in detail["history"] if h["kind"] == "notify" and h["delivery"] == "sent"]
    assert sent and all("已送达" in h["text"] for h in sent)
    assert any(h["notify_kind"] == "escalate" for h in sent)
    html = console.client.get(f"/alerts/{alert_id}").text
    assert "已升级 1 次" in html and "尚无处置记录" not in html
    assert "超时升级至第 1 级" in html and "超时上报：经" in html and "已送达" in html


def test_a_failed_notification_says_so(console: Console) -> None:
    alert_id = _red(console)

    class Broken:
        def send(self, message: object) -> None:
            raise OSError("机器人地址不通")

    deliver_due(console.app.store, console.app.config, console.clock, lambda name: Broken())  # type: ignore[arg-type,return-value]
    history = console.client.get(f"/api/v1/alerts/{alert_id}").json()["history"]
    notes = [h for h in history if h["kind"] == "notify"]
    assert notes and all(h["delivery"] in ("pending", "failed") for h in notes)
    assert any("发送失败" in h["text"] or "待发送" in h["text"] for h in notes)


def test_decisions_and_deadline_changes_are_in_the_history(console: Console) -> None:
    alert_id = _red(console)
    r = console.client.post(
        f"/api/v1/alerts/{alert_id}/correct", json={"tier": "II", "text": "误判"}
    )
    assert r.status_code == 200, r.text
    history = console.client.get(f"/api/v1/alerts/{alert_id}").json()["history"]
    step = next(h for h in history if h["kind"] == "action" and h["action"] == "correct")
    assert "等级 I → II" in step["text"] and step["label"] == "纠正"
    # the deadline change, in local time (Asia/Shanghai): acknowledge 09:15 -> 09:30
    moved = next(h for h in history if h["kind"] == "action" and h["action"] == "retier")
    assert "确认时限 03-02 09:15 → 03-02 09:30" in moved["text"], moved


def test_countdown_words_and_colours() -> None:
    from datetime import UTC, datetime

    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    deadline = start + timedelta(minutes=60)
    assert countdown(deadline, start, start)["state"] == "ok"
    assert countdown(deadline, start, start + timedelta(minutes=44))["state"] == "ok"
    assert countdown(deadline, start, start + timedelta(minutes=45))["state"] == "warn"
    late = countdown(deadline, start, start + timedelta(minutes=70))
    assert late["state"] == "late" and late["text"] == "已超时 10 分"
    assert countdown_text(125 * 60) == "剩 2 小时 5 分"
    assert countdown_text(26 * 3600) == "剩 1 天 2 小时"


def test_inbox_list_fragment_carries_the_server_clock_and_unread(console: Console) -> None:
    _red(console)
    c = console.browser("hubin")
    page = c.get("/")
    assert page.status_code == 200
    assert "<title>(1) 告警收件箱" in page.text
    assert 'data-refresh="/inbox/list?"' in page.text or 'data-refresh="/inbox/list' in page.text
    assert "剩 15 分" in page.text and "cd-ok" in page.text
    console.clock.advance(timedelta(minutes=12))
    frag = c.get("/inbox/list")
    assert frag.status_code == 200
    assert frag.headers["X-Server-Now"] == console.clock.now().isoformat()
    assert "<html" not in frag.text and 'data-unread="1"' in frag.text
    assert "剩 3 分" in frag.text and "cd-warn" in frag.text
    console.clock.advance(timedelta(minutes=5))
    assert "已超时 2 分" in c.get("/inbox/list").text
