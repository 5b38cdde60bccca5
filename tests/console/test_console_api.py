"""The JSON API: shapes, lifecycle, 409 on invalid transitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from alerts.status import ACTION_LABELS_ZH
from store.models import AuditLog, Response

if TYPE_CHECKING:
    from tests.console.conftest import Console

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # the fixture clock's start

ALERT_KEYS = {
    "id", "tier", "severity", "status", "team", "team_name", "title", "reason", "category",
    "area", "post_count", "opened_at", "deadline", "ack_deadline", "respond_deadline",
}  # fmt: skip


def _alerts(console: Console, **params: str) -> list[dict]:
    r = console.client.get("/api/v1/alerts", params=params)
    assert r.status_code == 200, r.text
    return r.json()["alerts"]


def test_healthz(console: Console) -> None:
    r = console.client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_openapi_lists_the_api(console: Console) -> None:
    paths = console.client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/alerts" in paths
    assert "/api/v1/alerts/{alert_id}/acknowledge" in paths
    assert "/api/v1/search" in paths
    schema = console.client.get("/api/v1/openapi.json").json()
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_alert_list_shape_and_order(console: Console, three_alerts: dict[str, int]) -> None:
    alerts = _alerts(console)
    assert [a["tier"] for a in alerts] == ["I", "II", "III"]  # nearest ack deadline first
    assert [a["severity"] for a in alerts] == [4, 3, 2]
    red = alerts[0]
    assert set(red) >= ALERT_KEYS
    assert red["status"] == "open"
    assert red["team"] == "donghu-hubin"
    assert red["team_name"] == "湖滨社区网格"
    assert red["post_count"] == 1
    assert red["area"] == "湖滨社区"
    assert datetime.fromisoformat(red["opened_at"]) == START
    # Tier I: 15 minutes to acknowledge, 5 hours to respond (config/alerts.yaml).
    assert datetime.fromisoformat(red["ack_deadline"]) == START + timedelta(minutes=15)
    assert datetime.fromisoformat(red["respond_deadline"]) == START + timedelta(hours=5)
    assert red["deadline"] == red["ack_deadline"]
    assert datetime.fromisoformat(red["deadline"]).utcoffset() == timedelta(0)


def test_alert_list_filters(console: Console, three_alerts: dict[str, int]) -> None:
    assert [a["team"] for a in _alerts(console, team="hexi")] == ["hexi"]
    assert _alerts(console, team="no-such-team") == []
    assert len(_alerts(console, status="open")) == 3
    assert _alerts(console, status="resolved") == []
    assert len(_alerts(console, limit="2")) == 2
    r = console.client.get("/api/v1/alerts", params={"status": "bogus"})
    assert r.status_code == 400
    assert "bogus" in r.json()["detail"]
    assert console.client.get("/api/v1/alerts", params={"limit": "0"}).status_code == 422


def test_lifecycle_through_the_api(console: Console, three_alerts: dict[str, int]) -> None:
    alert_id = _alerts(console)[0]["id"]
    c = console.client

    console.clock.advance(timedelta(minutes=5))
    r = c.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={"text": "已收到，正在核实"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "acknowledged"
    assert datetime.fromisoformat(body["acknowledged_at"]) == START + timedelta(minutes=5)
    assert body["deadline"] == body["respond_deadline"]  # now the respond deadline is pending

    console.clock.advance(timedelta(hours=1))
    r = c.post(
        f"/api/v1/alerts/{alert_id}/reply",
        json={"text": "应急管理部门已到场处置，伤员已送医。", "channel": "notice"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "responded"
    assert datetime.fromisoformat(r.json()["responded_at"]) == START + timedelta(minutes=65)

    console.clock.advance(timedelta(hours=1))
    r = c.post(f"/api/v1/alerts/{alert_id}/resolve")
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["status"] == "resolved"
    assert detail["deadline"] is None
    assert datetime.fromisoformat(detail["resolved_at"]) == START + timedelta(minutes=125)
    assert [x["action"] for x in detail["responses"]] == ["acknowledge", "reply", "resolve"]
    assert detail["responses"][1]["channel"] == "notice"
    assert {x["actor"] for x in detail["responses"]} == {"sup"}

    # Resolved alerts leave the default (active) list.
    assert alert_id not in [a["id"] for a in _alerts(console)]
    assert alert_id in [a["id"] for a in _alerts(console, status="resolved")]

    with console.app.store.session() as s:
        audit = s.scalars(
            select(AuditLog).where(AuditLog.target_id == str(alert_id)).order_by(AuditLog.id)
        ).all()
        assert [a.action for a in audit] == [
            "alert.open",
            "alert.acknowledge",
            "alert.reply",
            "alert.resolve",
        ]
        assert audit[1].actor == "sup"
        assert audit[1].detail == {"from": "open", "to": "acknowledged"}
        assert s.scalars(select(Response).where(Response.alert_id == alert_id)).all()


def test_reopen_gives_a_fresh_respond_deadline(
    console: Console, three_alerts: dict[str, int]
) -> None:
    alert_id = _alerts(console)[0]["id"]
    c = console.client
    c.post(f"/api/v1/alerts/{alert_id}/acknowledge")
    c.post(f"/api/v1/alerts/{alert_id}/resolve", json={"text": "误报"})
    console.clock.advance(timedelta(days=2))
    r = c.post(f"/api/v1/alerts/{alert_id}/reopen", json={"text": "群众再次反映"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "acknowledged"
    assert body["resolved_at"] is None
    # Tier I responds within 5 hours, counted from the reopening.
    assert datetime.fromisoformat(body["respond_deadline"]) == console.clock.now() + timedelta(
        hours=5
    )
    assert alert_id in [a["id"] for a in _alerts(console)]


def test_invalid_transitions_are_409(console: Console, three_alerts: dict[str, int]) -> None:
    alert_id = _alerts(console)[0]["id"]
    c = console.client
    for action in ("resolve", "reopen"):
        r = c.post(f"/api/v1/alerts/{alert_id}/{action}")
        assert r.status_code == 409, action
        assert r.json()["code"] == "transition_not_allowed", action
        assert "待确认" in r.json()["detail"] and ACTION_LABELS_ZH[action] in r.json()["detail"]
    assert c.post(f"/api/v1/alerts/{alert_id}/acknowledge").status_code == 200
    r = c.post(f"/api/v1/alerts/{alert_id}/acknowledge")
    assert r.status_code == 409
    assert "已确认" in r.json()["detail"] and r.json()["code"] == "transition_not_allowed"
    c.post(f"/api/v1/alerts/{alert_id}/resolve")
    assert c.post(f"/api/v1/alerts/{alert_id}/reply", json={"text": "x"}).status_code == 409
    # A refused transition writes nothing.
    detail = c.get(f"/api/v1/alerts/{alert_id}").json()
    assert [x["action"] for x in detail["responses"]] == ["acknowledge", "resolve"]


def test_reply_from_open_acknowledges_and_needs_text(
    console: Console, three_alerts: dict[str, int]
) -> None:
    alert_id = _alerts(console)[1]["id"]
    c = console.client
    r = c.post(f"/api/v1/alerts/{alert_id}/reply", json={"text": "   "})
    assert r.status_code == 400
    assert "回复" in r.json()["detail"]
    r = c.post(
        f"/api/v1/alerts/{alert_id}/reply", json={"text": "已安排环保部门检查", "channel": "online"}
    )
    assert r.status_code == 200
    assert r.json()["acknowledged_at"] == r.json()["responded_at"]
    assert c.post(f"/api/v1/alerts/{alert_id}/reply", json={"text": "x" * 6000}).status_code == 422


def test_missing_alert_and_post_are_404(console: Console) -> None:
    assert console.client.get("/api/v1/alerts/999").status_code == 404
    assert console.client.post("/api/v1/alerts/999/acknowledge").status_code == 404
    assert console.client.get("/api/v1/posts/999").status_code == 404
    assert console.client.get("/api/v1/alerts/abc").status_code == 422


def test_alert_detail_and_post_are_masked(console: Console, three_alerts: dict[str, int]) -> None:
    alert = _alerts(console)[0]
    detail = console.client.get(f"/api/v1/alerts/{alert['id']}").json()
    assert detail["allowed_actions"] == ["acknowledge", "reply"]
    [post] = detail["posts"]
    assert post["id"] == three_alerts["red"]
    assert "13812345678" not in post["text"]
    assert "138****5678" in post["text"]
    assert post["author"] == "张**"
    r = console.client.get(f"/api/v1/posts/{three_alerts['red']}")
    assert r.status_code == 200
    assert r.json()["text"] == post["text"]
    assert r.json()["tier"] == "I"


def test_cli_serialiser_is_the_api_serialiser(
    console: Console, three_alerts: dict[str, int]
) -> None:
    from alerts.views import alerts_as_dicts

    with console.app.store.session() as s:
        assert alerts_as_dicts(s) == _alerts(console)
        assert [a["team"] for a in alerts_as_dicts(s, team="hexi", status="open")] == ["hexi"]


def test_second_reply_keeps_first_response_time(
    console: Console, three_alerts: dict[str, int]
) -> None:
    alert_id = _alerts(console)[2]["id"]
    c = console.client
    first = c.post(f"/api/v1/alerts/{alert_id}/reply", json={"text": "已受理"}).json()
    console.clock.advance(timedelta(hours=3))
    second = c.post(f"/api/v1/alerts/{alert_id}/reply", json={"text": "已整改完毕"}).json()
    assert second["status"] == "responded"
    assert second["responded_at"] == first["responded_at"]
    assert [x["text"] for x in second["responses"]] == ["已受理", "已整改完毕"]
