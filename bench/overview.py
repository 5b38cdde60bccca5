"""The 态势 overview API (/api/v1/overview, analysis/overview.py) over a large store.

N posts (the real hot-issue messages' titles, cycled; bodies cut to 300 characters)
spread over 90 days before NOW, in events of five posts, each event with eight words
from a vocabulary of 3,000 in event_terms, and 5,000 alerts, written straight into
SQLite. The overview asks for the last 7 days (so it reads those, the 7 before, and
the 28 before that for the terms' baseline), as a supervisor (everything) and as a
grid worker (one community's subtree).

References, measured in the same run on the same store:
- a plain ``SELECT COUNT(*)`` of the period's posts by the same time filter the
  overview uses (``analysis.overview.in_period``: the least any figure over the period
  must read): ratio = ours ÷ that, so it says how many such reads the overview costs;
- ``/healthz`` through the same client (the framework's floor), in the notes.
Latencies are medians of repeated requests through FastAPI's TestClient in this process.

The same store also times one event's page (/api/v1/events/{id}, five posts) against a
plain SELECT of its posts by event id.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import ROOT, Row, messages, ms, say

N_POSTS, Q_POSTS = 1_000_000, 20_000
REPEAT, Q_REPEAT = 7, 3
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
DAYS = 90
EVENT_SIZE = 5
TERMS_PER_EVENT, VOCABULARY = 8, 3000
N_ALERTS = 5000
AREAS = ["文昌社区", "南门社区", "湖滨社区", "东湖新村社区", "河西村", "柳树湾村", "白塔村",
         "石桥村", "城关街道", "河西镇"]  # fmt: skip
CATEGORIES = ["城乡建设", "环境保护", "交通运输", "教育文体", "劳动和社会保障", "商贸旅游"]
SOURCES = ["demo-board", "demo-feed", "hotline-12345"]
TEAMS = ["chengguan-wenchang", "chengguan-nanmen", "donghu-hubin", "donghu-xincun", "hexi", "baita"]


def _fill(app: Any, n_posts: int) -> None:
    from sqlalchemy import insert

    from store.models import Alert, Event, EventTerm, Post

    msgs = messages(min(n_posts, 20_000))
    step = timedelta(days=DAYS) / n_posts
    n_events = n_posts // EVENT_SIZE + 1
    with app.store.session() as s:
        batch: list[dict[str, Any]] = []
        for e in range(1, n_events + 1):
            at = NOW - timedelta(days=DAYS) + step * (e * EVENT_SIZE)
            batch.append({"id": e, "fingerprint": f"bench:{e}", "title": msgs[e % len(msgs)].title[:200],
                          "category": CATEGORIES[e % len(CATEGORIES)], "area": AREAS[e % len(AREAS)],
                          "severity": 1 + e % 4, "post_count": EVENT_SIZE, "first_seen": at,
                          "last_seen": at})  # fmt: skip
            if len(batch) == 20_000:
                s.execute(insert(Event), batch)
                batch.clear()
        if batch:
            s.execute(insert(Event), batch)
        terms = []
        for e in range(1, n_events + 1):
            # a word's events cluster in time (e * 7 drifts through the vocabulary)
            terms += [{"term": f"词{(e // 50 + k * 7) % VOCABULARY:04d}", "event_id": e}
                      for k in range(TERMS_PER_EVENT)]  # fmt: skip
            if len(terms) >= 40_000:
                s.execute(insert(EventTerm), terms)
                terms.clear()
        if terms:
            s.execute(insert(EventTerm), terms)
        batch = []
        for i in range(n_posts):
            m = msgs[i % len(msgs)]
            when = NOW - timedelta(days=DAYS) + step * i
            batch.append({
                "id": i + 1, "key": f"bench:{i}", "source": SOURCES[i % 3], "url": None,
                "content_hash": f"{i:064x}", "title": m.title[:200], "text": m.body[:300],
                "author": None, "published_at": when, "fetched_at": when, "updated_at": when,
                "area": AREAS[(i // EVENT_SIZE) % len(AREAS)],
                "category": CATEGORIES[(i // EVENT_SIZE) % len(CATEGORIES)],
                "category_confidence": 0.8, "uncertain": False, "severity": 1 + i % 4,
                "reasons": [], "model_version": "bench", "evaluated": True, "extra": {},
                "likes": 0, "replies": 0, "event_id": i // EVENT_SIZE + 1,
            })  # fmt: skip
            if len(batch) == 20_000:
                s.execute(insert(Post), batch)
                batch.clear()
        if batch:
            s.execute(insert(Post), batch)
        alerts = []
        for j in range(N_ALERTS):
            opened = NOW - timedelta(minutes=37 * j)
            status = ("open", "acknowledged", "responded", "resolved")[j % 4]
            alerts.append({
                "id": j + 1, "dedup_key": f"bench:{j}", "rule": "bench", "tier": 1 + j % 4,
                "status": status, "team_id": TEAMS[j % len(TEAMS)], "title": "bench",
                "reason": "bench", "category": CATEGORIES[j % len(CATEGORIES)],
                "area": AREAS[j % len(AREAS)], "post_count": 1, "opened_at": opened,
                "updated_at": opened, "ack_deadline": opened + timedelta(hours=2),
                "respond_deadline": opened + timedelta(days=1), "escalation_level": 0,
            })  # fmt: skip
        s.execute(insert(Alert), alerts)


def _median(fn: Any, repeat: int) -> float:
    fn()  # warm: the first read pulls the pages into the cache
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def run(quick: bool) -> list[Row]:
    from fastapi.testclient import TestClient
    from sqlalchemy import func, select

    from analysis.overview import in_period
    from console import accounts
    from console.web import create_app
    from runtime.app import App
    from store.models import Post
    from yuqing.clock import FrozenClock
    from yuqing.settings import load_config

    n_posts, repeat = (Q_POSTS, Q_REPEAT) if quick else (N_POSTS, REPEAT)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="yuqing-bench-overview-") as tmp:
        config = load_config(ROOT / "config", {"YUQING_VAR_DIR": str(Path(tmp))})
        app = App(config, clock=FrozenClock(NOW))
        say(f"overview: writing {n_posts:,} posts in events of {EVENT_SIZE}, {N_ALERTS:,} alerts")
        t = time.perf_counter()
        _fill(app, n_posts)
        say(f"overview: written in {time.perf_counter() - t:.0f} s")
        with app.store.session() as s:
            accounts.add_user(s, config, "bench-sup", "bench password", "supervisor", NOW)
            accounts.add_user(s, config, "bench-grid", "bench password", "responder", NOW,
                              team_id="donghu-hubin")  # fmt: skip
            sup = accounts.create_token(s, "bench-sup", NOW)
            grid = accounts.create_token(s, "bench-grid", NOW)
        since = NOW - timedelta(days=7)

        def count() -> int:
            with app.store.session() as s:
                stmt = select(func.count()).select_from(Post).where(in_period(since, NOW))
                return int(s.scalar(stmt) or 0)

        n_period = count()
        try:
            with TestClient(create_app(app)) as client:

                def get(path: str, token: str) -> None:
                    r = client.get(path, headers={"Authorization": f"Bearer {token}"})
                    assert r.status_code == 200, r.text

                say("overview: references (COUNT of the period, /healthz)")
                ref = _median(count, repeat)
                health = _median(lambda: get("/healthz", sup), repeat)
                cases = [
                    ("overview API latency (supervisor, 7 days)", sup),
                    ("overview API latency (grid worker, own community)", grid),
                ]
                for name, token in cases:
                    say(f"overview: {name}")
                    ours = _median(lambda token=token: get("/api/v1/overview", token), repeat)
                    rows.append(
                        Row(
                            name,
                            ms(ours),
                            f"{ms(ref)} (COUNT of the period's posts)",
                            ours / ref if ref else None,
                            f"ratio = ours ÷ a plain COUNT(*) of the period's {n_period:,} posts "
                            f"in the same store; /healthz {ms(health)}; {n_posts:,} posts over "
                            f"{DAYS} days in {n_posts // EVENT_SIZE:,} events "
                            f"({TERMS_PER_EVENT} words each), {N_ALERTS:,} alerts; SQLite; "
                            f"median of {repeat}",
                        )
                    )
                # the event page of a matter of this week (its EVENT_SIZE posts)
                eid = (n_posts - 100) // EVENT_SIZE + 1

                def event_posts() -> int:
                    with app.store.session() as s:
                        return len(s.scalars(select(Post.id).where(Post.event_id == eid)).all())

                say("overview: event page API latency")
                floor = _median(event_posts, repeat)
                ours = _median(lambda: get(f"/api/v1/events/{eid}", sup), repeat)
                rows.append(
                    Row(
                        "event page API latency (supervisor)",
                        ms(ours),
                        f"{ms(floor)} (SELECT of the event's posts)",
                        ours / floor if floor else None,
                        f"ratio = ours ÷ a plain SELECT of the event's {event_posts()} post ids by "
                        f"posts.event_id (indexed since migration 0014); /healthz "
                        f"{ms(health)}; same store; median of {repeat}",
                    )
                )
        finally:
            app.close()
    return rows
