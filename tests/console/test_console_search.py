"""Search through the real embedded index (SQLite FTS5 over jieba tokens)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from store.models import Post
from store.posts import index_doc

if TYPE_CHECKING:
    from tests.console.conftest import Console

pytest.importorskip("index.embedded")

HOSTILE = [
    '"', "“", "-", "--", "OR", "OR OR", "AND", "NOT", "*", "^", "NEAR(", "污水 NEAR(a b)",
    "title:污水", "category:", "tier:V", "tier:<II", "tier:>I", "since:2026-13-45",
    "until:yesterday", "sort:random", "-category:环境保护", "(((", ")))", "a\x00b", "\u200b",
    "'; DROP TABLE docs; --", "<script>alert(1)</script>", "污" * 1001, "x " * 300,
    "%", "\\", "{{7*7}}", "\ud7ff", "😀", "污水 OR", "OR 污水", '"污水', "-\"污水\"",
]  # fmt: skip


@pytest.fixture
def indexed(console: Console, three_alerts: dict[str, int]) -> dict[str, int]:
    ids = dict(three_alerts)
    for i in range(25):  # enough for two pages of 20
        ids[f"lamp{i}"] = console.add_post(
            f"文昌社区路灯不亮第{i}号",
            f"文昌社区第{i}号路灯坏了，晚上出行不便。",
            severity=1,
            area="文昌社区",
            category="城乡建设",
        )
    ids["xss"] = console.add_post(
        "<script>alert(1)</script>污水",
        "污水<img src=x onerror=alert(1)>横流",
        severity=1,
        area=None,
    )
    console.clock.advance(timedelta(minutes=1))
    with console.app.store.session() as s:
        docs = [index_doc(p) for p in s.scalars(select(Post))]
    assert console.app.index.index(docs) == []
    return ids


def _search(console: Console, **params: str) -> dict:
    r = console.client.get("/api/v1/search", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_search_api_shape_and_highlight(console: Console, indexed: dict[str, int]) -> None:
    body = _search(console, q="污水")
    assert set(body) == {"total", "hits", "facets", "expansions", "recall", "partial"}
    ids = [h["id"] for h in body["hits"]]
    assert indexed["orange"] in ids and indexed["xss"] in ids
    assert body["total"] == len(ids)
    hit = next(h for h in body["hits"] if h["id"] == indexed["orange"])
    assert {"id", "title", "snippet", "category", "severity", "tier", "area", "source",
            "published_at", "url", "score"} <= set(hit)  # fmt: skip
    assert "<mark>污水</mark>" in hit["snippet"]
    assert hit["tier"] == "II" and hit["area"] == "南门社区"
    assert body["facets"]["category"]["环境保护"] >= 1


def test_synonym_expansion_is_said_and_can_be_turned_off(
    console: Console, indexed: dict[str, int]
) -> None:
    # config/synonyms.yaml: 照明 and 路灯 are one set; the lamp posts only say 路灯
    body = _search(console, q="照明", limit="50")
    assert body["expansions"] == {"照明": ["路灯"]}
    lamps = {indexed[f"lamp{i}"] for i in range(25)}
    assert lamps <= {h["id"] for h in body["hits"]}
    assert all(h["expanded"] == ["路灯"] for h in body["hits"] if h["id"] in lamps)
    off = _search(console, q="照明", expand="false")
    assert off["total"] == 0 and off["expansions"] == {}
    page = console.client.get("/search", params={"q": "照明"})
    assert page.status_code == 200
    assert "同时检索了同义词" in page.text and "照明 → 路灯" in page.text
    assert "同义词命中：路灯" in page.text
    page = console.client.get("/search", params={"q": "照明", "noexpand": "1"})
    assert "未扩展同义词" in page.text and "共 0 条结果" in page.text


def test_recall_mode_sorts_by_time(console: Console, indexed: dict[str, int]) -> None:
    body = _search(console, q="路灯 污水", recall="true", limit="50")
    assert body["recall"] is True
    when = [h["published_at"] for h in body["hits"]]
    assert when == sorted(when, reverse=True)
    assert body["total"] == sum(body["facets"]["severity"].values())  # facets count every match
    page = console.client.get("/search", params={"q": "路灯 污水", "recall": "1"})
    assert "全面检索" in page.text


def test_search_api_filters_and_paging(console: Console, indexed: dict[str, int]) -> None:
    lamps = _search(console, q="路灯", category="城乡建设", limit="10")
    assert lamps["total"] == 25
    assert len(lamps["hits"]) == 10
    page3 = _search(console, q="路灯", category="城乡建设", limit="10", offset="20")
    assert len(page3["hits"]) == 5
    assert not {h["id"] for h in page3["hits"]} & {h["id"] for h in lamps["hits"]}
    red = _search(console, severity="I")
    assert [h["id"] for h in red["hits"]] == [indexed["red"]]
    serious = _search(console, severity_min="II")
    assert {h["id"] for h in serious["hits"]} == {indexed["red"], indexed["orange"]}
    assert _search(console, q="路灯", since="2026-03-01")["total"] == 26
    assert _search(console, q="路灯", since="2026-03-03")["total"] == 0


@pytest.mark.parametrize(
    "params",
    [{"severity": "V"}, {"since": "not a date"}, {"q": "tier:XYZ"}, {"offset": "1000000"}],
)
def test_search_api_bad_input_is_400(
    console: Console, indexed: dict[str, int], params: dict[str, str]
) -> None:
    r = console.client.get("/api/v1/search", params=params)
    assert r.status_code == 400
    assert r.json()["detail"]


def test_search_api_bad_numbers_are_422(console: Console, indexed: dict[str, int]) -> None:
    assert console.client.get("/api/v1/search", params={"limit": "0"}).status_code == 422
    assert console.client.get("/api/v1/search", params={"offset": "-1"}).status_code == 422


def test_hostile_queries_never_500(console: Console, indexed: dict[str, int]) -> None:
    for q in HOSTILE:
        api = console.client.get("/api/v1/search", params={"q": q})
        assert api.status_code in (200, 400), (q, api.status_code, api.text[:200])
        page = console.client.get("/search", params={"q": q})
        assert page.status_code in (200, 400), (q, page.status_code)
        if page.status_code == 400:
            assert "查询有误" in page.text
        assert "<script>alert(1)</script>" not in page.text


def test_search_page(console: Console, indexed: dict[str, int]) -> None:
    r = console.client.get("/search", params={"q": "污水"})
    assert r.status_code == 200
    html = r.text
    assert "<mark>污水</mark>" in html
    assert f'href="/posts/{indexed["orange"]}"' in html
    # Facets are links that add the filter; the tier facet uses tier names.
    assert re.search(r'href="/search\?q=%E6%B1%A1%E6%B0%B4&amp;category=[^"]+"', html)
    assert "tier=II" in html and "II 级 重大" in html
    # A stored title with markup is shown as text, never as markup.
    assert "<script>alert(1)</script>" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html


def test_search_page_paginates(console: Console, indexed: dict[str, int]) -> None:
    first = console.client.get("/search", params={"q": "路灯"}).text
    assert "共 26 条结果" in first and "第 1/2 页" in first
    assert first.count('class="hit"') == 20
    assert 'href="/search?q=%E8%B7%AF%E7%81%AF&amp;page=2"' in first
    second = console.client.get("/search", params={"q": "路灯", "page": "2"}).text
    assert "第 2/2 页" in second and second.count('class="hit"') == 6
    assert console.client.get("/search", params={"q": "路灯", "page": "x"}).status_code == 200


def test_search_page_filters_and_errors(console: Console, indexed: dict[str, int]) -> None:
    r = console.client.get("/search", params={"category": "城乡建设", "tier": "I"})
    assert r.status_code == 200 and "共 1 条结果" in r.text
    r = console.client.get("/search", params={"q": "tier:V"})
    assert r.status_code == 400 and "查询有误" in r.text
    empty = console.client.get("/search")
    assert empty.status_code == 200 and "开始检索" in empty.text
