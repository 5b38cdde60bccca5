"""Real Scrapy crawls of the demo site on 127.0.0.1, each in a child process."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crawler.demo.corpus import DemoPost, demo_corpus
from crawler.demo.site import DemoSite, page_encoding
from yuqing.privacy import mask_personal_data

REPO = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("crawl_child.py")
NOW = datetime.now(UTC).replace(microsecond=0)
PRIVATE = "联系人手机13812345678，身份证110101199003071234，邮箱li.si@example.com。"

pytestmark = pytest.mark.slow


def crawl(tmp_path: Path, site: DemoSite, source: str, seen: list[str] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    spec = {
        "config_dir": str(REPO / "config"),
        "source": source,
        "demo_url": site.url,
        "seen": [[source, u] for u in seen],
        "out": str(tmp_path / f"out-{source}-{len(seen)}.json"),
    }
    spec_path = tmp_path / f"spec-{source}-{len(seen)}.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(CHILD), str(spec_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(Path(spec["out"]).read_text(encoding="utf-8"))


def thread_id(url: str) -> int:
    return int(url.rsplit("/", 1)[1].removesuffix(".html"))


@pytest.fixture(scope="module")
def corpus() -> list[DemoPost]:
    posts = demo_corpus(NOW - timedelta(minutes=30))
    last = posts[-1]
    extra = [
        # newest: a post with personal data, one whose body is empty, one whose page fails
        replace(last, id=last.id + 1, title="湖滨小区物业乱收费", body="物业乱收停车费。\n" + PRIVATE, published_at=NOW - timedelta(minutes=3)),
        replace(last, id=last.id + 2, title="（该帖内容已被删除）", body="", published_at=NOW - timedelta(minutes=2)),
        replace(last, id=last.id + 3, title="服务器出错的帖子", published_at=NOW - timedelta(minutes=1)),
    ]  # fmt: skip
    return posts + extra


@pytest.fixture(scope="module")
def site(corpus: list[DemoPost]) -> Any:
    with DemoSite(corpus) as running:
        running.break_thread(corpus[-1].id, 404)
        yield running


def test_board_crawl_then_incremental(
    tmp_path: Path, site: DemoSite, corpus: list[DemoPost]
) -> None:
    first = crawl(tmp_path, site, "demo-board")
    good = [p for p in corpus if p.body]
    broken_id = corpus[-1].id
    good = [p for p in good if p.id != broken_id]
    posts = first["posts"]
    by_id = {thread_id(p["url"]): p for p in posts}

    # every readable post arrives exactly once
    assert sorted(by_id) == sorted(p.id for p in good)
    assert len(posts) == len(good)
    assert first["stats"]["items_accepted"] == len(good) == first["stats"]["items_new"]
    # detail pages read (not the failing one) + list pages
    assert first["stats"]["pages"] == len(corpus) - 1 + (len(corpus) + 9) // 10

    encodings = set()
    for post in good:
        got = by_id[post.id]
        encodings.add(
            page_encoding(post.id)[0] + ("/lying" if page_encoding(post.id)[1] is None else "")
        )
        # decoded right, whatever the page's encoding or its <meta> claimed
        assert got["title"] == post.title
        for line in post.body.split("\n"):
            assert mask_personal_data(line) in got["text"]
        assert "\ufffd" not in got["text"]
        # dates: aware, UTC, the minute the board printed
        published = datetime.fromisoformat(got["published_at"])
        assert published.utcoffset() == timedelta(0)
        assert published == post.published_at.replace(second=0).astimezone(UTC)
        assert got["author"] == post.author
        assert (got["likes"], got["replies"]) == (post.likes, post.replies)
        assert got["reply_text"] == post.reply
        if post.reply_at:
            assert datetime.fromisoformat(got["reply_at"]) == post.reply_at.astimezone(UTC)
        assert got["area"] == "云溪县"
    assert {"gbk", "gbk/lying", "utf-8", "utf-8/lying"} <= encodings

    # personal data is masked, never passed on
    everything = json.dumps(posts, ensure_ascii=False)
    for raw in ("13812345678", "110101199003071234", "li.si@example.com", "1391234567"):
        assert raw not in everything
    assert "138****5678" in by_id[corpus[-3].id]["text"]

    # the empty post and the failing page are dead letters, not silence
    dead = {thread_id(d["url"]): d for d in first["dead_letters"]}
    assert set(dead) == {corpus[-2].id, corpus[-1].id}
    assert "empty" in dead[corpus[-2].id]["reason"]
    assert dead[corpus[-1].id]["reason"] == "HTTP 404"
    assert first["stats"]["dead_letters"] == 2

    # second crawl: the sink has seen everything, the site has one new post
    site.add(replace(corpus[0], id=9999, title="东湖新村停水三天", published_at=NOW))
    seen = [p["url"] for p in posts] + [d["url"] for d in first["dead_letters"]]
    second = crawl(tmp_path, site, "demo-board", seen=seen)
    assert [thread_id(p["url"]) for p in second["posts"]] == [9999]
    assert (
        second["stats"]["pages"] == 3
    )  # list page 1, its new thread, list page 2 (all seen): stop
    assert second["dead_letters"] == []


def test_feed_crawl(tmp_path: Path, site: DemoSite, corpus: list[DemoPost]) -> None:
    result = crawl(tmp_path, site, "demo-feed")
    newest = site.posts()[:30]
    urls = [p["url"] for p in result["posts"]]
    assert len(urls) == len(set(urls)) == result["stats"]["items_accepted"]
    by_id = {thread_id(p["url"]): p for p in result["posts"]}
    for post in newest:
        if not post.body:
            continue
        got = by_id[post.id]
        assert got["title"] == post.title
        assert datetime.fromisoformat(got["published_at"]) == post.published_at.astimezone(UTC)
        assert "13812345678" not in got["text"]
    # the feed's empty entry is a dead letter too
    assert [thread_id(d["url"]) for d in result["dead_letters"]] == [corpus[-2].id]


def test_scrapy_crawl_command(tmp_path: Path, site: DemoSite) -> None:
    """`cd crawler && scrapy crawl board -a source=...` works as Scrapy users expect."""
    proc = subprocess.run(
        [
            str(Path(sys.executable).with_name("scrapy")),
            "crawl",
            "board",
            "-a",
            "source=demo-board",
            "-a",
            f"demo_url={site.url}",
            "-s",
            "YUQING_SINK_FACTORY=crawler.sinks.open_memory_sink",
            "-s",
            "DOWNLOAD_DELAY=0",
            "-s",
            "AUTOTHROTTLE_ENABLED=0",
            "-s",
            "CLOSESPIDER_PAGECOUNT=5",
        ],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO / "crawler",
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "'yuqing/accepted'" in proc.stderr
    assert "Traceback" not in proc.stderr
