from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from alerts.engine import evaluate_new_posts, sync_teams
from alerts.routing import Router
from store.db import Store
from store.models import Alert, AlertPost, AuditLog
from store.posts import upsert_post
from yuqing.contracts import Classification, CrawledPost
from yuqing.gazetteer import Gazetteer
from yuqing.settings import AppConfig, load_config

from .conftest import CONFIG_DIR

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def config() -> AppConfig:
    return load_config(CONFIG_DIR)


@pytest.fixture
def store(db_url: str, config: AppConfig) -> Store:
    s = Store(db_url)
    with s.session() as sess:
        sync_teams(sess, config)
    yield s
    s.close()


def _add(
    store: Store, title: str, text: str, severity: int, area: str | None, n: int, **kw: object
) -> int:
    cls = Classification(
        kw.pop("category", "城乡建设"),
        0.9,
        severity,
        [f"规则: 测试{severity}"],
        "v",
        bool(kw.pop("uncertain", False)),
    )  # type: ignore[arg-type]
    post = CrawledPost(
        source="s",
        title=title,
        text=text,
        url=f"http://127.0.0.1/t/{n}",
        area=area,
        published_at=NOW,
    )
    with store.session() as s:
        return upsert_post(s, post, cls, NOW).post_id


def test_gazetteer_places_smallest_area(config: AppConfig) -> None:
    g = Gazetteer(config.areas)
    assert g.place("东湖新村小区门口的路灯坏了").area == "东湖新村社区"
    assert g.place("东湖街道的垃圾没人收").area == "东湖街道"
    p = g.place("城关街道文昌小区停水三天")
    assert (p.area, p.matched) == ("文昌社区", "文昌小区")
    assert g.place("没有地名", default="云溪县").area == "云溪县"
    assert g.ancestors("文昌社区") == ["文昌社区", "城关街道", "云溪县"]


def test_routing(config: AppConfig) -> None:
    r = Router(config.teams, Gazetteer(config.areas))
    assert r.route("文昌社区", "城乡建设") == "chengguan-wenchang"
    assert r.route("柳树湾村", "环境保护") == "hexi"
    assert r.route("云溪县", "交通运输") == "county-centre"
    assert r.route(None, "交通运输") == "county-triage"
    assert r.route("文昌社区", None, uncertain=True) == "county-triage"


def test_severe_post_opens_one_alert_that_grows(store: Store, config: AppConfig) -> None:
    router = Router(config.teams, Gazetteer(config.areas))
    _add(store, "小区电梯故障", "文昌社区电梯坏了", 1, "文昌社区", 1)  # tier IV: no alert
    _add(store, "工地坍塌", "湖滨社区工地坍塌，两人死亡", 4, "湖滨社区", 2)
    with store.session() as s:
        stats = evaluate_new_posts(s, config, router, NOW)
    assert (stats.posts, stats.opened) == (2, 1)
    with store.session() as s:
        alert = s.scalars(select(Alert)).one()
        # the machine alone says tier I: the duty desk decides first (10 min), and the
        # deadlines shown are the team's should the desk not decide in time
        assert (alert.tier, alert.team_id, alert.status) == (4, "donghu-hubin", "triage")
        assert (alert.desk_team_id, alert.triage) == ("county-triage", "pending")
        assert alert.triage_deadline == NOW + timedelta(minutes=10)
        assert alert.ack_deadline == NOW + timedelta(minutes=25)
        assert alert.respond_deadline == NOW + timedelta(hours=5, minutes=10)
        assert "I 特别重大" in alert.reason
    # A repost of the same matter (same title) joins the alert instead of raising another.
    _add(store, "工地坍塌", "转发：湖滨社区工地坍塌", 4, "湖滨社区", 3)
    later = NOW + timedelta(minutes=5)
    with store.session() as s:
        stats = evaluate_new_posts(s, config, router, later)
    assert (stats.opened, stats.grown) == (0, 1)
    with store.session() as s:
        alert = s.scalars(select(Alert)).one()
        assert alert.post_count == 2
        assert s.scalar(select(func.count()).select_from(AlertPost)) == 2
        assert s.scalar(select(func.count()).select_from(AuditLog)) == 2
    # Evaluating again changes nothing: each post is evaluated once.
    with store.session() as s:
        assert evaluate_new_posts(s, config, router, later).posts == 0


def test_keyword_rule_raises_tier(store: Store, config: AppConfig) -> None:
    router = Router(config.teams, Gazetteer(config.areas))
    _add(store, "工地讨薪", "河西镇几个工人讨薪", 1, "河西镇", 1, category="劳动和社会保障")
    with store.session() as s:
        evaluate_new_posts(s, config, router, NOW)
        alert = s.scalars(select(Alert)).one()
    assert alert.tier == 3 and alert.rule == "watch-list" and "讨薪" in alert.reason
    assert alert.team_id == "hexi"
