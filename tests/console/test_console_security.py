"""Security: anonymous refusal, logins and their limit, CSRF, grid scope, roles, inert text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select
from starlette.routing import Mount

from console import accounts
from store.models import AuditLog

if TYPE_CHECKING:
    from tests.console.conftest import Console

HTML = {"Accept": "text/html"}


def _alert_id(console: Console, team: str) -> int:
    alerts = console.client.get("/api/v1/alerts", params={"status": "all"}).json()["alerts"]
    return next(a["id"] for a in alerts if a["team"] == team)


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def _routes(routes: list[Any]) -> Iterator[Any]:
    """Every route, through included routers (FastAPI wraps them since 0.16x)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)
        else:
            yield route


def test_every_route_refuses_anonymous(console: Console, three_alerts: dict[str, int]) -> None:
    anon = console.anonymous()
    web = console.client.app
    checked = 0
    for route in _routes(web.routes):
        if isinstance(route, Mount):
            continue
        path = getattr(route, "path", "")
        if path in ("/login", "/healthz"):
            continue
        methods = route.methods if isinstance(route, APIRoute) else getattr(route, "methods", None)
        for method in sorted(methods or {"GET"}):
            if method == "HEAD":
                continue
            for headers in ({}, HTML):
                r = anon.request(method, _concrete(path), headers=headers, follow_redirects=False)
                checked += 1
                if r.status_code == 303:
                    assert r.headers["location"].startswith("/login"), (method, path)
                else:
                    assert r.status_code == 401, (method, path, r.status_code)
                assert "湖滨社区" not in r.text
    assert checked > 20
    # the OpenAPI schema is behind the login too; /healthz and static files are not
    assert anon.get("/api/v1/openapi.json").status_code == 401
    assert anon.get("/healthz").status_code == 200
    assert anon.get("/static/console.css").status_code == 200
    assert anon.get("/login").status_code == 200


