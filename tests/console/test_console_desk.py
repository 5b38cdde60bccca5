"""The duty desk's queue (研判队列) in the console and the API, on the bundled config."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from alerts import triage
from store.classifier_models import ClassifierCorrection

if TYPE_CHECKING:
    from tests.console.conftest import Console


def _queue(c: Console) -> dict[str, int]:
    c.add_post("湖滨社区化工厂爆炸", "湖滨社区化工厂发生爆炸。", severity=4, area="湖滨社区")
    c.add_post("南门社区污水直排", "南门社区工厂夜间直排污水。", severity=3, area="南门社区")
    c.evaluate()
    alerts = c.client.get("/api/v1/triage").json()["triage"]
    return {a["title"]: a["id"] for a in alerts}


def test_desk_page_decides_and_the_team_sees_only_what_it_confirmed(
    desk_console: Console,
) -> None:
    c = desk_console
    ids = _queue(c)
    boom, sewage = ids["湖滨社区化工厂爆炸"], ids["南门社区污水直排"]
    hubin = c.as_user("hubin")
    assert hubin.get("/api/v1/alerts").json()["alerts"] == []  # not the team's yet
    assert hubin.get(f"/api/v1/alerts/{boom}").status_code == 404
    assert hubin.get("/api/v1/triage").json() == {"triage": [], "review": [], "backlog": []}

    b = c.browser("desk")
    page = b.get("/triage").text
    assert "研判队列" in page and "湖滨社区化工厂爆炸" in page and "南门社区污水直排" in page
    assert 'src="/static/triage.js"' in page and 'data-refresh="/triage/queue"' in page
    assert "剩 10 分 0 秒" in page  # tier I: ten minutes to decide
    fragment = b.get("/triage/queue").text
    assert "<html" not in fragment and f'data-alert-id="{boom}"' in fragment
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert b.post(f"/triage/{boom}/confirm", data={}).status_code == 403  # no CSRF token
    r = b.post(f"/triage/{boom}/confirm", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/triage?done=confirm"
    assert "已确认并派发" in b.get(r.headers["location"]).text
    (a,) = hubin.get("/api/v1/alerts").json()["alerts"]
    assert (a["id"], a["status"], a["triage"], a["triaged_by"]) == (
        boom,
        "open",
        "confirmed",
        "desk",
    )
    detail = c.browser("sup").get(f"/alerts/{boom}").text
    assert "值班研判" in detail and "研判确认（desk，" in detail and "派发时间" not in detail
    r = b.post(
        f"/triage/{sewage}/dismiss",
        data={"csrf_token": csrf, "reason": ""},
        follow_redirects=False,
    )
    assert "error=" in r.headers["location"]  # a dismissal needs a reason
    r = b.post(
        f"/triage/{sewage}/dismiss",
        data={"csrf_token": csrf, "reason": "系环保局已在处置的旧事"},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/triage?done=dismiss"
    with c.app.store.session() as s:
        corr = s.scalars(select(ClassifierCorrection)).one()
        assert (corr.old_severity, corr.new_severity, corr.actor) == (3, 1, "desk")
    assert "目前没有待研判的告警" in b.get("/triage").text
    assert c.as_user("ana").get("/triage").status_code == 403  # analysts do not triage


def test_desk_api_decisions_and_errors(desk_console: Console) -> None:
    c = desk_console
    ids = _queue(c)
    boom, sewage = ids["湖滨社区化工厂爆炸"], ids["南门社区污水直排"]
    desk = c.as_user("desk")
    url = f"/api/v1/alerts/{sewage}/triage"
    assert desk.post(f"{url}/retier", json={}).status_code == 400
    assert desk.post(f"{url}/retier", json={"tier": "V"}).status_code == 400
    assert desk.post(f"{url}/retier", json={"team": "nowhere"}).status_code == 400
    assert desk.post(f"{url}/dismiss", json={"reason": "x"}).status_code == 400
    assert desk.post(f"{url}/frobnicate").status_code == 404
    r = desk.post(f"{url}/retier", json={"tier": "III", "team": "donghu-hubin", "note": "改派"})
    assert r.status_code == 200, r.text
    a = r.json()
    assert (a["status"], a["tier"], a["team"], a["triage"]) == (
        "open",
        "III",
        "donghu-hubin",
        "retiered",
    )
    assert desk.post(f"{url}/confirm").status_code == 409  # already decided
    assert c.as_user("hexi").post(f"/api/v1/alerts/{boom}/triage/confirm").status_code == 404
    # the desk lets the window lapse: fail-open, and the supervisor's figures show it
    c.clock.advance(timedelta(minutes=11))
    with c.app.store.session() as s:
        assert triage.expire(s, c.app.config, c.clock.now()) == 1
    d = c.client.get("/api/v1/stats", params={"by": "team"})
    assert d.status_code == 200, d.text
    desk_fig = d.json()["total"]["desk"]
    assert (desk_fig["failed_open"], desk_fig["changed"], desk_fig["confirmed"]) == (1, 1, 0)
    page = c.browser("sup").get("/dashboard").text
    assert "超时自动派发 1" in page


def test_second_looks_wait_on_the_desk_page_and_the_desk_raises_one(
    desk_console: Console,
) -> None:
    c = desk_console
    c.add_post("湖滨社区业主与物业冲突", "湖滨社区业主与物业保安发生冲突。", severity=2,
               area="湖滨社区", review=True)  # fmt: skip
    c.add_post("南门社区地基开裂", "南门社区一栋楼地基开裂。", severity=1, area="南门社区",
               review=True)  # fmt: skip
    c.evaluate()
    q = c.client.get("/api/v1/triage").json()
    assert q["triage"] == [] and q["backlog"] == []
    looks = {a["title"]: a for a in q["review"]}
    clash, crack = looks["湖滨社区业主与物业冲突"], looks["南门社区地基开裂"]
    assert (clash["status"], clash["triage"], clash["held"]) == ("open", "review", False)
    assert (crack["status"], crack["held"]) == ("backlog", True)
    hubin = c.as_user("hubin")
    assert [a["id"] for a in hubin.get("/api/v1/alerts").json()["alerts"]] == [clash["id"]]

    b = c.browser("desk")
    page = b.get("/triage").text
    assert "待复核（2）" in page and "维持原级" in page and "定级派发" in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = b.post(f"/triage/{clash['id']}/retier", data={"csrf_token": csrf, "tier": "II"},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and "error" not in r.headers["location"]
    a = hubin.get(f"/api/v1/alerts/{clash['id']}").json()
    assert (a["severity"], a["triage"], a["status"]) == (3, "retiered", "open")
    r = c.client.post(f"/api/v1/alerts/{crack['id']}/triage/archive", json={"note": "已核实"})
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    assert c.client.get("/api/v1/triage").json()["review"] == []
