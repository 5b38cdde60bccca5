"""Distributed crawl throughput: pages/s of one round of the demo board drained by two
``yuqing crawler-worker`` processes on one Redis frontier, as a ratio to one worker
draining the same round in the same session (each from a fresh store)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import yaml

from bench.common import ROOT, Row, data_note, install_model, messages, rate, say

REDIS_URL = os.environ.get("YUQING_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def _config(tmp: Path, n_posts: int, prefix: str) -> Path:
    directory = tmp / "config"
    shutil.copytree(ROOT / "config", directory)
    settings = yaml.safe_load((directory / "settings.yaml").read_text(encoding="utf-8")) or {}
    # like the crawl figure: no delay, no AutoThrottle, 8 requests per domain (per worker)
    settings["crawler"] = {
        **(settings.get("crawler") or {}),
        "download_delay": 0,
        "autothrottle": False,
        "concurrent_requests_per_domain": 8,
        "redis_key_prefix": prefix,
    }
    (directory / "settings.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True))
    sources = yaml.safe_load((directory / "sources.yaml").read_text(encoding="utf-8"))
    board = next(s for s in sources["sources"] if s["name"] == "demo-board")
    board["max_pages"] = n_posts // 10 + 2
    (directory / "sources.yaml").write_text(
        yaml.safe_dump({"sources": [board]}, allow_unicode=True)
    )
    return directory


def one_round(n_workers: int, site_url: str, n_posts: int, tmp: Path) -> tuple[int, float]:
    """(pages, seconds from seed to the round's end) with ``n_workers`` workers."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    from crawler.distributed import Frontier, enqueue_source
    from yuqing.settings import load_config

    prefix = f"yuqing-bench:{uuid.uuid4().hex[:8]}"
    directory = _config(tmp, n_posts, prefix)
    var = tmp / "var"
    install_model(var / "models")
    env = {
        **os.environ,
        "YUQING_CONFIG": str(directory),
        "YUQING_VAR_DIR": str(var),
        "YUQING_REDIS_URL": REDIS_URL,
    }
    env.pop("YUQING_DATABASE_URL", None)
    config = load_config(directory, env)
    frontier = Frontier.from_config(config)
    logs = [tmp / f"worker{i}.log" for i in range(n_workers)]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runtime.cli",
                "crawler-worker",
                "--sources",
                "demo-board",
                "--demo-url",
                site_url,
            ],
            env=env,
            cwd=ROOT,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        for log in logs
    ]
    try:
        deadline = time.monotonic() + 300
        while sum("Spider opened" in log.read_text(errors="replace") for log in logs) < n_workers:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError(f"workers did not start: {logs[0].read_text()[-2000:]}")
            time.sleep(0.2)
        enqueue_source(config, "demo-board")
        db = create_engine(config.database_url)
        row = None
        while row is None:
            if time.monotonic() > deadline + 1500:
                raise RuntimeError("the round did not finish")
            time.sleep(0.2)
            try:
                with db.connect() as c:
                    row = c.execute(text("SELECT pages, duration_s FROM crawl_runs")).first()
            except OperationalError:  # the first worker to take the seed creates the store
                continue
        db.dispose()
        return int(row[0]), float(row[1])
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=120)
        frontier.clear()


def run(quick: bool) -> list[Row]:
    from crawler.demo.corpus import DemoPost
    from crawler.demo.site import DemoSite

    n_posts = 150 if quick else 400
    posts = [
        DemoPost(
            id=i + 1,
            title=m.title or m.body[:20],
            body=m.body or m.title,
            author=f"网友{i % 97}",
            published_at=m.published_at or datetime.now(UTC),
            category="",
            severity=1,
            area="云溪县",
            likes=m.likes,
        )
        for i, m in enumerate(messages(n_posts))
    ]
    results = {}
    with DemoSite(posts) as site:
        for n in (1, 2):
            say(f"distributed: one round of {n_posts} demo posts with {n} worker(s)")
            with tempfile.TemporaryDirectory(prefix="yuqing-bench-dist-") as tmp_name:
                results[n] = one_round(n, site.url, n_posts, Path(tmp_name))
    (p1, s1), (p2, s2) = results[1], results[2]
    return [
        Row(
            "distributed crawl, 2 workers",
            rate(p2, s2, " pages/s"),
            rate(p1, s1, " pages/s") + " (1 worker)",
            (p2 / s2) / (p1 / s1),
            "ratio = pages/s of two crawler-worker processes on one Redis frontier ÷ one "
            "worker, higher is better (2 is the ceiling); seed to round end, demo board of "
            f"{n_posts} " + data_note("real resident messages") + ", full pipeline into "
            "SQLite (one writer at a time: PostgreSQL scales further); both workers share "
            "this machine's cores with the demo site",
        )
    ]
