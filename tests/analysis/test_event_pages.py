"""The event page, its API and CLI, merge/split by hand and the 事件专报 PDF, over a
real SQLite store and the console app (tests/console's fixtures)."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from analysis.linking import Linker
from runtime.cli import cli
from store.models import Alert, Post
from store.posts import upsert_post
from tests.console.conftest import CONFIG_DIR, Console, console  # noqa: F401
from yuqing.contracts import Classification, CrawledPost

BOARD = (
    "伊景园滨河苑捆绑销售车位",
    "伊景园滨河苑是面向铁路职工的定向商品房，开发商要求购房必须同时购买12万元的车位，"
    "不买车位就取消购房资格，这种捆绑销售车位的做法合法吗？",
)
HOTLINE = (
    "关于购房被要求捆绑车位的诉求",
    "市民来电反映：其购买伊景园滨河苑定向商品房，开发商强制捆绑销售车位，每个车位12万元，"
    "职工不愿购买车位即被取消购房资格，请求相关部门核查处理。",
)
OTHER = ("路灯坏了一个月没人修", "东门路口的路灯已经坏了一个多月，晚上行人摔倒好几次。")


def _add(c: Console, source: str, title: str, text: str, n: int, severity: int = 3) -> int:
    post = CrawledPost(
        source=source,
        title=title,
        text=text,
        url=f"http://{source}.invalid/{n}",
        author=f"居民{n}",
        published_at=c.clock.now() - timedelta(minutes=30 - n),
        area="湖滨社区",
    )
    cls = Classification("城乡建设", 0.9, severity, reasons=["test"])
    with c.app.store.session() as s:
        return upsert_post(s, post, cls, c.clock.now(), linking=Linker).post_id


@pytest.fixture
def matter(console: Console) -> dict[str, int]:  # noqa: F811
    ids = {
        "board": _add(console, "demo-board", *BOARD, 1),
        "hotline": _add(console, "hotline-12345", *HOTLINE, 2),
        "other": _add(console, "demo-board", *OTHER, 3, severity=1),
    }
    console.evaluate()
    with console.app.store.session() as s:
        ids["event"] = s.get(Post, ids["board"]).event_id  # type: ignore[union-attr]
        ids["other_event"] = s.get(Post, ids["other"]).event_id  # type: ignore[union-attr]
        assert s.get(Post, ids["hotline"]).event_id == ids["event"]  # type: ignore[union-attr]
    return ids


def test_event_page_shows_posts_from_two_sources(console: Console, matter: dict[str, int]) -> None:  # noqa: F811
    html = console.client.get(f"/events/{matter['event']}").text
    assert "伊景园滨河苑捆绑销售车位" in html and "关于购房被要求捆绑车位的诉求" in html
    assert "demo-board 1 条" in html and "hotline-12345 1 条" in html
    assert "传播曲线" in html and "回应效果" in html
    assert "路灯" not in html


def test_event_api_list_and_detail(console: Console, matter: dict[str, int]) -> None:  # noqa: F811
    listed = console.client.get("/api/v1/events").json()
    assert listed[0]["id"] == matter["event"] and listed[0]["post_count"] == 2
    e = console.client.get(f"/api/v1/events/{matter['event']}").json()
    assert e["sources"] == {"demo-board": 1, "hotline-12345": 1}
    assert e["authors"] == 2
    assert sum(d["posts"] for d in e["spread"]) == 2
    assert e["effect"]["verdict"] == "unanswered"
    assert console.client.get("/api/v1/events/999999").status_code == 404


def test_responses_and_after_reply_effect(console: Console, matter: dict[str, int]) -> None:  # noqa: F811
    with console.app.store.session() as s:
        alert = s.query(Alert).filter(Alert.event_id == matter["event"]).one()
        alert_id = alert.id
    console.client.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={})
    r = console.client.post(f"/api/v1/alerts/{alert_id}/reply", json={"text": "已约谈开发商"})
    assert r.status_code == 200, r.text
    console.clock.advance(timedelta(days=2))
    e = console.client.get(f"/api/v1/events/{matter['event']}").json()
    (a,) = e["alerts"]
    assert [(x["action"], x["actor"]) for x in a["responses"]][-1] == ("reply", "sup")
    assert a["responses"][-1]["text"] == "已约谈开发商"
    # two posts the half hour before the reply, none after: calmed down
    assert e["effect"]["verdict"] == "calmed"
    assert (e["effect"]["posts_before"], e["effect"]["posts_after"]) == (2, 0)
    assert "已约谈开发商" in console.client.get(f"/events/{matter['event']}").text


def test_merge_and_split_by_hand_in_the_console(console: Console, matter: dict[str, int]) -> None:  # noqa: F811
    ana = console.browser("ana")
    page = ana.get(f"/events/{matter['other_event']}")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = ana.post(
        f"/events/{matter['other_event']}/merge",
        data={"into": str(matter["event"]), "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/events/{matter['event']}?done=merge"
    e = console.client.get(f"/api/v1/events/{matter['event']}").json()
    assert {p["id"] for p in e["posts"]} == {matter["board"], matter["hotline"], matter["other"]}
    assert [m["action"] for m in e["manual"]] == ["event.merge"]
    r = ana.post(
        f"/events/{matter['event']}/split",
        data={"post_ids": [str(matter["other"])], "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    new = int(r.headers["location"].split("/events/")[1].split("?")[0])
    e = console.client.get(f"/api/v1/events/{new}").json()
    assert [p["id"] for p in e["posts"]] == [matter["other"]]
    # the API does the same, and a responder may not
    assert (
        console.as_user("hubin")
        .post(f"/api/v1/events/{new}/merge", json={"into": matter["event"]})
        .status_code
        == 403
    )
    r = console.as_user("ana").post(f"/api/v1/events/{new}/merge", json={"into": matter["event"]})
    assert r.json() == {"event_id": matter["event"]}
    assert console.client.get(f"/api/v1/events/{new}").json()["merged_from"] == new


def test_event_report_downloads_as_pdf_with_its_chinese_text(
    console: Console,  # noqa: F811
    matter: dict[str, int],
) -> None:
    r = console.client.get(f"/events/{matter['event']}/report.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    assert "事件专报" in text and "伊景园滨河苑捆绑销售车位" in text and "hotline-12345" in text
    html = console.client.get(f"/events/{matter['event']}/report.html").text
    assert "事件专报" in html and "关于购房被要求捆绑车位的诉求" in html


def test_cli_events_list_and_show(console: Console, matter: dict[str, int], tmp_path) -> None:  # noqa: F811
    env = {"YUQING_VAR_DIR": str(tmp_path), "YUQING_CONFIG": str(CONFIG_DIR)}
    r = CliRunner().invoke(cli, ["events", "list", "--json"], env=env)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)[0]["id"] == matter["event"]
    r = CliRunner().invoke(cli, ["events", "show", str(matter["event"]), "--json"], env=env)
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["sources"] == {"demo-board": 1, "hotline-12345": 1}
    r = CliRunner().invoke(cli, ["events", "show", str(matter["event"])], env=env)
    assert "hotline-12345" in r.output and "effect of the response" in r.output
    assert CliRunner().invoke(cli, ["events", "show", "99999"], env=env).exit_code == 1