def test_anonymous_page_redirects_to_login_and_back(
    console: Console, three_alerts: dict[str, int]
) -> None:
    anon = console.anonymous()
    r = anon.get("/?status=all", headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2F%3Fstatus%3Dall"
    r = anon.post(
        "/login",
        data={"username": "sup", "password": "correct horse battery", "next": "/?status=all"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/?status=all"
    # no open redirect to another site
    r = console.anonymous().post(
        "/login",
        data={"username": "sup", "password": "correct horse battery", "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"


def test_session_cookie_flags(console: Console) -> None:
    r = console.anonymous().post(
        "/login",
        data={"username": "sup", "password": "correct horse battery"},
        follow_redirects=False,
    )
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("yuqing_session=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie


def test_wrong_password_and_rate_limit(console: Console) -> None:
    anon = console.anonymous()
    for _ in range(5):
        r = anon.post("/login", data={"username": "sup", "password": "wrong password"})
        assert r.status_code == 401 and "用户名或密码错误" in r.text
    # the sixth try is refused even with the right password
    r = anon.post("/login", data={"username": "sup", "password": "correct horse battery"})
    assert r.status_code == 429 and "yuqing_session" not in anon.cookies
    # another account from the same address is not locked out
    console.browser("ana")
    # after the window the right password works again
    console.clock.advance(timedelta(minutes=16))
    console.browser("sup")


def test_unknown_user_and_disabled_user_cannot_log_in(console: Console) -> None:
    anon = console.anonymous()
    assert anon.post("/login", data={"username": "nobody", "password": "x" * 10}).status_code == 401
    c = console.browser("hubin")
    tok = console.token("hubin")
    with console.app.store.session() as s:
        accounts.set_disabled(s, "hubin", True, console.clock.now())
    # the open session and the token stop working at once
    assert c.get("/api/v1/alerts").status_code == 401
    bearer = {"Authorization": f"Bearer {tok}"}
    assert console.anonymous().get("/api/v1/alerts", headers=bearer).status_code == 401
    r = anon.post("/login", data={"username": "hubin", "password": "correct horse battery"})
    assert r.status_code == 401


def test_bad_bearer_token_is_401(console: Console) -> None:
    r = console.anonymous().get("/api/v1/alerts", headers={"Authorization": "Bearer yq_nope"})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


def test_session_expires(console: Console) -> None:
    c = console.browser("sup")
    assert c.get("/api/v1/me").status_code == 200
    console.clock.advance(timedelta(hours=13))
    assert c.get("/api/v1/me").status_code == 401


def test_csrf_required_on_every_state_change(
    console: Console, three_alerts: dict[str, int]
) -> None:
    c = console.browser("sup")
    red = _alert_id(console, "donghu-hubin")
    csrf = c.get("/api/v1/me").json()["csrf_token"]
    assert csrf
    # API: no token, a wrong token -> 403, nothing changed
    assert c.post(f"/api/v1/alerts/{red}/acknowledge").status_code == 403
    r = c.post(f"/api/v1/alerts/{red}/acknowledge", headers={"X-CSRF-Token": "forged"})
    assert r.status_code == 403
    assert c.get(f"/api/v1/alerts/{red}").json()["status"] == "open"
    # form post without the hidden field -> 403
    r = c.post(f"/alerts/{red}/acknowledge", data={"text": "x"}, headers=HTML)
    assert r.status_code == 403 and "CSRF" in r.text
    # the page's own form carries the token and works
    page = c.get(f"/alerts/{red}").text
    field = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert field and field.group(1) == csrf
    r = c.post(
        f"/alerts/{red}/acknowledge",
        data={"text": "收到", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = c.post(f"/api/v1/alerts/{red}/resolve", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    # logout is a state change too
    assert c.post("/logout").status_code == 403
    assert c.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    assert c.get("/api/v1/me").status_code == 401


def test_cross_origin_post_is_refused(console: Console, three_alerts: dict[str, int]) -> None:
    red = _alert_id(console, "donghu-hubin")
    r = console.client.post(
        f"/api/v1/alerts/{red}/acknowledge", headers={"Origin": "http://evil.example"}
    )
    assert r.status_code == 403
    r = console.anonymous().post(
        "/login",
        data={"username": "sup", "password": "correct horse battery"},
        headers={"Origin": "http://evil.example"},
    )
    assert r.status_code == 403


def test_responder_sees_only_their_grid(console: Console, three_alerts: dict[str, int]) -> None:
    red, orange = _alert_id(console, "donghu-hubin"), _alert_id(console, "chengguan-nanmen")
    yellow = _alert_id(console, "hexi")
    hubin = console.as_user("hubin")
    assert [a["team"] for a in hubin.get("/api/v1/alerts").json()["alerts"]] == ["donghu-hubin"]
    # guessing ids: other grids' alerts and posts do not exist
    for other in (orange, yellow):
        assert hubin.get(f"/api/v1/alerts/{other}").status_code == 404
        assert hubin.get(f"/alerts/{other}").status_code == 404
        assert hubin.post(f"/api/v1/alerts/{other}/acknowledge").status_code == 404
    for name in ("orange", "yellow", "quiet"):
        assert hubin.get(f"/api/v1/posts/{three_alerts[name]}").status_code == 404
        assert hubin.get(f"/posts/{three_alerts[name]}").status_code == 404
    assert hubin.get(f"/api/v1/posts/{three_alerts['red']}").status_code == 200
    assert hubin.get(f"/api/v1/alerts/{red}").status_code == 200
    # asking for another team by filter gives nothing either
    assert hubin.get("/api/v1/alerts", params={"team": "hexi"}).json()["alerts"] == []
    html = hubin.get("/").text
    assert "南门社区" not in html and "河西村养殖场" not in html
    # the street team sees its grids' alerts (the escalation chain below it), not others'
    donghu = console.as_user("donghu")
    assert [a["id"] for a in donghu.get("/api/v1/alerts").json()["alerts"]] == [red]
    assert donghu.post(f"/api/v1/alerts/{red}/acknowledge").status_code == 200
    assert [a["team"] for a in console.as_user("hexi").get("/api/v1/alerts").json()["alerts"]] == [
        "hexi"
    ]
    # the supervisor sees all three
    assert len(console.client.get("/api/v1/alerts").json()["alerts"]) == 3


def test_roles(console: Console, three_alerts: dict[str, int]) -> None:
    red = _alert_id(console, "donghu-hubin")
    ana = console.as_user("ana")
    assert len(ana.get("/api/v1/alerts").json()["alerts"]) == 3  # reads everything
    assert ana.post(f"/api/v1/alerts/{red}/acknowledge").status_code == 403  # acts on nothing
    assert ana.get("/api/v1/search", params={"q": "污水"}).status_code in (200, 503)
    assert '<form method="post" action="/alerts/' not in ana.get(f"/alerts/{red}").text
    hubin = console.as_user("hubin")
    assert hubin.get("/api/v1/search", params={"q": "污水"}).status_code == 403
    r = hubin.get("/search", params={"q": "污水"}, headers=HTML)
    assert r.status_code == 403 and "<html" in r.text
    me = hubin.get("/api/v1/me").json()
    assert me["role"] == "responder" and me["team"] == "donghu-hubin" and me["via"] == "token"


HOSTILE_TITLE = "湖滨社区<script>alert('x')</script>{{ 7*7 }}{% raw %}"
HOSTILE_TEXT = (
    "湖滨社区 <img src=x onerror=alert(1)> {{ config }} ${7*7} {# c #} 电话13812345678 "
    "身份证110101199003071234"
)


def test_hostile_post_renders_inert_and_masked(console: Console) -> None:
    pid = console.add_post(
        HOSTILE_TITLE, HOSTILE_TEXT, severity=4, area="湖滨社区", author="王小明"
    )
    console.evaluate()
    alert = _alert_id(console, "donghu-hubin")
    for who in (console.client, console.as_user("hubin"), console.browser("ana")):
        for url in ("/", f"/alerts/{alert}", f"/posts/{pid}"):
            html = who.get(url).text
            assert "<script>alert" not in html and "<img src=x" not in html, url
            assert "&lt;script&gt;" in html, url
            assert "{{ 7*7 }}" in html, url  # shown as typed, never evaluated
            assert "13812345678" not in html and "110101199003071234" not in html, url
            assert "王小明" not in html, url
    api = console.client.get(f"/api/v1/posts/{pid}").json()
    assert "13812345678" not in api["text"] and api["author"] != "王小明"


def test_logins_are_audited(console: Console) -> None:
    console.browser("sup")
    with console.app.store.session() as s:
        actions = s.scalars(select(AuditLog.action).where(AuditLog.actor == "sup")).all()
    assert "user.login" in actions


@pytest.mark.parametrize("password", ["short", ""])
def test_weak_password_refused(console: Console, password: str) -> None:
    with console.app.store.session() as s, pytest.raises(accounts.AccountError):
        accounts.add_user(s, console.app.config, "newbie", password, "analyst", console.clock.now())


def test_every_state_change_needs_the_csrf_token(
    console: Console, three_alerts: dict[str, int]
) -> None:
    """Walk every unsafe route as a logged-in browser without the token: all 403."""
    c = console.browser("admin")
    checked = 0
    for route in _routes(console.client.app.routes):
        path = getattr(route, "path", "")
        if path == "/login" or isinstance(route, Mount):
            continue
        for method in sorted(getattr(route, "methods", None) or ()):
            if method in ("GET", "HEAD", "OPTIONS"):
                continue
            for kwargs in ({"data": {"text": "x"}}, {"json": {"text": "x"}}):
                r = c.request(method, _concrete(path), headers=HTML, **kwargs)
                assert r.status_code == 403, (method, path, r.status_code)
                checked += 1
    assert checked >= 20
    # nothing happened
    alerts = console.client.get("/api/v1/alerts").json()["alerts"]
    assert {a["status"] for a in alerts} == {"open"}
