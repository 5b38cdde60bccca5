"""The encoding corpus (tests/crawler/encoding_corpus.py) crawled for real: GB2312,
GBK, GB18030 and Big5 feeds and pages, each served with the right charset, none, a
utf-8 lie and an iso-8859-1 lie, with its declaration kept, removed and lying.
Every Chinese title and body is stored exactly (or kept as a dead letter with a
reason), no mojibake is stored as a normal post, and the crawl statistics match the
store. Also: a feed whose entries differ only by #fragment stores every entry, and
entries nothing tells apart collide visibly, never silently."""

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
import yaml
from sqlalchemy import func, select

from crawler.encoding import find_mojibake
from crawler.items import APPROX_KEY, REPAIRED_KEY
from runtime.app import App
from runtime.cli.crawl_cmd import stats_line
from store.crawl_models import CrawlRun
from store.models import Alert, DeadLetterRow, Post, PostSighting, SourceRow
from tests.crawler.encoding_corpus import (
    COLLIDING_ENTRIES,
    CORPUS_SOURCES,
    FRAGMENT_ENTRIES,
    MOJIBAKE_FINE,
    MOJIBAKE_LOST,
    MOJIBAKE_REPAIRABLE,
    EncodingSite,
    check_texts,
    docs,
    sources_yaml,
)
from yuqing.settings import load_config

REPO = Path(__file__).resolve().parents[2]
CHILD = Path(__file__).with_name("crawl_store_child.py")
KEY_FEEDS = ["fragment-feed", "colliding-feed"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site() -> Iterator[EncodingSite]:
    with EncodingSite() as running:
        yield running


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory: pytest.TempPathFactory, site: EncodingSite) -> Path:
    directory = tmp_path_factory.mktemp("encoding") / "config"
    shutil.copytree(REPO / "config", directory)
    (directory / "sources.yaml").write_text(sources_yaml(site.url), encoding="utf-8")
    settings_path = directory / "settings.yaml"
    settings = yaml.safe_load(settings_path.read_text(encoding="utf-8")) or {}
    settings["crawler"] = {
        **(settings.get("crawler") or {}),
        "download_delay": 0,
        "autothrottle": False,
        "timeout_seconds": 20,
        "retry_times": 1,
    }
    settings_path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, config_dir: Path) -> dict[str, str]:
    # SQLite only: the decoding under test does not depend on the database, and the
    # store's upserts are covered on both databases elsewhere (test_store_crawl)
    base = tmp_path_factory.mktemp("encoding-store")
    env = {"YUQING_VAR_DIR": str(base / "var"), "YUQING_DATABASE_URL": f"sqlite:///{base}/s.db"}
    app = App(load_config(config_dir, env))
    try:
        app.model(demo=True)  # train once here, not in the child
    finally:
        app.close()
    return env


def crawl(tmp: Path, config_dir: Path, env: dict[str, str], sources: list[str]) -> Any:
    n = len(list(tmp.glob("spec-*")))
    spec = {
        "config_dir": str(config_dir),
        "env": env,
        "sources": sources,
        "out": str(tmp / f"out-{n}.json"),
    }
    spec_path = tmp / f"spec-{n}.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(CHILD), str(spec_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(Path(spec["out"]).read_text(encoding="utf-8")), proc.stderr


@pytest.fixture(scope="module")
def crawled(
    tmp_path_factory: pytest.TempPathFactory, config_dir: Path, env: dict[str, str]
) -> tuple[App, dict[str, Any], str]:
    tmp = tmp_path_factory.mktemp("encoding-crawl")
    stats, stderr = crawl(tmp, config_dir, env, [*CORPUS_SOURCES, *KEY_FEEDS, "mojibake-feed"])
    app = App(load_config(config_dir, env))
    return app, stats, stderr


