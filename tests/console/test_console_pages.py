"""Server-rendered pages: inbox, alert detail and its forms, post."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.console.conftest import Console


def _alert_ids(console: Console) -> list[int]:
    return [a["id"] for a in console.client.get("/api/v1/alerts").json()["alerts"]]


def _cards(html: str) -> list[str]:
    return re.findall(r'<li class="alert-card[^"]*"[^>]*>.*?</li>', html, re.S)


def test_inbox_lists_alerts_with_tier_team_and_local_times(
    console: Console, three_alerts: dict[str, int]
) -> None:
    r = console.client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "告警收件箱" in html
    cards = _cards(html)
    assert len(cards) == 3
    first, second, third = cards
    assert 'class="tier tier-4"' in first and "I 级 · 特别重大" in first
    assert "湖滨社区化工厂爆炸" in first and "湖滨社区网格" in first
    assert "相关帖子 1 条" in first
    # 01:00 UTC is 09:00 in Asia/Shanghai; tier I must be acknowledged within 15 minutes.
    assert "2026-03-02 09:00" in first
    assert "确认时限" in first and "2026-03-02 09:15" in first
    assert "II 级 · 重大" in second and "南门社区网格" in second
    assert "III 级 · 较大" in third and "河西镇人民政府" in third
    assert "已超时" not in html


def test_inbox_highlights_overdue(console: Console, three_alerts: dict[str, int]) -> None:
    console.clock.advance(timedelta(minutes=20))  # past tier I's 15 minutes, within tier II's 30
    cards = _cards(console.client.get("/").text)
    assert "overdue" in cards[0].split(">")[0] and "已超时" in cards[0]
    assert "overdue" not in cards[1].split(">")[0] and "已超时" not in cards[1]


def test_inbox_filters(console: Console, three_alerts: dict[str, int]) -> None:
    html = console.client.get("/", params={"team": "hexi"}).text
    assert len(_cards(html)) == 1 and "河西村养殖场" in html
    assert len(_cards(console.client.get("/", params={"status": "resolved"}).text)) == 0
    assert len(_cards(console.client.get("/", params={"status": "all"}).text)) == 3
    r = console.client.get("/", params={"status": "<script>"})
    assert r.status_code == 400
    assert "<script>" not in r.text and "&lt;script&gt;" in r.text


def test_alert_page_shows_reason_masked_posts_and_forms(
    console: Console, three_alerts: dict[str, int]
) -> None:
    alert_id = _alert_ids(console)[0]
    r = console.client.get(f"/alerts/{alert_id}")
    assert r.status_code == 200
    html = r.text
    assert "单帖分级 I 特别重大" in html
    assert "湖滨社区化工厂发生爆炸" in html
    assert "13812345678" not in html and "138****5678" in html
    assert "张三丰" not in html
    assert f'action="/alerts/{alert_id}/acknowledge"' in html
    assert f'action="/alerts/{alert_id}/reply"' in html
    assert f'action="/alerts/{alert_id}/resolve"' not in html  # not before acknowledging
    assert "产生告警" in html and "尚无处置记录" not in html


def test_work_an_alert_through_the_forms(console: Console, three_alerts: dict[str, int]) -> None:
    alert_id = _alert_ids(console)[0]
    c = console.client

    r = c.post(f"/alerts/{alert_id}/acknowledge", data={"text": ""}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/alerts/{alert_id}?done=acknowledge"
    page = c.get(r.headers["location"]).text
    assert "已确认。" in page and "status-acknowledged" in page

    console.clock.advance(timedelta(minutes=30))
    r = c.post(
        f"/alerts/{alert_id}/reply",
        data={"text": "已派员到场处置", "channel": "onsite"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = c.get(f"/alerts/{alert_id}").text
    assert "已派员到场处置" in page and "现场处置" in page and "status-responded" in page
    assert "09:30" in page  # first reply at 09:30 local

    r = c.post(f"/alerts/{alert_id}/resolve", data={"text": "伤员已送医，现场已清理"})
    assert r.status_code == 200  # redirect followed
    assert "已办结" in r.text and f'action="/alerts/{alert_id}/reopen"' in r.text

    r = c.post(f"/alerts/{alert_id}/reopen", data={"text": "群众再次反映"})
    assert r.status_code == 200
    assert "status-acknowledged" in r.text

    detail = c.get(f"/api/v1/alerts/{alert_id}").json()
    assert [x["action"] for x in detail["responses"]] == [
        "acknowledge",
        "reply",
        "resolve",
        "reopen",
    ]
    assert detail["responses"][1]["channel"] == "onsite"


def test_invalid_form_actions(console: Console, three_alerts: dict[str, int]) -> None:
    alert_id = _alert_ids(console)[0]
    c = console.client
    r = c.post(f"/alerts/{alert_id}/resolve")
    assert r.status_code == 409
    assert "不能办结" in r.text and 'role="alert"' in r.text
    r = c.post(f"/alerts/{alert_id}/reply", data={"text": " ", "channel": "phone"})
    assert r.status_code == 400 and "回复内容不能为空" in r.text
    assert c.post(f"/alerts/{alert_id}/explode").status_code == 404
    assert c.post("/alerts/999/acknowledge").status_code == 404
    assert c.get("/alerts/999").status_code == 404
    assert c.get(f"/api/v1/alerts/{alert_id}").json()["responses"] == []


def test_post_page_is_masked(console: Console, three_alerts: dict[str, int]) -> None:
    r = console.client.get(f"/posts/{three_alerts['red']}")
    assert r.status_code == 200
    assert "138****5678" in r.text and "13812345678" not in r.text
    assert "相关告警" in r.text
    assert console.client.get("/posts/999").status_code == 404


def test_post_page_links_only_http_urls(console: Console) -> None:
    pid = console.add_post("<b>标题</b>", "正文", severity=1, area=None, url="javascript:alert(1)")
    html = console.client.get(f"/posts/{pid}").text
    assert "javascript:" not in html
    assert "<b>标题</b>" not in html and "&lt;b&gt;标题&lt;/b&gt;" in html


def test_static_css_is_served_locally(console: Console) -> None:
    html = console.client.get("/").text
    assert 'name="viewport"' in html
    hrefs = re.findall(r'(?:href|src)="([^"]+)"', html)
    css = [h for h in hrefs if h.endswith(".css")]
    # A path, not an absolute URL: behind a TLS proxy an http:// stylesheet would be blocked.
    assert css == ["/static/console.css"]
    assert not [h for h in hrefs if "//" in h]
    r = console.client.get("/static/console.css")
    assert r.status_code == 200 and "--red" in r.text and "@media" in r.text
