"""Real crawls against a local site that serves what county sources really serve:
every good post arrives exactly once with the right Chinese text; every bad page is
recorded with its reason; the crawl never aborts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.crawler.robust_site import API_ENV, BAD, GOOD, RobustSite, sources_yaml

REPO = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("crawl_child.py")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site() -> Iterator[RobustSite]:
    with RobustSite() as running:
        yield running


@pytest.fixture(scope="module")
def robust_config(tmp_path_factory: pytest.TempPathFactory, site: RobustSite) -> Path:
    directory = tmp_path_factory.mktemp("robust") / "config"
    shutil.copytree(REPO / "config", directory)
    (directory / "sources.yaml").write_text(sources_yaml(site.url), encoding="utf-8")
    return directory


def crawl(
    tmp_path: Path, config_dir: Path, source: str, state: dict[str, Any] | None = None
) -> dict[str, Any]:
    n = len(list(tmp_path.glob("spec-*")))
    spec = {
        "config_dir": str(config_dir),
        "env": API_ENV,  # the api source's ${ROBUST_API_TOKEN} and ${ROBUST_SESSION}
        "source": source,
        "state": state or {},
        # a short timeout so the slow page (30 s) fails fast, yet not so short that a
        # good page misses it on a loaded 2-core machine (1 s could); one retry for the 500
        "crawler": {"timeout_seconds": 3, "retry_times": 1},
        "out": str(tmp_path / f"out-{n}.json"),
    }
    spec_path = tmp_path / f"spec-{n}.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(CHILD), str(spec_path)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    result: dict[str, Any] = json.loads(Path(spec["out"]).read_text(encoding="utf-8"))
    return result


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_every_good_post_once_every_bad_page_recorded(
    tmp_path: Path, site: RobustSite, robust_config: Path
) -> None:
    results = {
        name: crawl(tmp_path, robust_config, name)
        for name in ("robust-board", "robust-rss", "robust-atom", "robust-badfeed",
                     "robust-emptyfeed", "robust-api", "robust-badapi")
    }  # fmt: skip
    posts = [p for r in results.values() for p in r["posts"]]
    dead = [d for r in results.values() for d in r["dead_letters"]]

    # exactly once each, and nothing that is not a good post
    arrived = Counter(path_of(p["url"]) for p in posts)
    assert arrived == Counter(set(GOOD)), arrived
    for post in posts:
        title, body = GOOD[path_of(post["url"])]
        assert post["title"] == title
        assert body in post["text"]
        assert "\ufffd" not in post["text"] + post["title"]
    # GB18030-only characters (outside GBK) survived pages that declared gb2312, gbk or nothing
    assert any("𠮷" in p["title"] for p in posts) and any("䶮" in p["text"] for p in posts)

    # every bad page is recorded once, with a reason that says what went wrong
    recorded = {path_of(d["url"]): d["reason"] for d in dead if d["url"]}
    assert set(recorded) == set(BAD), recorded
    assert len([d for d in dead if d["url"]]) == len(BAD)
    # what feedparser salvaged from the truncated feed (a title, no link, no text) is kept too
    assert {d["source"] for d in dead if not d["url"]} <= {"robust-badfeed"}
    for path, word in BAD.items():
        reason = recorded[path].lower()
        if word == "timeout":
            assert "timeout" in reason or "timed out" in reason, reason
        elif word == "size":
            assert "max size" in reason or "maxsize" in reason or "larger than" in reason, reason
        else:
            assert word.lower() in reason, reason

    # the 500 was retried into a post; the board's statistics add up
    assert site.hits["/board/t/11.html"] == 2
    board = results["robust-board"]["stats"]
    assert board["finish_reason"] == "finished"
    assert board["items_accepted"] == board["items_new"] == 11
    assert board["dead_letters"] == 4
    assert board["errors"] >= 4
    assert board["pages"] == 3 + 11 + 1  # list pages, good details, the empty one
    for r in results.values():
        assert r["stats"]["finish_reason"] == "finished"  # never aborted

    # a clean finish leaves the crawl state ready for the next, incremental, run
    assert results["robust-board"]["state"]["robust-board"]["running"] is False
    rss_state = results["robust-rss"]["state"]["robust-rss"]
    assert rss_state["etag"] == '"rss-v1"' and rss_state["last_modified"]
    # a malformed feed keeps no validators: it is fetched whole next time
    assert "etag" not in results["robust-badfeed"]["state"]["robust-badfeed"]


def test_conditional_feed_request_after_restart(
    tmp_path: Path, site: RobustSite, robust_config: Path
) -> None:
    first = crawl(tmp_path, robust_config, "robust-rss")
    assert first["stats"]["items_accepted"] == 3
    before = site.conditional_hits["/feed/rss.xml"]
    # a new process with the state the store kept: the feed answers 304, nothing is parsed
    second = crawl(tmp_path, robust_config, "robust-rss", state=first["state"])
    assert site.conditional_hits["/feed/rss.xml"] == before + 1
    assert second["posts"] == [] and second["dead_letters"] == []
    assert second["stats"]["not_modified"] == 1
    assert second["state"]["robust-rss"]["etag"] == '"rss-v1"'
    assert second["state"]["robust-rss"]["last_run_productive"]  # a 304 is a healthy answer


def test_api_cursor_pagination_with_headers_and_cookies_from_env(
    tmp_path: Path, site: RobustSite, robust_config: Path
) -> None:
    before = site.hits["/api/posts"]
    result = crawl(tmp_path, robust_config, "robust-api")
    by_path = {path_of(p["url"]): p for p in result["posts"]}
    assert sorted(by_path) == ["/forum/301", "/forum/302", "/forum/303", "/forum/304"]
    assert len(result["posts"]) == 4
    assert site.hits["/api/posts"] - before == 3  # c1, c2, c3; no cursor after the last page
    first = by_path["/forum/301"]
    assert (first["author"], first["likes"], first["external_id"]) == ("夜猫子", 12, "301")
    # epoch seconds, epoch milliseconds and a Chinese date all become aware UTC
    assert first["published_at"] == "2026-11-20T02:00:00+00:00"
    assert by_path["/forum/302"]["published_at"] == "2026-11-20T03:00:00+00:00"
    assert by_path["/forum/303"]["published_at"] == "2026-11-20T02:05:00+00:00"
    assert by_path["/forum/303"]["text"] == "𠮷祥路口井盖缺失，夜间很危险。"
    [bad] = result["dead_letters"]
    assert "item 0 on page 2" in bad["reason"] and bad["payload"]["item"] == "这不是一个帖子"

    # without the token the API answers 401: recorded, not a crash, nothing stored
    no_token = dict(API_ENV, ROBUST_API_TOKEN="wrong")
    spec_env = tmp_path / "wrong"
    spec_env.mkdir()
    result = crawl_with_env(spec_env, robust_config, "robust-api", no_token)
    assert result["posts"] == []
    assert [d["reason"] for d in result["dead_letters"]] == ["HTTP 401"]


def test_api_page_numbers(tmp_path: Path, site: RobustSite, robust_config: Path) -> None:
    result = crawl(tmp_path, robust_config, "robust-api-paged")
    assert sorted(path_of(p["url"]) for p in result["posts"]) == [
        "/forum/301", "/forum/302", "/forum/303", "/forum/304"
    ]  # fmt: skip
    assert result["stats"]["pages"] == 4  # p=0..2, and p=3 is empty: the end


def crawl_with_env(
    tmp_path: Path, config_dir: Path, source: str, env: dict[str, str]
) -> dict[str, Any]:
    spec = {
        "config_dir": str(config_dir),
        "env": env,
        "source": source,
        "crawler": {"timeout_seconds": 3, "retry_times": 0},
        "out": str(tmp_path / "out.json"),
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(CHILD), str(tmp_path / "spec.json")],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    result: dict[str, Any] = json.loads(Path(spec["out"]).read_text(encoding="utf-8"))
    return result
