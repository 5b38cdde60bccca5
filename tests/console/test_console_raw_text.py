"""查看原文: unmasked text only for console.raw_text_roles, by POST, with a reason, audited."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from console.web import create_app
from runtime.app import App
from store.models import AuditLog
from store.raw import keep_raw
from yuqing.settings import ConsoleSettings, load_config

if TYPE_CHECKING:
    from tests.console.conftest import Console

PHONE = "13812345678"
HTML = {"Accept": "text/html"}


def _post_with_raw(console: Console) -> int:
    pid = console.add_post(
        "湖滨社区化工厂噪声",
        "湖滨社区化工厂夜里噪声很大，联系人电话138****5678。",
        severity=4,
        area="湖滨社区",
        author="u_1234",
    )
    raw = {
        "title": "湖滨社区化工厂噪声",
        "text": f"湖滨社区化工厂夜里噪声很大，联系人电话{PHONE}。",
        "author": "李大明",
        "reply": None,
    }
    with console.app.store.session() as s:
        keep_raw(s, pid, console.app.privacy.encrypt(raw), console.clock.now())
    console.evaluate()
    return pid


def _csrf(page: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert m is not None
    return m.group(1)


def _raw_audits(console: Console) -> list[AuditLog]:
    with console.app.store.session() as s:
        rows = s.scalars(select(AuditLog).where(AuditLog.action == "post.raw_view")).all()
        s.expunge_all()
        return list(rows)


def test_supervisor_sees_raw_text_through_the_form_and_is_audited(console: Console) -> None:
    pid = _post_with_raw(console)
    c = console.browser("sup")
    page = c.get(f"/posts/{pid}", headers=HTML).text
    assert "查看原文" in page and f'action="/posts/{pid}/raw"' in page
    assert PHONE not in page
    r = c.post(f"/posts/{pid}/raw", data={"reason": "核实联系人", "csrf_token": _csrf(page)},
               headers=HTML)  # fmt: skip
    assert r.status_code == 200, r.text
    assert PHONE in r.text and "李大明" in r.text
    assert r.headers["cache-control"] == "no-store"
    [audit] = _raw_audits(console)
    assert (audit.actor, audit.target_type, audit.target_id) == ("sup", "post", str(pid))
    assert audit.detail == {"reason": "核实联系人"}


def test_raw_text_form_needs_csrf_and_a_reason(console: Console) -> None:
    pid = _post_with_raw(console)
    c = console.browser("admin")
    page = c.get(f"/posts/{pid}", headers=HTML).text
    r = c.post(f"/posts/{pid}/raw", data={"reason": "核实联系人"}, headers=HTML)
    assert r.status_code == 403 and PHONE not in r.text
    for reason in ("", " x "):
        r = c.post(f"/posts/{pid}/raw", data={"reason": reason, "csrf_token": _csrf(page)},
                   headers=HTML)  # fmt: skip
        assert r.status_code == 400 and PHONE not in r.text
        assert "理由" in r.text
    assert _raw_audits(console) == []


def test_raw_text_api(console: Console) -> None:
    pid = _post_with_raw(console)
    admin = console.as_user("admin")
    r = admin.post(f"/api/v1/posts/{pid}/raw", json={"reason": "依法调查取证"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert PHONE in body["text"] and body["author"] == "李大明" and body["id"] == pid
    assert r.headers["cache-control"] == "no-store"
    assert admin.post(f"/api/v1/posts/{pid}/raw", json={}).status_code == 400
    assert admin.post(f"/api/v1/posts/{pid}/raw").status_code == 400
    assert admin.post(f"/api/v1/posts/{pid}/raw", json={"reason": "a"}).status_code == 400
    assert admin.post("/api/v1/posts/999999/raw", json={"reason": "核实"}).status_code == 404
    plain = console.add_post("白塔村路灯不亮", "白塔村路灯坏了好几天。", severity=1, area="白塔村")
    assert admin.post(f"/api/v1/posts/{plain}/raw", json={"reason": "核实"}).status_code == 404
    [audit] = _raw_audits(console)
    assert audit.actor == "admin" and audit.detail == {"reason": "依法调查取证"}


def test_session_api_call_needs_csrf(console: Console) -> None:
    pid = _post_with_raw(console)
    c = console.browser("sup")
    r = c.post(f"/api/v1/posts/{pid}/raw", json={"reason": "核实联系人"})
    assert r.status_code == 403 and PHONE not in r.text
    csrf = c.get("/api/v1/me").json()["csrf_token"]
    r = c.post(f"/api/v1/posts/{pid}/raw", json={"reason": "核实联系人"},
               headers={"X-CSRF-Token": csrf})  # fmt: skip
    assert r.status_code == 200 and PHONE in r.text


@pytest.mark.parametrize("username", ["hubin", "ana"])
def test_other_roles_never_see_the_raw_text(console: Console, username: str) -> None:
    pid = _post_with_raw(console)
    api = console.as_user(username)
    r = api.post(f"/api/v1/posts/{pid}/raw", json={"reason": "核实联系人"})
    assert r.status_code == 403 and PHONE not in r.text
    assert PHONE not in api.get(f"/api/v1/posts/{pid}").text
    c = console.browser(username)
    page = c.get(f"/posts/{pid}", headers=HTML)
    assert page.status_code == 200
    assert "查看原文" not in page.text and PHONE not in page.text
    alerts = c.get("/api/v1/alerts").json()["alerts"]
    for a in alerts:
        assert PHONE not in c.get(f"/alerts/{a['id']}", headers=HTML).text
    assert PHONE not in c.get("/", headers=HTML).text
    r = c.post(f"/posts/{pid}/raw", data={"reason": "核实联系人", "csrf_token": _csrf(page.text)},
               headers=HTML)  # fmt: skip
    assert r.status_code == 403 and PHONE not in r.text
    assert _raw_audits(console) == []


def test_scope_hides_raw_text_of_other_grids(console: Console) -> None:
    """A reader role with a grid scope (responders allowed by config) gets 404 outside it."""
    pid = _post_with_raw(console)
    cfg = console.app.config
    console_settings = cfg.settings.console.model_copy(
        update={"raw_text_roles": ("responder", "supervisor", "admin")}
    )
    settings = cfg.settings.model_copy(update={"console": console_settings})
    app = App(dataclasses.replace(cfg, settings=settings), clock=console.clock)
    app._store, app._privacy = console.app.store, console.app.privacy  # same database and keys
    with TestClient(create_app(app)) as client:
        for user, status in (("hubin", 200), ("hexi", 404)):
            r = client.post(f"/api/v1/posts/{pid}/raw", json={"reason": "核实联系人"},
                            headers={"Authorization": f"Bearer {console.token(user)}"})  # fmt: skip
            assert r.status_code == status, (user, r.text)
    assert [a.actor for a in _raw_audits(console)] == ["hubin"]


def test_raw_text_roles_are_validated(tmp_path: Path) -> None:
    assert ConsoleSettings().raw_text_roles == ("supervisor", "admin")
    assert ConsoleSettings(raw_text_roles=["analyst"]).raw_text_roles == ("analyst",)
    with pytest.raises(ValueError, match="raw_text_roles"):
        ConsoleSettings(raw_text_roles=["boss"])
    config = load_config(Path(__file__).parents[2] / "config", {"YUQING_VAR_DIR": str(tmp_path)})
    assert config.settings.console.raw_text_roles == ("supervisor", "admin")
