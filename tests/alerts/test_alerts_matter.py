"""Event-level severity (alerts/matter.py): a matter's signals raise its tier, each with
a reason a responder can read; a single uncertain post stays low; signals never make
tier I on their own."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from alerts_testkit import START
from sqlalchemy import select

from alerts.engine import evaluate_new_posts
from alerts.routing import Router
from analysis.linking import Linker
from store.db import Store
from store.models import Alert
from store.posts import upsert_post
from yuqing.contracts import Classification, CrawledPost
from yuqing.gazetteer import Gazetteer
from yuqing.settings import AppConfig

_n = [0]


def _post(
    store: Store,
    title: str,
    *,
    severity: int,
    source: str = "board",
    likes: int = 0,
    uncertain: bool = False,
    author: str | None = None,
    at=START,  # type: ignore[no-untyped-def]
) -> int:
    _n[0] += 1
    cls = Classification("城乡建设", 0.2 if uncertain else 0.9, severity, ["规则: 测试"], "v",
                         uncertain=uncertain)  # fmt: skip
    post = CrawledPost(
        source=source,
        title=title,
        text=f"湖滨社区{title}（{_n[0]}）",
        url=f"http://127.0.0.1/m/{_n[0]}",
        author=author or f"u{_n[0]}",
        area="湖滨社区",
        published_at=at,
        likes=likes,
    )
    with store.session() as s:
        return upsert_post(s, post, cls, at, linking=Linker).post_id


def _eval(store: Store, config: AppConfig, now=START) -> None:  # type: ignore[no-untyped-def]
    with store.session() as s:
        evaluate_new_posts(s, config, Router(config.teams, Gazetteer(config.areas)), now)


def _alert(store: Store, title: str) -> Alert:
    with store.session() as s:
        a = s.scalars(select(Alert).where(Alert.title == title)).one()
        s.expunge(a)
        return a


def test_engagement_raises_a_matter_a_tier_with_its_reason(store: Store, config: AppConfig) -> None:
    _post(store, "楼道堆物堵住消防通道", severity=2, likes=260)
    _post(store, "小区门口井盖松动", severity=2, likes=3)
    _eval(store, config)
    hot, quiet = _alert(store, "楼道堆物堵住消防通道"), _alert(store, "小区门口井盖松动")
    assert (hot.tier, quiet.tier) == (3, 2)
    assert "关注度高：点赞与回复共 260" in hot.reason
    assert [g["key"] for g in hot.signals or []] == ["engagement"]
    assert hot.ack_deadline == START + timedelta(minutes=30)  # II's clock, not III's


def test_a_hotline_record_joined_to_a_public_post(store: Store, config: AppConfig) -> None:
    cfg = dataclasses.replace(
        config,
        alerts=config.alerts.model_copy(
            update={
                "matter": config.alerts.matter.model_copy(update={"hotline_sources": ["12345"]})
            }
        ),
    )
    _post(store, "地下车库渗水", severity=2, source="board")
    _eval(store, cfg)
    assert _alert(store, "地下车库渗水").tier == 2
    later = START + timedelta(minutes=20)
    _post(store, "地下车库渗水", severity=2, source="12345", at=later)
    _eval(store, cfg, later)
    a = _alert(store, "地下车库渗水")
    assert a.tier == 3 and a.post_count == 2
    keys = {g["key"] for g in a.signals or []}
    assert {"sources", "hotline"} <= keys
    assert "12345 热线记录与公开帖子指向同一事项" in a.reason
    # raised at 09:20 with II's 30 minutes: tighter than III's two working hours
    assert a.ack_deadline == later + timedelta(minutes=30)


def test_signals_never_make_tier_I_and_an_uncertain_post_stays_low(
    store: Store, config: AppConfig
) -> None:
    for who in ("a", "b", "c"):
        _post(store, "燃气管道漏气", severity=3, author=who, likes=100)
    _post(store, "工地塔吊倒塌", severity=4, uncertain=True)
    _eval(store, config)
    assert _alert(store, "燃气管道漏气").tier == 3  # three authors, 300 likes: still II
    assert _alert(store, "工地塔吊倒塌").tier == 3  # one unsure post: at most II


def test_a_sites_board_and_feed_are_one_channel(store: Store, config: AppConfig) -> None:
    # demo-board and demo-feed are one site (config/sources.yaml): not two channels
    _post(store, "小区消防通道被占", severity=2, source="demo-board")
    _post(store, "小区消防通道被占", severity=2, source="demo-feed")
    _eval(store, config)
    a = _alert(store, "小区消防通道被占")
    assert a.tier == 2 and "多渠道" not in a.reason
    assert not any(g["key"] == "sources" for g in a.signals or [])
