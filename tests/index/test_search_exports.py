"""The console's search page histogram and the CSV/XLSX exports of search results,
over a real store and the real embedded index."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from index_testkit import make_es_backend
from openpyxl import load_workbook

from console import searching
from console.searching import SearchParams, iter_export_hits, run_search
from console.web import build_templates
from runtime.app import App
from runtime.jobs import drain_index
from store.posts import upsert_post
from yuqing.clock import FrozenClock
from yuqing.contracts import Classification, CrawledPost
from yuqing.settings import load_config

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@pytest.fixture
def app(config_dir: Path, tmp_path: Path) -> Iterator[App]:
    a = App(
        load_config(config_dir, {"YUQING_VAR_DIR": str(tmp_path / "var")}), clock=FrozenClock(T0)
    )
    cls = Classification(category="城乡建设", category_confidence=0.9, severity=2)
    posts = [
        CrawledPost(
            source="demo-board",
            title=f"小区停车难第{i}号",
            text=f"东湖小区停车位不够，晚上车辆乱停。联系电话13812345678。编号{i}",
            external_id=f"p{i}",
            published_at=T0 - timedelta(days=i % 5, hours=i),
            area="东湖街道",
        )
        for i in range(23)
    ]
    posts.append(
        CrawledPost(
            source="demo-board",
            title='=HYPERLINK("http://evil")停车',
            text="+cmd|' /C calc'!A0 停车",
            external_id="evil",
            published_at=T0,
        )
    )
    with a.store.session() as s:
        for p in posts:
            upsert_post(s, p, cls, T0)
    assert drain_index(a).indexed == 24
    yield a
    a.close()


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    web = FastAPI()
    web.state.yuqing = app
    web.include_router(searching.router)
    with TestClient(web) as c:
        yield c


def test_export_walks_every_page_up_to_the_cap(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(searching, "EXPORT_PAGE", 5)
    hits = list(iter_export_hits(app, SearchParams(q="停车")))
    assert len(hits) == 24 and len({h.id for h in hits}) == 24
    assert len(list(iter_export_hits(app, SearchParams(q="停车"), cap=7))) == 7


def test_csv_export(client: TestClient) -> None:
    r = client.get("/search/export.csv", params={"q": "停车", "area": "东湖街道"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert re.search(
        r'attachment; filename="yuqing-search-20261120-1600\.csv"', r.headers["content-disposition"]
    )
    assert r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == list(searching.EXPORT_COLUMNS)
    assert len(rows) == 1 + 23  # the evil post has no area
    assert all("13812345678" not in cell for row in rows for cell in row)  # masked text only
    assert rows[1][1].startswith("2026-11-20")  # local time, newest first


def test_csv_export_defuses_formulas(client: TestClient) -> None:
    rows = list(
        csv.reader(io.StringIO(client.get("/search/export.csv", params={"q": "calc"}).text))
    )
    assert rows[1][2].startswith("'=HYPERLINK") and rows[1][3].startswith("'+cmd")


def test_xlsx_export(client: TestClient) -> None:
    r = client.get("/search/export.xlsx", params={"q": "停车"})
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == searching.EXPORT_COLUMNS and len(rows) == 25
    evil = next(row for row in rows if str(row[2]).startswith("=HYPERLINK"))
    cell = next(c for c in ws.iter_rows() for c in c if c.value == evil[2])
    assert cell.data_type == "s"  # stored as text, never run as a formula
    assert all("13812345678" not in str(v) for row in rows for v in row)


def test_export_bad_query_and_dead_index(client: TestClient, app: App) -> None:
    assert client.get("/search/export.csv", params={"tier": "V"}).status_code == 400
    assert client.get("/search/export.xlsx", params={"q": "x" * 1500}).status_code == 400
    app.index.close()
    # an Elasticsearch index on a port nobody listens on
    app._index = make_es_backend("http://127.0.0.1:9", create=False, max_retries=0)
    for ext in ("csv", "xlsx"):
        r = client.get(f"/search/export.{ext}", params={"q": "停车"})
        assert r.status_code == 503 and "检索服务暂不可用" in r.text


def test_page_histogram_chart(app: App) -> None:
    result = run_search(app, SearchParams(q="停车"))
    assert sum(n for _, n in result.histogram) == 24
    env = build_templates(app).env
    html = env.get_template("search.html").render(
        request=SimpleNamespace(scope={}),
        result=result,
        searched=True,
        q="停车",
        page=1,
        pages=2,
        url=lambda **kw: "/search?q=%E5%81%9C%E8%BD%A6",
        categories=[],
    )
    assert "<svg" in html and html.count("<rect") == len(result.histogram) >= 5
    assert "2026-11-20：" in html
    assert 'href="/search/export.csv?q=%E5%81%9C%E8%BD%A6"' in html
    assert 'href="/search/export.xlsx?q=%E5%81%9C%E8%BD%A6"' in html
    # no chart library, no CDN: the console's own static script is the only one
    assert all("/static/console.js" in tag for tag in re.findall(r"<script[^>]*>", html))


def test_long_ranges_merge_bars(app: App) -> None:
    result = run_search(app, SearchParams(q="停车"))
    days = [(T0 - timedelta(days=i), 1) for i in range(200)][::-1]
    result.histogram = days
    env = build_templates(app).env
    html = env.get_template("search.html").render(
        request=SimpleNamespace(scope={}), result=result, searched=True, page=1, pages=1,
        url=lambda **kw: "/search?", categories=[],
    )  # fmt: skip
    assert html.count("<rect") == 50  # 4 days a bar
    assert "每柱 4 天" in html
