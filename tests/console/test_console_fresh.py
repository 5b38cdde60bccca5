"""The console's caches never show stale data: a new or changed alert, a logout, a
disabled user, a revoked token or a new role takes effect on the very next request,
whoever wrote it (this process, or another connection as another process would), on
SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, update
from sqlalchemy.orm import Session

from console import accounts
from console.freshness import StoreVersion
from console.web import create_app
from runtime.app import App
from store.console_models import ApiToken
from store.models import Alert, User
from tests.console.conftest import (
    CONFIG_DIR,
    PASSWORD,
    START,
    USERS,
    Console,
    without_triage,
)
from yuqing.clock import FrozenClock
from yuqing.settings import load_config


@pytest.fixture
def fresh(db_url: str, tmp_path: Path) -> Iterator[Console]:
    """The console on each store (SQLite; PostgreSQL when configured)."""
    env = {"YUQING_VAR_DIR": str(tmp_path), "YUQING_DATABASE_URL": db_url}
    config = without_triage(load_config(CONFIG_DIR, env))
    clock = FrozenClock(START)
    app = App(config, clock=clock)
    with app.store.session() as s:
        for name, (role, team) in USERS.items():
            accounts.add_user(s, config, name, PASSWORD, role, START, team_id=team)
    with TestClient(create_app(app)) as client:
        with app.store.session() as s:
            client.headers["Authorization"] = "Bearer " + accounts.create_token(s, "sup", START)
        yield Console(app, client, clock)
    app.close()


@pytest.fixture
def other(fresh: Console) -> Iterator[Session]:
    """A session on connections of its own, as another process (the scheduler, the CLI,
    another `serve` worker) writes."""
    engine = create_engine(fresh.app.store.engine.url)
    with Session(engine) as s:
        yield s
    engine.dispose()


def _titles(client: TestClient, **params: str) -> list[str]:
    r = client.get("/api/v1/alerts", params=params)
    assert r.status_code == 200, r.text
    return [a["title"] for a in r.json()["alerts"]]


def _alert(console: Console, title: str, area: str = "湖滨社区") -> None:
    console.add_post(title, title + "，请尽快处理。", severity=3, area=area)
    console.evaluate()


def test_store_version_changes_with_a_commit_elsewhere_only(fresh: Console, other: Session) -> None:
    version = StoreVersion(str(fresh.app.store.engine.url), lambda: fresh.app.store.engine)
    try:
        first = version.current()
        assert first is not None
        assert version.current() == first  # nothing written: the same
        with fresh.app.store.session() as s:  # a read is no change
            s.scalars(Alert.__table__.select()).all()
        assert version.current() == first
        other.execute(update(User).where(User.username == "ana").values(display_name="安"))
        other.commit()
        assert version.current() != first
    finally:
        version.close()


def test_a_new_alert_shows_at_once(fresh: Console) -> None:
    _alert(fresh, "湖滨社区化工厂爆炸")
    assert _titles(fresh.client) == _titles(fresh.client) == ["湖滨社区化工厂爆炸"]
    assert _titles(fresh.client, status="open") == ["湖滨社区化工厂爆炸"]
    _alert(fresh, "南门社区污水直排河道", area="南门社区")
    assert set(_titles(fresh.client)) == {"湖滨社区化工厂爆炸", "南门社区污水直排河道"}
    assert len(_titles(fresh.client, status="open")) == 2


def test_a_change_through_the_api_shows_at_once(fresh: Console) -> None:
    _alert(fresh, "湖滨社区化工厂爆炸")
    alert = fresh.client.get("/api/v1/alerts").json()["alerts"][0]
    assert alert["status"] == "open"
    assert fresh.client.post(f"/api/v1/alerts/{alert['id']}/acknowledge").status_code == 200
    listed = fresh.client.get("/api/v1/alerts").json()["alerts"][0]
    assert listed["status"] == "acknowledged"
    assert _titles(fresh.client, status="open") == []


def test_a_change_by_another_process_shows_at_once(fresh: Console, other: Session) -> None:
    _alert(fresh, "湖滨社区化工厂爆炸")
    assert _titles(fresh.client) == ["湖滨社区化工厂爆炸"]
    other.execute(update(Alert).values(title="湖滨社区化工厂爆炸（已核实）"))
    other.commit()
    assert _titles(fresh.client) == ["湖滨社区化工厂爆炸（已核实）"]


def test_each_scope_gets_its_own_list(fresh: Console) -> None:
    _alert(fresh, "湖滨社区化工厂爆炸")
    _alert(fresh, "河西村养殖场臭味扰民", area="河西村")
    everyone = _titles(fresh.client)  # the supervisor's list first, so it is cached
    assert len(everyone) == 2
    assert _titles(fresh.as_user("hubin")) == ["湖滨社区化工厂爆炸"]
    assert _titles(fresh.as_user("hexi")) == ["河西村养殖场臭味扰民"]


def test_revoked_token_and_disabled_user_are_refused_at_once(
    fresh: Console, other: Session
) -> None:
    token = fresh.token("hubin")
    grid = TestClient(fresh.client.app, headers={"Authorization": f"Bearer {token}"})
    assert grid.get("/api/v1/me").status_code == 200
    assert grid.get("/api/v1/me").status_code == 200  # now from the cache
    other.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == accounts.hash_secret(token))
        .values(revoked=True)
    )
    other.commit()
    assert grid.get("/api/v1/me").status_code == 401

    ana = fresh.as_user("ana")
    assert ana.get("/api/v1/me").status_code == 200
    accounts.set_disabled(other, "ana", True, START)
    other.commit()
    assert ana.get("/api/v1/me").status_code == 401


def test_a_new_role_applies_at_once(fresh: Console, other: Session) -> None:
    ana = fresh.as_user("ana")
    assert ana.get("/api/v1/me").json()["role"] == "analyst"
    assert ana.post("/api/v1/alerts/1/acknowledge").status_code == 403
    other.execute(
        update(User).where(User.username == "ana").values(role="responder", team_id="hexi")
    )
    other.commit()
    me = ana.get("/api/v1/me").json()
    assert (me["role"], me["teams"]) == ("responder", ["hexi"])
    assert ana.get("/api/v1/search", params={"q": "污水"}).status_code == 403


def test_logout_ends_the_session_at_once(fresh: Console) -> None:
    browser = fresh.browser("sup")
    assert browser.get("/api/v1/me").status_code == 200
    csrf = browser.get("/api/v1/me").json()["csrf_token"]
    kept = dict(browser.cookies)
    r = browser.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    replay = TestClient(fresh.client.app, cookies=kept)  # the old cookie, sent again
    assert replay.get("/api/v1/me").status_code == 401


def test_no_cache_without_a_version() -> None:
    """A store whose changes cannot be told (an in-memory database) is never cached."""
    version = StoreVersion("sqlite://", lambda: None)  # type: ignore[arg-type,return-value]
    assert version.kind is None
    assert version.current() is None


def test_an_unchanged_store_answers_from_memory(fresh: Console) -> None:
    """The caches do work: with nothing written, a repeated list asks the store nothing."""
    from sqlalchemy import event

    _alert(fresh, "湖滨社区化工厂爆炸")
    fresh.client.get("/api/v1/alerts")  # stamps the token's last use: a write
    first = fresh.client.get("/api/v1/alerts").json()
    statements: list[str] = []
    engine = fresh.app.store.engine
    listen = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listen)
    try:
        assert fresh.client.get("/api/v1/alerts").json() == first
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert statements == []


def test_a_newly_indexed_post_is_found_at_once(fresh: Console) -> None:
    from runtime.jobs import drain_index

    def total(q: str) -> int:
        r = fresh.client.get("/api/v1/search", params={"q": q})
        assert r.status_code == 200, r.text
        return int(r.json()["total"])

    assert total("燃气泄漏") == total("燃气泄漏") == 0  # the second from the cache
    fresh.add_post(
        "湖滨社区燃气泄漏", "湖滨社区燃气泄漏，居民已疏散。", severity=3, area="湖滨社区"
    )
    drain_index(fresh.app)  # the outbox into the index, as `yuqing run` does
    assert total("燃气泄漏") == 1


def test_the_inbox_page_shows_a_new_alert_at_once(fresh: Console) -> None:
    _alert(fresh, "湖滨社区化工厂爆炸")
    grid = fresh.browser("hubin")
    for _ in range(2):  # the second answer from the cache
        frag = grid.get("/inbox/list").text
        assert "湖滨社区化工厂爆炸" in frag and 'data-unread="1"' in frag
    _alert(fresh, "湖滨社区燃气泄漏")
    frag = grid.get("/inbox/list").text
    assert "湖滨社区燃气泄漏" in frag and 'data-unread="2"' in frag
    assert "湖滨社区燃气泄漏" in grid.get("/").text


def test_a_version_read_begun_before_a_caller_came_is_not_reused(tmp_path: Path) -> None:
    """Callers queued behind a read share it only if it began after they arrived: one
    begun earlier may predate a commit they must see."""
    import threading

    version = StoreVersion(f"sqlite:///{tmp_path / 'v.db'}", lambda: None)
    asked: list[int] = []
    first_ask_running, release_first = threading.Event(), threading.Event()

    def ask() -> str:
        asked.append(len(asked) + 1)
        if len(asked) == 1:
            first_ask_running.set()
            assert release_first.wait(30)
        return str(len(asked))

    version._ask = ask  # type: ignore[method-assign]  # counts asks; the first one waits
    answers: dict[str, str | None] = {}
    a = threading.Thread(target=lambda: answers.update(a=version.current()))
    a.start()
    assert first_ask_running.wait(30)
    b = threading.Thread(target=lambda: answers.update(b=version.current()))
    b.start()  # arrives while A's read runs: must read again, not take A's answer
    release_first.set()
    a.join(30)
    b.join(30)
    assert answers == {"a": "1", "b": "2"} and asked == [1, 2]
    version.close()
