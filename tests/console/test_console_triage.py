"""Reassigning (转办), correcting category or tier (feeds retraining), the event timeline."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlalchemy import select

from store.classifier_models import ClassifierCorrection
from store.models import AuditLog, Post, Response

if TYPE_CHECKING:
    from tests.console.conftest import Console


def _ids(console: Console) -> dict[str, int]:
    alerts = console.client.get("/api/v1/alerts", params={"status": "all"}).json()["alerts"]
    return {a["team"]: a["id"] for a in alerts}


def test_reassign_moves_the_alert_out_of_scope(
    console: Console, three_alerts: dict[str, int]
) -> None:
    red = _ids(console)["donghu-hubin"]
    hubin = console.as_user("hubin")
    r = hubin.post(f"/api/v1/alerts/{red}/reassign", json={"team": "chengguan-nanmen",
                                                            "text": "不属本网格"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["team"] == "chengguan-nanmen" and r.json()["status"] == "open"
    assert hubin.get(f"/api/v1/alerts/{red}").status_code == 404  # no longer theirs
    with console.app.store.session() as s:
        resp = s.scalars(select(Response).where(Response.alert_id == red)).one()
        assert resp.action == "reassign" and resp.actor == "hubin"
        assert "donghu-hubin → chengguan-nanmen" in (resp.text or "")
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "alert.reassign")).one()
        assert audit.detail["team"] == ["donghu-hubin", "chengguan-nanmen"]
        assert audit.detail["reason"] == "不属本网格"
    c = console.client
    assert c.post(f"/api/v1/alerts/{red}/reassign", json={"team": "nowhere"}).status_code == 400
    assert (
        c.post(f"/api/v1/alerts/{red}/reassign", json={"team": "chengguan-nanmen"}).status_code
        == 400
    )
    assert (
        console.as_user("ana")
        .post(f"/api/v1/alerts/{red}/reassign", json={"team": "hexi"})
        .status_code
        == 403
    )
    assert c.post(f"/api/v1/alerts/{red}/acknowledge").status_code == 200
    assert c.post(f"/api/v1/alerts/{red}/resolve").status_code == 200
    r = c.post(f"/api/v1/alerts/{red}/reassign", json={"team": "hexi"})
    assert r.status_code == 409


def test_correct_category_and_tier_records_corrections(
    console: Console, three_alerts: dict[str, int]
) -> None:
    red = _ids(console)["donghu-hubin"]
    r = console.as_user("hubin").post(
        f"/api/v1/alerts/{red}/correct", json={"category": "环境保护", "tier": "II"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["category"] == "环境保护" and body["tier"] == "II"
    assert body["responses"][-1]["action"] == "correct"
    with console.app.store.session() as s:
        corr = s.scalars(select(ClassifierCorrection)).one()
        assert (corr.post_id, corr.actor) == (three_alerts["red"], "hubin")
        assert (corr.old_category, corr.new_category) == ("城乡建设", "环境保护")
        assert (corr.old_severity, corr.new_severity) == (4, 3)
        post = s.get(Post, three_alerts["red"])
        assert post.category == "环境保护" and post.severity == 3
    c = console.client
    assert c.post(f"/api/v1/alerts/{red}/correct", json={}).status_code == 400
    assert c.post(f"/api/v1/alerts/{red}/correct", json={"category": "天文"}).status_code == 400
    assert c.post(f"/api/v1/alerts/{red}/correct", json={"tier": "V"}).status_code == 400
    orange = _ids(console)["chengguan-nanmen"]
    r = console.as_user("hubin").post(f"/api/v1/alerts/{orange}/correct", json={"tier": "I"})
    assert r.status_code == 404


def test_forms_for_reassign_and_correct(console: Console, three_alerts: dict[str, int]) -> None:
    red = _ids(console)["donghu-hubin"]
    b = console.browser("donghu")
    page = b.get(f"/alerts/{red}").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert f'action="/alerts/{red}/reassign"' in page and "纠正" in page
    r = b.post(f"/alerts/{red}/correct", data={"tier": "III", "csrf_token": csrf},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"].endswith("done=correct")
    assert "已纠正" in b.get(r.headers["location"]).text
    assert b.post(f"/alerts/{red}/reassign", data={"team": "hexi"}).status_code == 403  # no CSRF
    r = b.post(f"/alerts/{red}/reassign", data={"team": "hexi", "csrf_token": csrf},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/?done=reassign"


def test_event_timeline_is_scoped(console: Console, three_alerts: dict[str, int]) -> None:
    with console.app.store.session() as s:
        red_event = s.get(Post, three_alerts["red"]).event_id
        orange_event = s.get(Post, three_alerts["orange"]).event_id
    ev = console.client.get(f"/api/v1/events/{red_event}").json()
    assert ev["title"] and [p["id"] for p in ev["posts"]] == [three_alerts["red"]]
    assert "13812345678" not in str(ev)
    html = console.client.get(f"/events/{red_event}").text
    assert "时间线" in html and "湖滨社区化工厂爆炸" in html
    hubin = console.as_user("hubin")
    assert hubin.get(f"/api/v1/events/{red_event}").status_code == 200
    assert hubin.get(f"/api/v1/events/{orange_event}").status_code == 404
    assert hubin.get(f"/events/{orange_event}").status_code == 404
    assert console.client.get("/api/v1/events/999999").status_code == 404
