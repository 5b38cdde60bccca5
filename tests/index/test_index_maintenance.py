"""Index upkeep against a real store: status, rebuild without downtime, the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from index_testkit import tokenize

from index.base import SearchBackend, SearchQuery
from index.embedded import EmbeddedBackend
from index.maintenance import index_status, rebuild_index
from runtime.app import App
from runtime.cli import main
from runtime.jobs import drain_index
from store.models import IndexOutbox
from store.posts import upsert_post
from yuqing.clock import FrozenClock
from yuqing.contracts import Classification, CrawledPost
from yuqing.settings import load_config

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
WORDS = ["停车", "噪音", "污水", "物业", "拆迁"]


def make_post(i: int) -> CrawledPost:
    word = WORDS[i % len(WORDS)]
    return CrawledPost(
        source="demo-board",
        title=f"第{i}号 小区{word}问题",
        text=f"居民反映小区{word}问题已经持续一周，希望有关部门尽快处理。编号{i}",
        external_id=f"p{i}",
        published_at=T0 - timedelta(hours=i),
        area="东湖街道",
    )


def add_posts(app: App, ids: range) -> list[int]:
    cls = Classification(category="城乡建设", category_confidence=0.9, severity=2)
    out = []
    with app.store.session() as s:
        for i in ids:
            out.append(upsert_post(s, make_post(i), cls, app.now()).post_id)
    return out


@pytest.fixture
def app(db_url: str, config_dir: Path, tmp_path: Path) -> Iterator[App]:
    env = {"YUQING_VAR_DIR": str(tmp_path / "var"), "YUQING_DATABASE_URL": db_url}
    a = App(load_config(config_dir, env), clock=FrozenClock(T0))
    yield a
    a.close()


def all_ids(b: SearchBackend) -> list[int]:
    r = b.search(SearchQuery(limit=500, facets=False))
    return [h.id for h in r.hits]


def test_status_reports_backlog_and_errors(app: App, backend: SearchBackend) -> None:
    app._index = backend
    add_posts(app, range(6))
    st = index_status(app.store, backend)
    assert (st.posts, st.documents, st.backlog, st.failing) == (6, 0, 6, 0)
    assert st.oldest_queued_at is not None and not st.in_step
    assert st.reachable and st.backend in ("embedded", "elasticsearch", "opensearch")
    assert drain_index(app).indexed == 6
    st = index_status(app.store, backend)
    assert (st.posts, st.documents, st.backlog) == (6, 6, 0)
    assert st.in_step and st.oldest_queued_at is None and st.last_error is None
    doc = st.as_json()
    assert doc["in_step"] is True and json.dumps(doc)


def test_rebuild_serves_the_old_index_until_the_swap(app: App, backend: SearchBackend) -> None:
    app._index = backend
    ids = add_posts(app, range(12))
    assert drain_index(app).indexed == 12
    # Something only the old index has: the rebuild must drop it, but only at the swap.
    from yuqing.contracts import IndexDoc

    stray = IndexDoc(
        id=999_999, title="孤儿文档", text="不在库里", source="x", category=None,
        severity=1, area=None, published_at=T0, url=None,
    )  # fmt: skip
    assert backend.index([stray]) == []
    seen: list[tuple[int, int, int]] = []

    def progress(done: int, total: int) -> None:
        seen.append((done, total, backend.search(SearchQuery(text="停车")).total))
        assert backend.count() == 13  # the old index still answers, whole

    report = rebuild_index(app.store, backend, app.now, batch=5, progress=progress)
    assert (report.posts, report.indexed, report.failed) == (12, 12, [])
    assert [d for d, _, _ in seen] == [0, 5, 10, 12]
    assert all(n == 3 for _, _, n in seen)
    assert backend.count() == 12
    assert sorted(all_ids(backend)) == sorted(ids)
    assert backend.search(SearchQuery(text="停车")).total == 3
    # and again: versions keep moving forward
    rebuild_index(app.store, backend, app.now)
    assert sorted(all_ids(backend)) == sorted(ids)


def test_rebuild_requeues_posts_changed_meanwhile(app: App, backend: SearchBackend) -> None:
    app._index = backend
    add_posts(app, range(4))
    drain_index(app)
    changed: list[int] = []

    def progress(done: int, total: int) -> None:
        if done and not changed:  # a crawl updates a post mid-rebuild
            cls = Classification(category="城乡建设", category_confidence=0.9, severity=3)
            p = make_post(0)
            p.text += " 新进展：问题仍未解决"
            with app.store.session() as s:
                changed.append(upsert_post(s, p, cls, app.now()).post_id)

    report = rebuild_index(app.store, backend, app.now, batch=2, progress=progress)
    assert report.requeued >= 1
    with app.store.session() as s:
        queued = {ob.post_id for ob in s.query(IndexOutbox)}
    assert changed[0] in queued
    drain_index(app)
    assert backend.search(SearchQuery(text="新进展")).total == 1


def test_aborted_rebuild_keeps_the_old_index(app: App, backend: SearchBackend) -> None:
    app._index = backend
    add_posts(app, range(3))
    drain_index(app)
    job = backend.begin_rebuild()
    job.index([])
    job.abort()
    assert backend.count() == 3
    assert sorted(all_ids(backend)) == sorted(all_ids(backend))


def test_embedded_rebuild_leaves_no_files(app: App, tmp_path: Path) -> None:
    b = EmbeddedBackend(tmp_path / "ix" / "index.sqlite", tokenize)
    app._index = b
    add_posts(app, range(3))
    rebuild_index(app.store, b, app.now)
    assert b.count() == 3
    assert not [p.name for p in (tmp_path / "ix").iterdir() if ".rebuild-" in p.name]
    # a second connection (another process, e.g. the console) sees the new index
    other = EmbeddedBackend(tmp_path / "ix" / "index.sqlite", tokenize)
    assert other.count() == 3
    other.close()
    b.close()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, config_dir: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("YUQING_VAR_DIR", str(tmp_path / "var"))
    for k in ("YUQING_DATABASE_URL", "YUQING_ES_URL", "YUQING_CONFIG"):
        monkeypatch.delenv(k, raising=False)
    return config_dir


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(args)
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


def test_cli_status_and_rebuild(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"YUQING_VAR_DIR": str(tmp_path / "var")}
    a = App(load_config(cli_env, env), clock=FrozenClock(T0))
    add_posts(a, range(5))
    a.close()
    code, out, _ = run(["--config", str(cli_env), "index", "status", "--json"], capsys)
    doc = json.loads(out)
    assert code == 0
    assert (doc["backend"], doc["posts"], doc["documents"], doc["backlog"]) == (
        "embedded", 5, 0, 5
    )  # fmt: skip
    assert doc["oldest_queued_at"].startswith("2026-11-20T08:00")
    code, out, _ = run(["--config", str(cli_env), "index", "rebuild", "--json"], capsys)
    assert code == 0
    assert json.loads(out)["indexed"] == 5
    code, out, _ = run(["--config", str(cli_env), "index", "status"], capsys)
    assert code == 0
    assert "documents   5" in out and "backlog     0 queued" in out


def test_cli_search_filters_sort_and_histogram(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = App(load_config(cli_env, {"YUQING_VAR_DIR": str(tmp_path / "var")}), clock=FrozenClock(T0))
    add_posts(a, range(10))
    drain_index(a)
    a.close()
    base = ["--config", str(cli_env), "search", "停车", "--json"]
    code, out, _ = run(
        [*base, "--histogram", "day", "--sort", "newest", "--area", "东湖街道"], capsys
    )
    doc = json.loads(out)
    assert code == 0 and doc["total"] == 2
    published = [h["published_at"] for h in doc["hits"]]
    assert published == sorted(published, reverse=True)
    assert sum(n for _, n in doc["histogram"]) == 2
    assert doc["facets"]["area"] == {"东湖街道": 2}
    window = ["--since", "2026-11-20T00:00", "--until", "2026-11-20T12:00"]  # local time
    code, out, _ = run([*base, *window], capsys)
    assert json.loads(out)["total"] == 1  # post 5 at 11:00 local; post 0 at 16:00 is after
    code, _, err = run([*base, "--until", "someday"], capsys)
    assert code == 2 and "--until" in err


def test_cli_search_text_says_its_zone_and_the_next_page(
    cli_env: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LANGUAGE", "zh_CN")  # the header's Chinese wording
    a = App(load_config(cli_env, {"YUQING_VAR_DIR": str(tmp_path / "var")}), clock=FrozenClock(T0))
    add_posts(a, range(10))
    drain_index(a)
    a.close()
    base = ["--config", str(cli_env), "search", "停车"]
    code, out, _ = run([*base, "--json"], capsys)
    doc = json.loads(out)
    total, first = doc["total"], doc["hits"][0]
    code, out, _ = run([*base, "--limit", "1"], capsys)
    head = out.splitlines()[0]
    assert code == 0 and f"共 {total} 条" in head and "第 1–1 条" in head
    assert "--offset 1" in head and "Asia/Shanghai" in head
    local = datetime.fromisoformat(first["published_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    assert local.strftime("%Y-%m-%d %H:%M") in out  # local time, as the header says
    code, out, _ = run([*base, "--limit", "1", "--offset", str(total - 1)], capsys)
    assert "--offset" not in out.splitlines()[0]  # the last page names no next one
