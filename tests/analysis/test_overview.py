"""The 态势 overview (analysis/overview.py, /api/v1/overview, /overview) over a real
SQLite store and the console app: volume against the previous period, rising events by
growth, the tier I-III share, hot and new terms, grids with open alerts, filters and
grid scoping."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from analysis import overview as ov
from analysis.linking import Linker
from store.db import Store
from store.models import Post
from store.posts import upsert_post, upsert_posts
from tests.console.conftest import CONFIG_DIR, Console, console  # noqa: F401
from yuqing.contracts import Classification, CrawledPost
from yuqing.settings import load_config

TZ = ZoneInfo("Asia/Shanghai")
# this period: 02-23 .. 03-01 (local days); the previous one: 02-16 .. 02-22
PERIOD = {"since": "2026-02-23", "until": "2026-03-01"}

GARBAGE = (
    "湖滨社区垃圾站臭味熏天",
    "湖滨社区门口的垃圾站每天臭味熏天，垃圾清运不及时，苍蝇蚊子很多，居民要求搬迁垃圾站。",
)
LAMPS = (
    "河西村路灯损坏无人维修",
    "河西村主干道的路灯损坏好几盏，晚上漆黑一片，村民出行不便，希望尽快维修路灯。",
)
DOGS = (
    "文昌社区流浪狗咬伤儿童",
    "文昌社区出现成群流浪狗，已经咬伤两名儿童，家长担心孩子安全，请求捕捉流浪狗。",
)


def _post(
    c: Console, n: int, title: str, text: str, day: str, *, area: str, severity: int = 1,
    source: str = "demo-board", category: str = "城乡建设",
) -> int:  # fmt: skip
    at = datetime.fromisoformat(f"{day}T10:00").replace(tzinfo=TZ) + timedelta(minutes=n)
    post = CrawledPost(source=source, title=title, text=text + f"（第{n}帖）",
                       url=f"http://{source}.invalid/{n}", author=f"居民{n}",
                       published_at=at, area=area)  # fmt: skip
    cls = Classification(category, 0.9, severity, reasons=["test"])
    with c.app.store.session() as s:
        return upsert_post(s, post, cls, c.clock.now(), linking=Linker).post_id


@pytest.fixture
def scene(console: Console) -> dict[str, Any]:  # noqa: F811
    """Garbage in 湖滨社区 grows (1 post the week before, 4 this week, tier II); the lamps
    of 河西村 stay (3 and 3, tier IV); stray dogs in 文昌社区 are new (2, hotline)."""
    ids: dict[str, Any] = {"garbage": [], "lamps": [], "dogs": []}
    n = 0
    for day in ("2026-02-20", "2026-02-24", "2026-02-25", "2026-02-26", "2026-02-27"):
        n += 1
        ids["garbage"].append(_post(console, n, *GARBAGE, day, area="湖滨社区", severity=3))
    for day in ("2026-02-17", "2026-02-18", "2026-02-19", "2026-02-24", "2026-02-25",
                "2026-02-26"):  # fmt: skip
        n += 1
        ids["lamps"].append(_post(console, n, *LAMPS, day, area="河西村"))
    for day in ("2026-02-27", "2026-02-28"):
        n += 1
        ids["dogs"].append(_post(console, n, *DOGS, day, area="文昌社区", severity=2,
                                 source="hotline-12345", category="社会治安"))  # fmt: skip
    console.evaluate()
    with console.app.store.session() as s:
        for name in ("garbage", "lamps", "dogs"):
            events = {s.get(Post, i).event_id for i in ids[name]}  # type: ignore[union-attr]
            assert len(events) == 1, (name, events)  # each matter is one event
            ids[name + "_event"] = events.pop()
    return ids


def _get(c: Any, **params: str) -> dict[str, Any]:
    r = c.get("/api/v1/overview", params={**PERIOD, **params})
    assert r.status_code == 200, r.text
    return r.json()


def test_volume_against_the_previous_period(console: Console, scene: dict[str, Any]) -> None:  # noqa: F811
    o = _get(console.client)
    v = o["volume"]
    assert o["period"]["bucket"] == "day"
    assert [r["label"] for r in v["series"]] == [f"02-{d}" for d in range(23, 29)] + ["03-01"]
    assert v["posts"] == 4 + 3 + 2 and v["prev_posts"] == 1 + 3
    by_day = {r["label"]: (r["posts"], r["prev_posts"]) for r in v["series"]}
    # day i against day i of the week before: 02-24 against 02-17 (a lamp post)
    assert by_day["02-23"] == (0, 0) and by_day["02-24"] == (2, 1)
    assert by_day["02-27"] == (2, 1) and by_day["02-28"] == (1, 0)  # 02-20: garbage
    assert v["change"] == pytest.approx((9 - 4) / 4)
    # tier I-III share: garbage (II) and dogs (III) of nine posts; the week before 1 of 4
    assert v["negative"] == 6 and v["negative_share"] == pytest.approx(6 / 9, abs=1e-4)
    assert v["prev_negative_share"] == pytest.approx(0.25)
    assert (
        o["negative_signal"]["kind"] == "tier"
        and "没有情感模型评分" in o["negative_signal"]["note"]
    )


def test_negative_share_by_the_model_where_posts_are_scored(
    console: Console,  # noqa: F811
    scene: dict[str, Any],
) -> None:
    # the model scored the dogs (0.9, 0.8) and one lamp post (0.2) only: the share counts
    # the scored posts, not the tiers
    with console.app.store.session() as s:
        for pid, score in zip([*scene["dogs"], scene["lamps"][-1]], (0.9, 0.8, 0.2), strict=True):
            s.execute(update(Post).where(Post.id == pid).values(negativity=score))
    o = _get(console.client)
    v = o["volume"]
    assert o["negative_signal"]["kind"] == "model" and "模型" in o["negative_signal"]["note"]
    assert (v["negative"], v["negative_base"], v["scored"]) == (2, 3, 3)
    assert v["negative_share"] == pytest.approx(2 / 3, abs=1e-4)
    assert v["prev_negative_share"] is None  # nothing scored the week before
    html = console.browser("ana").get("/overview", params=PERIOD).text
    assert "情感模型估计" in html and "请看走势" in html


def test_rising_by_growth_not_size(console: Console, scene: dict[str, Any]) -> None:  # noqa: F811
    rising = _get(console.client)["rising"]
    ids = [r["event_id"] for r in rising]
    # dogs are new (2 vs 0: 3.0), garbage grew (4 vs 1: 2.5), the lamps did not (3 vs 3)
    # and rank last though they are bigger than the dogs this week
    assert ids == [scene["dogs_event"], scene["garbage_event"], scene["lamps_event"]]
    g = rising[1]
    assert (g["posts"], g["prev_posts"], g["growth"]) == (4, 1, 2.5)
    assert rising[0]["new"] and not g["new"] and rising[2]["growth"] == 1.0


def test_hot_and_new_terms_against_their_own_baseline(
    console: Console,  # noqa: F811
    scene: dict[str, Any],
) -> None:
    terms = _get(console.client)["terms"]
    hot = {t["term"]: t for t in terms["hot"]}
    new = {t["term"]: t for t in terms["new"]}
    assert "垃圾站" in hot and hot["垃圾站"]["posts"] == 4
    assert hot["垃圾站"]["baseline"] == 0.25 and hot["垃圾站"]["ratio"] > 2
    assert "路灯" not in hot and "路灯" not in new  # as many as before: not hot
    assert "流浪狗" in new and new["流浪狗"]["posts"] == 2


def test_grids_over_the_gazetteer_with_open_alerts(console: Console, scene: dict[str, Any]) -> None:  # noqa: F811
    o = _get(console.client)
    (county,) = o["grids"]
    assert county["name"] == "云溪县" and county["posts_total"] == 9
    streets = {n["name"]: n for n in county["children"]}
    hubin = next(n for n in streets["东湖街道"]["children"] if n["name"] == "湖滨社区")
    assert hubin["posts"] == 4 and hubin["alerts"] >= 1  # tier II posts raise an alert
    assert streets["河西镇"]["posts_total"] == 3 and streets["河西镇"]["alerts_total"] == 0
    assert o["open_alerts"] == county["alerts_total"] >= 1


def test_filters_area_category_source(console: Console, scene: dict[str, Any]) -> None:  # noqa: F811
    c = console.client
    assert _get(c, area="河西镇")["volume"]["posts"] == 3
    assert _get(c, category="社会治安")["volume"]["posts"] == 2
    o = _get(c, source="hotline-12345")
    assert o["volume"]["posts"] == 2 and [r["event_id"] for r in o["rising"]] == [
        scene["dogs_event"]
    ]
    assert c.get("/api/v1/overview", params={"area": "火星"}).status_code == 400
    assert c.get("/api/v1/overview", params={"since": "yesterday"}).status_code == 400
    for since, until in (("2020-01-01", "2026-01-01"), ("0001-01-01", "0001-01-02")):
        r = c.get("/api/v1/overview", params={"since": since, "until": until})
        assert r.status_code == 400 and r.json()["code"] == "invalid_input", r.text
    assert c.get("/api/v1/overview", params={"since": "2026-03-01", "until": "2026-02-01"}
                 ).status_code == 400  # fmt: skip


def test_a_grid_worker_sees_only_their_grids(console: Console, scene: dict[str, Any]) -> None:  # noqa: F811
    o = _get(console.as_user("hubin"))
    assert o["volume"]["posts"] == 4
    assert [r["event_id"] for r in o["rising"]] == [scene["garbage_event"]]  # nothing else
    names = []

    def walk(nodes: list[dict[str, Any]]) -> None:
        for n in nodes:
            names.append(n["name"])
            walk(n["children"])

    walk(o["grids"])
    assert "湖滨社区" in names and "河西村" not in names and "文昌社区" not in names
    assert _get(console.as_user("hexi"))["volume"]["posts"] == 3
    assert console.anonymous().get("/api/v1/overview").status_code == 401


def test_page_draws_its_charts_with_tables_and_exports(
    console: Console,  # noqa: F811
    scene: dict[str, Any],
) -> None:
    html = console.browser("ana").get("/overview", params=PERIOD).text
    assert "态势总览" in html and 'href="/overview"' in html
    for chart in ("volume", "negative", "rising", "terms", "grids"):
        assert f'id="chart-{chart}"' in html
    assert html.count('class="echart"') == 5 and html.count('class="echart-option"') == 5
    assert html.count("导出 CSV") == 5 and html.count("数据表") == 5
    assert "/static/vendor/echarts/echarts.min.js" in html and "/static/charts.js" in html
    assert f'href="/events/{scene["garbage_event"]}"' in html
    assert "以 I–III 级帖子占比代替" in html


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    yield s
    s.close()


def test_the_same_figures_on_sqlite_and_postgresql(store: Store) -> None:
    """The queries (CASE buckets, per-event subquery, grouping) on both databases."""
    config = load_config(CONFIG_DIR, {})
    now = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)
    posts = []
    for n, day in enumerate(("2026-02-20", "2026-02-24", "2026-02-25"), start=1):
        at = datetime.fromisoformat(f"{day}T10:00").replace(tzinfo=TZ)
        posts.append((CrawledPost(source="demo-board", title=GARBAGE[0], text=GARBAGE[1] + str(n),
                                  url=f"http://b.invalid/{n}", published_at=at, area="湖滨社区"),
                      Classification("城乡建设", 0.9, 3, reasons=["t"])))  # fmt: skip
    with store.session() as s:
        upsert_posts(s, posts, now, linking=Linker)
    since = datetime(2026, 2, 23, tzinfo=TZ)
    q = ov.OverviewQuery(since=since, until=since + timedelta(days=7))
    with store.session() as s:
        o = ov.overview(s, q, config.areas, "Asia/Shanghai")
    assert (o["volume"]["posts"], o["volume"]["prev_posts"]) == (2, 1)
    assert o["volume"]["negative_share"] == 1.0
    assert [(r["posts"], r["prev_posts"]) for r in o["rising"]] == [(2, 1)]
    assert o["grids"][0]["posts_total"] == 2 and o["open_alerts"] == 0
    hourly = ov.OverviewQuery(since=datetime(2026, 2, 24, tzinfo=TZ),
                              until=datetime(2026, 2, 25, tzinfo=TZ))  # fmt: skip
    with store.session() as s:
        series = ov.overview(s, hourly, config.areas, "Asia/Shanghai")["volume"]["series"]
    assert len(series) == 24 and series[10]["posts"] == 1 and series[10]["label"] == "02-24 10时"


def test_empty_page_says_so(console: Console) -> None:  # noqa: F811
    html = console.browser("ana").get("/overview", params=PERIOD).text
    assert 'class="echart"' not in html
    assert "该条件下本期与上期都没有帖子" in html and "本期没有帖子增多的事件" in html
    assert "该条件下各网格都没有帖子和未办结告警" in html
