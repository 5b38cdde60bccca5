"""Spike and growing-event rules, silences."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import pytest
from alerts_testkit import START, add_post, write_config
from sqlalchemy import select

from alerts.engine import evaluate_new_posts
from alerts.routing import Router
from alerts.rules.spike import poisson_sf
from alerts.silences import SilenceError, add_silence
from store.alerting_models import NotificationOutbox
from store.db import Store
from store.models import Alert, AuditLog
from yuqing.gazetteer import Gazetteer
from yuqing.settings import AppConfig, load_config


def _eval(store: Store, config: AppConfig, now=START):  # type: ignore[no-untyped-def]
    with store.session() as s:
        return evaluate_new_posts(s, config, Router(config.teams, Gazetteer(config.areas)), now)


def test_poisson_tail() -> None:
    assert poisson_sf(0, 3.0) == 1.0
    assert poisson_sf(1, 2.0) == pytest.approx(1 - 2.718281828**-2)
    assert poisson_sf(5, 1 / 168) < 1e-12
    assert poisson_sf(3, 3.0) > 0.5


def _tail_in_log_space(k: int, lam: float) -> float:
    # Independent of SciPy: sum the pmf from k upwards, each term in log space.
    terms = (
        j * math.log(lam) - lam - math.lgamma(j + 1) for j in range(k, k + 20 * int(lam**0.5) + 50)
    )
    return math.fsum(math.exp(t) for t in terms)


@pytest.mark.parametrize(("k", "lam"), [(1000, 800.0), (900, 800.0), (5200, 5000.0), (12, 2.5)])
def test_poisson_tail_matches_a_log_space_sum(k: int, lam: float) -> None:
    assert poisson_sf(k, lam) == pytest.approx(_tail_in_log_space(k, lam), rel=1e-9)


def test_poisson_tail_at_large_lambda() -> None:
    # exp(-800) underflows to 0.0: a series started from it said p = 1, and the spike rule of a
    # busy pair (800 posts expected per window) never fired. 1000 posts there is a spike.
    assert math.exp(-800.0) == 0.0
    assert poisson_sf(1000, 800.0) < 1e-10
    assert 0.4 < poisson_sf(800, 800.0) < 0.6


def test_poisson_tail_keeps_digits_far_out() -> None:
    # 1 - (sum below k) is 0.0 once the tail is below 1e-16; the tail itself is not.
    p = poisson_sf(40, 2.0)
    assert 0.0 < p < 1e-20
    assert p == pytest.approx(_tail_in_log_space(40, 2.0), rel=1e-9)


def test_spike_fires_once_against_its_own_baseline(store: Store, config: AppConfig) -> None:
    # A steady baseline elsewhere: 河西镇 has 10 环境保护 posts a day all week.
    for d in range(1, 8):
        for i in range(10):
            add_post(
                store,
                START,
                f"河西镇排污{d}-{i}",
                severity=1,
                area="河西镇",
                category="环境保护",
                published_at=START - timedelta(days=d, minutes=7 * i),
            )
    _eval(store, config)
    # Six 交通运输 posts in 湖滨社区 within the hour (no history): a spike.
    for i in range(6):
        add_post(
            store,
            START,
            f"湖滨路口拥堵{i}",
            severity=1,
            category="交通运输",
            published_at=START - timedelta(minutes=5 * i),
        )
    stats = _eval(store, config)
    assert stats.spikes == 1
    # Four more in 湖滨社区 do not open a second spike alert while that one is active,
    # and one post in 河西镇 is nothing against its own busy baseline.
    add_post(store, START, "河西镇排污今天", severity=1, area="河西镇", category="环境保护")
    for i in range(4):
        add_post(store, START, f"湖滨路口又堵{i}", severity=1, category="交通运输")
    assert _eval(store, config, START + timedelta(minutes=10)).spikes == 0
    with store.session() as s:
        (alert,) = s.scalars(select(Alert).where(Alert.rule == "spike")).all()
        assert (alert.area, alert.category, alert.tier, alert.team_id) == (
            "湖滨社区",
            "交通运输",
            2,
            "donghu-hubin",
        )
        assert alert.post_count == 6 and "泊松" in alert.reason


def test_no_spike_at_the_usual_rate(store: Store, tmp_path: Path) -> None:
    rules = [
        {
            "name": "spike",
            "kind": "spike",
            "window": "1h",
            "baseline": "1d",
            "min_count": 5,
            "tier": "III",
        }
    ]
    config = load_config(write_config(tmp_path / "c", alerts={"rules": rules}))
    for h in range(26):  # five posts an hour for a day and more
        for i in range(5 if h else 6):
            add_post(
                store,
                START,
                f"河西镇排污{h}-{i}",
                severity=1,
                area="河西镇",
                category="环境保护",
                published_at=START - timedelta(hours=h, minutes=i),
            )
    assert _eval(store, config).spikes == 0  # six in the last hour is the usual rate here


def test_growing_event_by_distinct_authors(store: Store, config: AppConfig) -> None:
    add_post(store, START, "小区停水", severity=1, author="甲")
    add_post(store, START, "小区停水", severity=1, author="甲", text="又停水了")
    add_post(store, START, "小区停水", severity=1, author="乙")
    assert _eval(store, config).opened == 0  # two people so far, tier IV posts
    add_post(store, START, "小区停水", severity=1, author="丙")
    stats = _eval(store, config, START + timedelta(minutes=5))
    assert stats.opened == 1
    with store.session() as s:
        alert = s.scalars(select(Alert)).one()
        assert (alert.rule, alert.tier) == ("growing-event", 2)
        assert "3 位不同作者" in alert.reason


def test_silence_by_area_suppresses_then_expires(store: Store, config: AppConfig) -> None:
    with store.session() as s:
        sil = add_silence(
            s,
            now=START,
            until=START + timedelta(hours=2),
            created_by="li",
            reason="东湖街道已现场处置，避免重复告警",
            area="东湖街道",
        )
        sid = sil.id
    add_post(store, START, "工地坍塌", severity=4, area="湖滨社区")
    stats = _eval(store, config)
    assert (stats.opened, stats.silenced) == (0, 1)
    with store.session() as s:
        assert s.scalars(select(Alert)).all() == []
        assert s.scalars(select(NotificationOutbox)).all() == []
        audit = s.scalars(select(AuditLog).where(AuditLog.action == "alert.silenced")).one()
        assert audit.detail["silence_id"] == sid
        added = s.scalars(select(AuditLog).where(AuditLog.action == "silence.add")).one()
        assert added.actor == "li" and added.detail["reason"].startswith("东湖街道")
    # Another area is not muted; after the silence ends the matter alerts again.
    add_post(store, START, "河西镇山体滑坡", severity=4, area="河西镇")
    assert _eval(store, config).opened == 1
    add_post(store, START, "工地坍塌", severity=4, area="湖滨社区", text="工地坍塌后续")
    assert _eval(store, config, START + timedelta(hours=2, minutes=1)).opened == 1


def test_silence_by_rule_and_event(store: Store, config: AppConfig) -> None:
    pid = add_post(store, START, "讨薪", severity=1, area="河西镇", category="劳动和社会保障")
    with store.session() as s:
        from store.models import Post

        event_id = s.get(Post, pid).event_id
        add_silence(
            s,
            now=START,
            until=START + timedelta(days=1),
            created_by="li",
            reason="已立案",
            rule="watch-list",
            event_id=event_id,
        )
    assert _eval(store, config).silenced == 1
    add_post(store, START, "另一处讨薪", severity=1, area="河西镇", category="劳动和社会保障")
    assert _eval(store, config).opened == 1  # another event: not muted


def test_silence_needs_scope_reason_and_future_end(store: Store) -> None:
    with store.session() as s:
        with pytest.raises(SilenceError, match="rule, an area or an event"):
            add_silence(s, now=START, until=START + timedelta(hours=1), created_by="a", reason="x")
        with pytest.raises(SilenceError, match="future"):
            add_silence(s, now=START, until=START, created_by="a", reason="x", area="河西镇")
        with pytest.raises(SilenceError, match="reason"):
            add_silence(
                s,
                now=START,
                until=START + timedelta(hours=1),
                created_by="a",
                reason=" ",
                area="河西镇",
            )


def test_every_rule_kind_has_its_model_and_its_module() -> None:
    # adding a kind: a model in the settings union, a module and a line in RULE_KINDS
    from typing import get_args

    from alerts.rules import RULE_KINDS, kind_of
    from yuqing.settings import RULE_MODELS

    kinds = {get_args(m.model_fields["kind"].annotation)[0] for m in RULE_MODELS}
    assert kinds == set(RULE_KINDS)
    assert all(kind_of(k).kind == k for k in kinds)
    assert {k for k in kinds if kind_of(k).looks_at == "pair"} == {"spike"}


def test_a_rule_takes_only_its_own_kinds_options(tmp_path: Path) -> None:
    # a spike's window on a keyword rule would do nothing: refused, naming the key
    from yuqing.settings import ConfigError

    rules = [{"name": "watch", "kind": "keyword", "keywords": ["讨薪"], "window": "1h"}]
    with pytest.raises(ConfigError) as exc:
        load_config(write_config(tmp_path / "c", alerts={"rules": rules}))
    (p,) = exc.value.problems
    assert p.file == "alerts.yaml" and "window" in p.key, p
    rules = [{"name": "watch", "kind": "keyword"}]
    with pytest.raises(ConfigError) as exc:
        load_config(write_config(tmp_path / "d", alerts={"rules": rules}))
    assert "needs keywords" in exc.value.problems[0].message
