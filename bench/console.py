"""The console under concurrent load: the inbox and search APIs, the inbox page and the
model admin page, requests/s and p99.

A store of 100,000 posts (the real hot-issue messages, cycled) and 5,000 alerts is
written straight into SQLite, and again into PostgreSQL when
``YUQING_BENCH_POSTGRES_URL`` names an empty database the benchmark may fill and
empty; 10,000 of the posts are indexed by the embedded index. The console runs under
uvicorn in this process; the load comes from a second process on loopback (asyncio +
httpx, CONCURRENCY connections, each request authenticated by an API token as the
console's clients are). Nothing is written while it runs, so the console's caches
(console.freshness) hold; one case turns them off, as if commits landed all the time.

Reference, measured the same way right before each case: ``/healthz`` on the same
server (no database, no login), i.e. the framework's floor. Ratio = reference
requests/s ÷ ours, so it says how many times the work behind the route costs.
Errors (any non-200) are counted and reported; the figure expects zero.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import ROOT, Row, messages, ms, say

N_POSTS, N_ALERTS, N_INDEXED = 100_000, 5_000, 10_000
Q_POSTS, Q_ALERTS, Q_INDEXED = 5_000, 500, 1_000
CONCURRENCY = 16
COLD = "cold:"  # a case run with the console's caches off
PG_ENV = "YUQING_BENCH_POSTGRES_URL"  # an empty database the benchmark may fill and empty
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
AREAS = [
    "文昌社区",
    "南门社区",
    "湖滨社区",
    "东湖新村社区",
    "河西村",
    "柳树湾村",
    "白塔村",
    "石桥村",
]
CATEGORIES = [
    "城乡建设",
    "环境保护",
    "交通运输",
    "教育文体",
    "劳动和社会保障",
    "商贸旅游",
    "卫生计生",
]
TEAMS = ["chengguan-wenchang", "chengguan-nanmen", "donghu-hubin", "donghu-xincun", "hexi", "baita"]
QUERIES = ["物业", "停车", "噪音", "垃圾", "工资", "学校", "小区 物业", "公交", "燃气", "拆迁"]


def _fill(app: Any, n_posts: int, n_alerts: int) -> None:
    from sqlalchemy import insert

    from store.models import Alert, AlertPost, Post

    msgs = messages(n_posts)
    with app.store.session() as s:
        batch: list[dict[str, Any]] = []
        for i, m in enumerate(msgs):
            when = m.published_at or NOW - timedelta(minutes=i)
            batch.append(
                {
                    "id": i + 1, "key": f"bench:{i}", "source": "bench", "url": None,
                    "content_hash": f"{i:064x}", "title": m.title[:200], "text": m.body[:2000],
                    "author": None, "published_at": when, "fetched_at": when, "updated_at": when,
                    "area": AREAS[i % len(AREAS)], "category": CATEGORIES[i % len(CATEGORIES)],
                    "category_confidence": 0.8, "uncertain": False, "severity": 1 + i % 4,
                    "reasons": [], "model_version": "bench", "evaluated": True, "extra": {},
                    "likes": m.likes, "replies": 0,
                }
            )  # fmt: skip
            if len(batch) == 5000:
                s.execute(insert(Post), batch)
                batch.clear()
        if batch:
            s.execute(insert(Post), batch)
        alerts, links = [], []
        for j in range(n_alerts):
            opened = NOW - timedelta(minutes=7 * j)
            status = ("open", "acknowledged", "responded", "resolved")[j % 4]
            alerts.append(
                {
                    "id": j + 1, "dedup_key": f"bench:{j}", "rule": "bench", "tier": 1 + j % 4,
                    "status": status, "team_id": TEAMS[j % len(TEAMS)], "title": msgs[j].title[:200],
                    "reason": "bench", "category": CATEGORIES[j % 7], "area": AREAS[j % 8],
                    "post_count": 1, "latest_post_id": j + 1, "opened_at": opened,
                    "updated_at": opened, "ack_deadline": opened + timedelta(hours=2),
                    "respond_deadline": opened + timedelta(days=1),
                    "acknowledged_at": opened + timedelta(minutes=30) if status != "open" else None,
                    "responded_at": None, "resolved_at": opened + timedelta(hours=5)
                    if status == "resolved" else None, "escalation_level": 0,
                }
            )  # fmt: skip
            links.append({"alert_id": j + 1, "post_id": j + 1, "added_at": opened})
        s.execute(insert(Alert), alerts)
        s.execute(insert(AlertPost), links)


def _model(app: Any) -> None:
    from classifier.bootstrap import ensure_model
    from crawler.demo.corpus import labelled_examples

    cfg = app.config
    ensure_model(cfg.model_dir, cfg.taxonomy, labelled_examples,
                 cfg.settings.classifier.uncertain_below, synthetic=True)  # fmt: skip


def _index(app: Any, n: int) -> None:
    from sqlalchemy import select

    from store.models import Post
    from store.posts import index_doc

    with app.store.session() as s:
        docs = [index_doc(p) for p in s.scalars(select(Post).order_by(Post.id).limit(n))]
    for k in range(0, len(docs), 2000):
        app.index.index(docs[k : k + 2000])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _load(url: str, token: str, paths: list[str], seconds: float) -> dict[str, Any]:
    """Run the load generator in a second process; returns its JSON summary."""
    code = "from bench.console import load_main; load_main()"
    out = subprocess.run(
        [sys.executable, "-c", code, url, token, json.dumps(paths), str(seconds), str(CONCURRENCY)],
        capture_output=True, text=True, cwd=ROOT, timeout=seconds + 120, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def load_main() -> None:
    """Child process: CONCURRENCY workers loop over ``paths`` for ``seconds``."""
    import asyncio

    import httpx

    url, token, paths_json, seconds_s, conc_s = sys.argv[1:6]
    paths, seconds, conc = json.loads(paths_json), float(seconds_s), int(conc_s)
    lat: list[float] = []
    errors = 0

    async def worker(k: int, client: httpx.AsyncClient, until: float) -> None:
        nonlocal errors
        i = k
        while time.perf_counter() < until:
            t0 = time.perf_counter()
            try:
                r = await client.get(paths[i % len(paths)])
                if r.status_code != 200:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            lat.append(time.perf_counter() - t0)
            i += 1

    async def main() -> float:
        limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits,
                                     timeout=60) as client:  # fmt: skip
            for p in paths[:3]:  # warm up
                await client.get(p)
            t0 = time.perf_counter()
            await asyncio.gather(*(worker(k, client, t0 + seconds) for k in range(conc)))
            return time.perf_counter() - t0

    wall = asyncio.run(main())
    lat.sort()
    p = (lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]) if lat else (lambda q: 0.0)
    print(json.dumps({"n": len(lat), "wall": wall, "errors": errors, "p50": p(0.5),
                      "p99": p(0.99)}))  # fmt: skip


def run(quick: bool) -> list[Row]:
    rows = _run_on(None, quick)
    pg = os.environ.get(PG_ENV)
    if pg:
        rows += _run_on(pg, quick)
    else:
        say(f"console: {PG_ENV} is not set: the PostgreSQL rows are skipped")
    return rows


def _empty_postgres(app: Any) -> None:
    from sqlalchemy import text

    from store.models import Base

    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with app.store.engine.begin() as c:
        c.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def _run_on(db_url: str | None, quick: bool) -> list[Row]:
    """Every case against one store: SQLite in a temporary directory (None), or the
    PostgreSQL database at ``db_url`` (emptied before and after)."""
    import uvicorn

    from console import accounts
    from console.web import create_app
    from runtime.app import App
    from yuqing.clock import FrozenClock
    from yuqing.settings import load_config

    n_posts, n_alerts, n_indexed = (Q_POSTS, Q_ALERTS, Q_INDEXED) if quick else (
        N_POSTS, N_ALERTS, N_INDEXED)  # fmt: skip
    seconds = 3.0 if quick else 15.0
    store = "PostgreSQL" if db_url else "SQLite"
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="yuqing-bench-console-") as tmp:
        env = {"YUQING_VAR_DIR": str(Path(tmp))}
        if db_url:
            env["YUQING_DATABASE_URL"] = db_url
        config = load_config(ROOT / "config", env)
        app = App(config, clock=FrozenClock(NOW))
        if db_url:
            _empty_postgres(app)
            from alerts.engine import sync_teams

            with app.store.session() as s:  # the emptied teams table, as at start-up
                sync_teams(s, config)
        say(f"console ({store}): writing {n_posts:,} posts and {n_alerts:,} alerts")
        _fill(app, n_posts, n_alerts)
        say(f"console ({store}): indexing {n_indexed:,} posts")
        _index(app, n_indexed)
        with app.store.session() as s:
            accounts.add_user(s, config, "bench-sup", "bench password", "supervisor", NOW)
            accounts.add_user(s, config, "bench-grid", "bench password", "responder", NOW,
                              team_id="donghu-hubin")  # fmt: skip
            accounts.add_user(s, config, "bench-admin", "bench password", "admin", NOW)
        with app.store.session() as s:
            sup = accounts.create_token(s, "bench-sup", NOW)
            grid = accounts.create_token(s, "bench-grid", NOW)
            admin = accounts.create_token(s, "bench-admin", NOW)
        say(
            f"console ({store}): a model for /admin/models (the demo model, as `make run` trains it)"
        )
        _model(app)
        port = _free_port()
        web = create_app(app)
        server = uvicorn.Server(uvicorn.Config(web, host="127.0.0.1", port=port,
                                               log_level="warning", access_log=False))  # fmt: skip
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}"
        try:
            cases = [
                ("console inbox API (supervisor, 50 by deadline", sup,
                 ["/api/v1/alerts?limit=50", "/api/v1/alerts?limit=50&status=open"]),
                (COLD + "console inbox API (supervisor, 50 by deadline, caches off", sup,
                 ["/api/v1/alerts?limit=50", "/api/v1/alerts?limit=50&status=open"]),
                ("console inbox API (responder, own grid", grid, ["/api/v1/alerts?limit=50"]),
                ("console search API (+facets", sup,
                 [f"/api/v1/search?q={q}&limit=20" for q in QUERIES]),
                ("console inbox page (responder, HTML, 50 a page", grid, ["/"]),
                ("console /admin/models page (versions, report, label queue", admin,
                 ["/admin/models"]),
            ]  # fmt: skip
            for name, token, paths in cases:
                cold = name.startswith(COLD)
                name = name.removeprefix(COLD)
                # the reference right before each case: on a shared machine the load of
                # the minute moves both alike
                say(f"console ({store}): /healthz (reference), then {name})")
                ref = _load(url, sup, ["/healthz"], seconds)
                ref_rps = ref["n"] / ref["wall"]
                # caches off: what every request costs while the store changes all the time
                # (live ingest commits every moment): nothing kept is ever reused
                caches = (web.state.responses, web.state.auth_cache)
                sizes = [c.size for c in caches]
                for c in caches:
                    if cold:
                        c.size = 0
                        c.clear()
                r = _load(url, token, paths, seconds)
                for c, size in zip(caches, sizes, strict=True):
                    c.size = size
                rps = r["n"] / r["wall"]
                rows.append(
                    Row(
                        f"{name}; {store})",
                        f"{rps:,.0f} req/s, p99 {ms(r['p99'])}",
                        f"{ref_rps:,.0f} req/s, p99 {ms(ref['p99'])} (/healthz)",
                        ref_rps / rps if rps else None,
                        f"ratio = reference req/s ÷ ours; {CONCURRENCY} connections from a second "
                        f"process, {seconds:.0f} s; errors {r['errors']} of {r['n']} "
                        f"(reference {ref['errors']}); p50 {ms(r['p50'])}; {n_posts:,} posts, "
                        f"{n_alerts:,} alerts, {n_indexed:,} indexed; bearer token per request; "
                        f"{store}"
                        + (" on this machine (" + PG_ENV + ")" if db_url else "")
                        + (
                            "; caches off: every request reads the store, as when a commit "
                            "lands between any two requests"
                            if cold
                            else "; nothing written during the run, so the console's caches "
                            "hold (a commit anywhere recomputes)"
                        ),
                    )
                )
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            if db_url:
                _empty_postgres(app)
            app.close()
    return rows