def test_the_corpus_is_what_it_claims() -> None:
    check_texts()  # GBK and GB18030 texts carry what GB2312 and GBK cannot
    corpus = docs()
    assert len({d.path for d in corpus}) == len(corpus) == 12 * 4 * 7


def test_every_title_and_body_stored_exactly_never_mojibake(
    crawled: tuple[App, dict[str, Any], str],
) -> None:
    app, stats, _ = crawled
    with app.store.session() as s:
        posts = s.execute(select(Post.url, Post.title, Post.text, Post.extra)).all()
        dead = s.execute(select(DeadLetterRow.url, DeadLetterRow.reason)).all()
    by_path: dict[str, list[Any]] = {}
    for p in posts:
        by_path.setdefault(urlsplit(p.url).path, []).append(p)
    dead_by_path = {urlsplit(d.url).path: d.reason for d in dead if d.url}

    wrong, lettered = [], []
    for doc in docs():
        stored = by_path.get(doc.path, [])
        if doc.path in dead_by_path:
            assert not stored, doc  # never both
            assert dead_by_path[doc.path], doc  # with a reason
            lettered.append(doc)
            continue
        if len(stored) != 1 or stored[0].title != doc.title or doc.body not in stored[0].text:
            wrong.append((doc.mode, doc.encoding, doc.kind, doc.title, [p.title for p in stored]))
            continue
        # a relative day (昨天下午) is stored with its hour marked as a guess
        assert bool(stored[0].extra.get(APPROX_KEY)) == doc.approximate, doc
    assert not wrong, f"{len(wrong)} stored wrong or missing: {wrong[:10]}"
    # measured: every mode decodes every encoding; a dead letter here is a regression
    assert not lettered, [(d.mode, d.encoding, d.kind, dead_by_path[d.path]) for d in lettered]

    # nothing stored anywhere looks mis-decoded
    for p in posts:
        assert find_mojibake(p.title) is None and find_mojibake(p.text) is None, p.title
        assert "\ufffd" not in p.title + p.text, p.title
    for name in CORPUS_SOURCES:
        assert stats[name]["mojibake"] == 0 and stats[name]["finish_reason"] == "finished"


def test_crawl_statistics_match_the_store(crawled: tuple[App, dict[str, Any], str]) -> None:
    app, stats, _ = crawled
    with app.store.session() as s:
        sighted = Counter(
            {source: n for source, n in s.execute(
                select(PostSighting.source, func.count()).group_by(PostSighting.source)
            )}
        )  # fmt: skip
        lettered = Counter(
            {source: n for source, n in s.execute(
                select(DeadLetterRow.source, func.count()).group_by(DeadLetterRow.source)
            )}
        )  # fmt: skip
        runs = {r.source: r for r in s.scalars(select(CrawlRun))}
    assert set(runs) == set(stats)
    for name, st in stats.items():
        run = runs[name]
        assert (run.new, run.updated, run.duplicate, run.collided) == (
            st["items_new"],
            st["items_updated"],
            st["items_duplicate"],
            st["items_collided"],
        )
        assert run.items == run.new + run.updated + run.duplicate
        assert run.new == sighted[name], name  # what was counted new is what is stored
        assert run.dead_letters == lettered[name], name
    feeds = [n for n in CORPUS_SOURCES if not n.endswith("-board")]
    assert {stats[n]["items_new"] for n in feeds} == {4}
    assert {stats[n]["items_new"] for n in CORPUS_SOURCES if n.endswith("-board")} == {12}


