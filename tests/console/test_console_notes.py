"""备注: a note on an alert in any status, through the API and the alert page's form."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from alerts import lifecycle
from alerts.errors import InvalidInput
from store.models import AuditLog, Response

if TYPE_CHECKING:
    from tests.console.conftest import Console

HTML = {"Accept": "text/html"}


def _red(console: Console) -> int:
    alerts = console.client.get("/api/v1/alerts", params={"status": "all"}).json()["alerts"]
    return next(a["id"] for a in alerts if a["team"] == "donghu-hubin")


def test_note_through_the_api_in_every_status(
    console: Console, three_alerts: dict[str, int]
) -> None:
    red = _red(console)
    hubin = console.as_user("hubin")
    for step in ("", "acknowledge", "reply", "resolve"):
        if step:
            r = hubin.post(f"/api/v1/alerts/{red}/{step}", json={"text": "已处理"})
            assert r.status_code == 200, r.text
        before = hubin.get(f"/api/v1/alerts/{red}").json()
        r = hubin.post(f"/api/v1/alerts/{red}/note", json={"text": f"备注 {step or 'open'}"})
        assert r.status_code == 200, r.text
        after = r.json()
        assert after["status"] == before["status"]
        assert after["responses"][-1]["action"] == "note"
        assert after["responses"][-1]["text"] == f"备注 {step or 'open'}"
        assert after["allowed_actions"] == before["allowed_actions"]
    with console.app.store.session() as s:
        notes = s.scalars(select(Response).where(Response.action == "note")).all()
        assert [n.actor for n in notes] == ["hubin"] * 4
        audits = s.scalars(select(AuditLog).where(AuditLog.action == "alert.note")).all()
        assert [a.detail["status"] for a in audits] == [
            "open", "acknowledged", "responded", "resolved"
        ]  # fmt: skip
        assert {a.target_id for a in audits} == {str(red)}


def test_note_needs_text_role_and_scope(console: Console, three_alerts: dict[str, int]) -> None:
    red = _red(console)
    c = console.client
    assert c.post(f"/api/v1/alerts/{red}/note", json={"text": "  "}).status_code == 400
    assert c.post(f"/api/v1/alerts/{red}/note", json={}).status_code == 422
    assert c.post(f"/api/v1/alerts/{red}/note", json={"text": "x" * 5001}).status_code == 422
    assert console.as_user("ana").post(f"/api/v1/alerts/{red}/note",
                                       json={"text": "看看"}).status_code == 403  # fmt: skip
    assert console.as_user("hexi").post(f"/api/v1/alerts/{red}/note",
                                        json={"text": "看看"}).status_code == 404  # fmt: skip
    assert c.post("/api/v1/alerts/999999/note", json={"text": "看看"}).status_code == 404
    with console.app.store.session() as s:
        assert s.scalars(select(Response).where(Response.action == "note")).all() == []


def test_note_through_the_alert_page(console: Console, three_alerts: dict[str, int]) -> None:
    red = _red(console)
    c = console.browser("hubin")
    page = c.get(f"/alerts/{red}", headers=HTML).text
    assert f'action="/alerts/{red}/note"' in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = c.post(f"/alerts/{red}/note", data={"text": "已电话联系网格长"}, headers=HTML)
    assert r.status_code == 403  # no CSRF token
    r = c.post(f"/alerts/{red}/note", data={"text": "", "csrf_token": csrf}, headers=HTML)
    assert r.status_code == 400 and "备注内容不能为空" in r.text
    r = c.post(f"/alerts/{red}/note", data={"text": "已电话联系网格长", "csrf_token": csrf},
               headers=HTML, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == f"/alerts/{red}?done=note"
    page = c.get(r.headers["location"], headers=HTML).text
    assert "已备注" in page and "已电话联系网格长" in page
    assert console.client.get(f"/api/v1/alerts/{red}").json()["status"] == "open"


def test_note_service_keeps_status(console: Console, three_alerts: dict[str, int]) -> None:
    red = _red(console)
    with console.app.store.session() as s:
        alert = lifecycle.note(s, red, "sup", console.clock.now(), "跟进中")
        assert alert.status == "open"
    with console.app.store.session() as s, pytest.raises(InvalidInput, match="note"):
        lifecycle.apply_action(s, red, "note", "sup", console.clock.now())
