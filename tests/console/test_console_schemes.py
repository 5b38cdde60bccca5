"""Monitoring schemes in the console's API: analysts save and read them, responders
may not, a bad scheme is a 400 in Chinese with a code, owners' schemes are theirs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runtime.service import Service

if TYPE_CHECKING:
    from tests.console.conftest import Console

BODY = {"name": "焚烧厂", "must": ["垃圾"], "any_of": ["焚烧", "填埋"], "exclude": ["招聘"]}


def test_an_analyst_saves_a_scheme_and_sees_it_match(console: Console) -> None:
    old = console.add_post("垃圾焚烧厂选址", "居民担心空气", severity=2, area="湖滨社区")
    ana = console.as_user("ana")
    r = ana.post("/api/v1/schemes", json=BODY)
    assert r.status_code == 201, r.text
    saved = r.json()
    assert [p["id"] for p in saved["posts"]] == [old]  # looked back 30 days
    new = console.add_post("垃圾填埋场渗漏", "河水发黑", severity=2, area="河西村")
    Service(console.app).tick()  # the scheduler's tick matches new posts
    shown = ana.get(f"/api/v1/schemes/{saved['id']}").json()
    assert [p["id"] for p in shown["posts"]] == [new, old]
    assert shown["posts"][0]["words"] == ["垃圾", "填埋"]
    assert sum(n for _, n in shown["daily"]) == 2
    listed = ana.get("/api/v1/schemes").json()
    assert [(s["name"], s["hits_7d"]) for s in listed] == [("焚烧厂", 2)]
    page = console.browser("ana").get(f"/schemes/{saved['id']}")
    assert page.status_code == 200 and "垃圾填埋场渗漏" in page.text and "echart" in page.text
    day = console.clock.now().date().isoformat()
    brief = console.client.get(f"/api/v1/reports/daily?date={day}").json()
    assert brief["schemes"] == [
        {"name": "焚烧厂", "words": ["垃圾", "焚烧", "填埋"], "posts": 2,
         "latest": ["垃圾填埋场渗漏", "垃圾焚烧厂选址"]}
    ]  # fmt: skip


def test_bad_schemes_and_roles(console: Console) -> None:
    ana = console.as_user("ana")
    r = ana.post("/api/v1/schemes", json={"name": "空", "exclude": ["招聘"]})
    assert r.status_code == 400 and "至少填写一个" in r.json()["detail"] and r.json()["code"]
    r = ana.post("/api/v1/schemes", json={**BODY, "alert_tier": "I"})
    assert r.status_code == 400 and "III 级或 IV 级" in r.json()["detail"]
    r = ana.post("/api/v1/schemes", json={**BODY, "areas": ["火星"]})
    assert r.status_code == 400 and "火星" in r.json()["detail"]
    assert console.as_user("hubin").get("/api/v1/schemes").status_code == 403
    assert console.as_user("hubin").post("/api/v1/schemes", json=BODY).status_code == 403
    assert ana.get("/api/v1/schemes/999").status_code == 404


def test_a_scheme_is_deleted_by_its_owner(console: Console) -> None:
    ana = console.as_user("ana")
    scheme_id = ana.post("/api/v1/schemes", json=BODY).json()["id"]
    assert ana.delete(f"/api/v1/schemes/{scheme_id}").status_code == 204
    assert ana.get(f"/api/v1/schemes/{scheme_id}").status_code == 404
    assert ana.get("/api/v1/schemes").json() == []