def test_entries_differing_only_by_fragment_all_stored_and_collisions_reported(
    crawled: tuple[App, dict[str, Any], str],
    tmp_path: Path,
    config_dir: Path,
    env: dict[str, str],
) -> None:
    app, stats, stderr = crawled

    def stored(source: str) -> list[str]:
        with app.store.session() as s:
            return list(
                s.scalars(
                    select(Post.title)
                    .join(PostSighting, PostSighting.post_id == Post.id)
                    .where(PostSighting.source == source)
                )
            )

    # 16 entries whose links differ only by #fragment: 16 posts, 16 counted new
    frag = stats["fragment-feed"]
    assert sorted(stored("fragment-feed")) == sorted(
        f"每日简报第{i + 1}条" for i in range(FRAGMENT_ENTRIES)
    )
    assert (frag["items_new"], frag["items_collided"]) == (FRAGMENT_ENTRIES, 0)
    # 3 entries nothing tells apart: all kept, the 2 later ones reported as collided
    coll = stats["colliding-feed"]
    assert len(stored("colliding-feed")) == COLLIDING_ENTRIES
    assert (coll["items_new"], coll["items_collided"]) == (COLLIDING_ENTRIES, 2)
    assert "share the key" in stderr  # the warning

    # crawled again: nothing new, nothing lost, the collision reported again
    again, _ = crawl(tmp_path, config_dir, env, KEY_FEEDS)
    assert (again["fragment-feed"]["items_new"], again["fragment-feed"]["items_duplicate"]) == (
        0,
        FRAGMENT_ENTRIES,
    )
    assert again["colliding-feed"]["items_new"] == 0
    assert again["colliding-feed"]["items_duplicate"] == COLLIDING_ENTRIES
    assert again["colliding-feed"]["items_collided"] == 2
    assert len(stored("fragment-feed")) == FRAGMENT_ENTRIES
    assert len(stored("colliding-feed")) == COLLIDING_ENTRIES


def test_a_source_serving_mojibake_is_repaired_or_dead_lettered_and_alerts_its_owner(
    crawled: tuple[App, dict[str, Any], str],
) -> None:
    app, stats, _ = crawled
    with app.store.session() as s:
        posts = {
            p.title: p
            for p in s.scalars(
                select(Post)
                .join(PostSighting, PostSighting.post_id == Post.id)
                .where(PostSighting.source == "mojibake-feed")
            )
        }
        dead = s.scalars(select(DeadLetterRow).where(DeadLetterRow.source == "mojibake-feed")).all()
        row = s.scalars(select(SourceRow).where(SourceRow.name == "mojibake-feed")).one()
        alert = s.get(Alert, row.state["health"]["alert_id"])
        assert alert is not None
        alert_seen = (alert.rule, alert.team_id, alert.title)
    # GBK read as latin-1 is undone exactly (and says so); the fine post is untouched
    assert set(posts) == {MOJIBAKE_REPAIRABLE[0], MOJIBAKE_FINE[0]}
    repaired = posts[MOJIBAKE_REPAIRABLE[0]]
    assert MOJIBAKE_REPAIRABLE[1] in repaired.text
    assert repaired.extra[REPAIRED_KEY] == "latin-1→gb18030"
    assert REPAIRED_KEY not in posts[MOJIBAKE_FINE[0]].extra
    # UTF-8 read as windows-1252 lost bytes: kept as a dead letter that says why
    [letter] = dead
    assert letter.reason.startswith("mojibake") and "/garbled/1.html" in (letter.url or "")
    assert MOJIBAKE_LOST[0] not in posts
    st = stats["mojibake-feed"]
    assert (st["items_new"], st["mojibake"], st["mojibake_repaired"], st["dead_letters"]) == (
        2,
        1,
        1,
        1,
    )
    line = stats_line({"source": "mojibake-feed", "ok": True, "error": None, **st})
    assert "2 items (2 new, 0 updated, 0 unchanged, 0 collided)" in line
    assert "1 dead letters (1 mojibake, 1 unparsed), 1 re-decoded" in line
    # the source's owner hears of it at once
    assert row.state["health"]["status"] == "unhealthy"
    assert "乱码" in row.state["health"]["reason"]
    assert row.state["last_run"]["mojibake"] == 1
    assert alert_seen == ("source_health", "donghu", "数据源「mojibake-feed」内容乱码")
