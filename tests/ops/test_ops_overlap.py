"""Two schedulers' pipeline ticks overlapping (an old holder finishing a job while
the new one starts): the store's unique keys keep every post in exactly one alert
of a rule and every notification queued once; a tick that loses the race is
rolled back whole and its posts are taken up by the next tick."""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from ops_kit import CONFIG_DIR, START, add_post
from sqlalchemy import select

from runtime.app import App
from runtime.jobs import evaluate_alerts
from runtime.service import Service
from store.alerting_models import NotificationOutbox
from store.models import Alert, AlertPost, Post
from yuqing.clock import FrozenClock
from yuqing.settings import load_config

ROUNDS = 4
AREAS = ["湖滨社区", "东湖新村", "河西村"]
TITLES = [
    "化工厂爆炸起火",
    "大桥垮塌多人被困",
    "小区燃气泄漏",
    "学校食堂集体中毒",
    "河道大面积死鱼",
]


@pytest.fixture
def pair(tmp_path: Path, db_url: str) -> Iterator[tuple[Service, Service]]:
    cfg = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, cfg)
    (cfg / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    env = {"YUQING_DATABASE_URL": db_url, "YUQING_VAR_DIR": str(tmp_path / "var")}
    config = load_config(cfg, env)
    clock = FrozenClock(START)
    # Two Apps: two engines and pools, as two processes would have.
    a, b = Service(App(config, clock=clock), "a"), Service(App(config, clock=clock), "b")
    yield a, b
    a.app.close()
    b.app.close()


def _tick(svc: Service, start: threading.Barrier, lost: list[BaseException]) -> None:
    start.wait()
    try:  # the rule evaluation of a tick, as an old holder mid-job runs it: no lease check
        evaluate_alerts(svc.app)
    except Exception as exc:  # the loser of a race: its transaction is rolled back whole
        lost.append(exc)


def test_overlapping_ticks_double_nothing_and_lose_nothing(pair: tuple[Service, Service]) -> None:
    a, b = pair
    now = a.app.now()
    n = 0
    lost: list[BaseException] = []
    for round_ in range(ROUNDS):
        for i, title in enumerate(TITLES * 6):
            n += 1
            add_post(
                a.app.store,
                now,
                f"{title}{round_}-{i}",
                severity=2 + (i + round_) % 3,  # tiers III, II, I
                area=AREAS[(i + round_) % len(AREAS)],
                author=f"u{n}",
            )
        start = threading.Barrier(2)

        threads = [threading.Thread(target=_tick, args=(svc, start, lost)) for svc in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    evaluate_alerts(a.app)  # whatever a rolled-back tick left is taken up now

    with a.app.store.session() as s:
        assert s.scalars(select(Post.id).where(Post.evaluated.is_(False))).all() == []
        severe = set(s.scalars(select(Post.id).where(Post.severity >= 2)))
        links = s.execute(
            select(Alert.rule, AlertPost.post_id)
            .join(AlertPost.alert)
            .where(Alert.rule == "severe-post")
        ).all()
        per_post = Counter(post_id for _, post_id in links)
        opened = list(s.scalars(select(Alert).where(Alert.rule == "severe-post")))
        rows = list(s.scalars(select(NotificationOutbox)))
    assert set(per_post) == severe, "every severe post is in a severe-post alert"
    assert max(per_post.values()) == 1, "and in only one"
    assert len(severe) == n
    for alert in opened:  # a grow rolled back left no count behind
        assert alert.post_count == len(_posts_of(a, alert.id))
    # tiers I-II notify at once: the duty desk (研判) when the machine alone says so
    keys = Counter((r.alert_id, r.kind, r.channel) for r in rows if r.kind in ("open", "triage"))
    assert keys and max(keys.values()) == 1
    urgent = {al.id for al in opened if al.tier >= 3}
    assert urgent <= {alert_id for alert_id, _, _ in keys}
    assert all("IntegrityError" in type(e).__name__ + repr(e) for e in lost), lost
    print(f"evaluations that lost the race and were rolled back: {len(lost)} of {2 * ROUNDS}")


def _posts_of(svc: Service, alert_id: int) -> set[int]:
    with svc.app.store.session() as s:
        return set(s.scalars(select(AlertPost.post_id).where(AlertPost.alert_id == alert_id)))
