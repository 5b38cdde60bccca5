"""Crawl throughput: items/s through the whole pipeline (Scrapy -> normalise -> mask ->
place -> classify -> store) against the local demo site, as a ratio to the pages/s
of ``scrapy bench`` run in the same session on the same machine."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import yaml

from bench.common import ROOT, Row, data_note, install_model, messages, rate, say


def _stat(name: str, log: str) -> float | None:
    m = re.search(rf"'{re.escape(name)}': ([0-9.]+)", log)
    return float(m.group(1)) if m else None


def scrapy_bench(seconds: int) -> tuple[int, float]:
    """(pages, seconds) of stock ``scrapy bench`` (run outside our project, so its
    settings are Scrapy's own)."""
    scrapy = str(Path(sys.executable).with_name("scrapy"))
    with tempfile.TemporaryDirectory(prefix="yuqing-scrapy-bench-") as tmp:
        proc = subprocess.run(
            [scrapy, "bench", "-s", f"CLOSESPIDER_TIMEOUT={seconds}", "-s", "LOG_LEVEL=INFO"],
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=seconds * 6 + 60,
        )
    log = proc.stderr
    pages = _stat("response_received_count", log)
    elapsed = _stat("elapsed_time_seconds", log)
    if proc.returncode != 0 or pages is None or not elapsed:
        raise RuntimeError(f"scrapy bench failed: {log[-2000:]}")
    return int(pages), elapsed


def our_crawl(n_posts: int, tmp: Path) -> dict[str, float]:
    """One crawl of the demo board holding ``n_posts`` posts, in a child process as
    ``yuqing crawl`` runs it; returns the child's statistics."""
    from crawler.demo.corpus import DemoPost
    from crawler.demo.site import DemoSite

    # the real resident messages (../shared/data, read in place), served by the demo site
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
    config_dir = tmp / "config"
    shutil.copytree(ROOT / "config", config_dir)
    settings = yaml.safe_load((config_dir / "settings.yaml").read_text(encoding="utf-8")) or {}
    # what scrapy bench runs with: no delay, no AutoThrottle, 8 requests per domain
    settings["crawler"] = {
        **(settings.get("crawler") or {}),
        "download_delay": 0,
        "autothrottle": False,
        "concurrent_requests_per_domain": 8,
    }
    (config_dir / "settings.yaml").write_text(yaml.safe_dump(settings, allow_unicode=True))
    sources = yaml.safe_load((config_dir / "sources.yaml").read_text(encoding="utf-8"))
    board = next(s for s in sources["sources"] if s["name"] == "demo-board")
    board["max_pages"] = n_posts // 10 + 2
    (config_dir / "sources.yaml").write_text(
        yaml.safe_dump({"sources": [board]}, allow_unicode=True)
    )
    var = tmp / "var"
    install_model(var / "models")
    env = {**os.environ, "YUQING_CONFIG": str(config_dir), "YUQING_VAR_DIR": str(var)}
    env.pop("YUQING_DATABASE_URL", None)
    with DemoSite(posts) as site:
        proc = subprocess.run(
            [sys.executable, "-m", "runtime.crawl_child", "--source", "demo-board",
             "--demo-url", site.url],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=1800,
        )  # fmt: skip
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"crawl failed: {proc.stderr[-2000:]}")
    stats: dict[str, float] = json.loads(lines[-1])
    return stats


def run(quick: bool) -> list[Row]:
    n_posts, seconds = (150, 5) if quick else (800, 10)
    say(f"crawl: scrapy bench for {seconds} s")
    ref_pages, ref_s = scrapy_bench(seconds)
    ref_rate = ref_pages / ref_s
    with tempfile.TemporaryDirectory(prefix="yuqing-bench-crawl-") as tmp_name:
        say(f"crawl: our pipeline over {n_posts} demo posts")
        st = our_crawl(n_posts, Path(tmp_name))
    items, secs = int(st["items_accepted"]), float(st["duration_s"])
    ours = items / secs
    return [
        Row(
            "crawl throughput (full pipeline)",
            rate(items, secs, " items/s"),
            rate(ref_pages, ref_s, " pages/s") + " (scrapy bench)",
            ours / ref_rate,
            f"ratio = our items/s ÷ scrapy bench pages/s, higher is better (target ≥ 0.5); "
            f"demo board serving {items} "
            + data_note("real resident messages")
            + f" over {int(st['pages'])} pages (list + detail, GBK and lying charsets); "
            "mask, place, classify (batches of 16), near-duplicate sketch, encrypt, store "
            "(one commit per post); "
            "no delay or AutoThrottle, 8 requests per domain like scrapy bench",
        )
    ]
