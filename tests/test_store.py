from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store.db import Store, StoreError
from store.models import Base, DeadLetterRow, Event, IndexOutbox, Post
from store.posts import (
    OutboxEntry,
    add_dead_letter,
    due_index_batch,
    index_backlog,
    is_seen,
    mark_index_failed,
    mark_indexed,
    post_key,
    upsert_post,
    url_identity,
)
from yuqing.contracts import Classification, CrawledPost, DeadLetter

REPO = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
CLS = Classification("城乡建设", 0.9, 2, ["规则: 测试"], "v-test")


def _post(**kw: object) -> CrawledPost:
    base = dict(
        source="board",
        title="小区物业不作为",
        text="文昌社区某小区物业长期不维修电梯。",
        url="http://127.0.0.1:8123/board/thread/1.html?utm_source=x#top",
        published_at=NOW - timedelta(hours=3),
        area="文昌社区",
    )
    base.update(kw)
    return CrawledPost(**base)  # type: ignore[arg-type]


@pytest.fixture
def store(db_url: str) -> Store:
    s = Store(db_url)
    yield s
    s.close()


def test_migrations_create_every_table(store: Store) -> None:
    assert set(Base.metadata.tables) <= set(store.tables())
    assert "alembic_version" in store.tables()


def test_migrations_match_models(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], "models changed without a migration: " + repr(diff)


def test_migrate_is_repeatable(db_url: str) -> None:
    Store(db_url).close()
    Store(db_url).close()


def test_upsert_is_idempotent(store: Store) -> None:
    with store.session() as s:
        first = upsert_post(s, _post(), CLS, NOW)
    with store.session() as s:
        again = upsert_post(s, _post(url="HTTP://127.0.0.1:8123/board/thread/1.html"), CLS, NOW)
    assert first.created and not again.created and not again.changed
    assert first.post_id == again.post_id
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Post)) == 1
        assert s.scalar(select(func.count()).select_from(Event)) == 1
        post = s.get(Post, first.post_id)
        assert post.published_at == NOW - timedelta(hours=3)  # aware UTC back out
        assert post.published_at.tzinfo is not None
        assert post.event.post_count == 1


def test_changed_post_is_updated_and_requeued(store: Store) -> None:
    with store.session() as s:
        r = upsert_post(s, _post(), CLS, NOW)
    with store.session() as s:
        mark_indexed(s, due_index_batch(s, NOW))
        s.get(Post, r.post_id).evaluated = True
        assert index_backlog(s) == 0
    later = NOW + timedelta(minutes=5)
    with store.session() as s:
        r2 = upsert_post(s, _post(text="电梯坏了三个月，物业一直没人管。", likes=40), CLS, later)
    assert r2.changed and not r2.created
    with store.session() as s:
        post = s.get(Post, r.post_id)
        assert post.text.startswith("电梯坏了") and post.likes == 40 and not post.evaluated
        assert index_backlog(s) == 1


def test_keys(store: Store) -> None:
    assert (
        url_identity("HTTP://Example.COM:80/a?b=2&a=1&utm_medium=x#f")
        == "http://example.com/a?a=1&b=2"
    )
    assert post_key(_post(url=None, external_id="T-1")) == "id:board:T-1"
    assert post_key(_post(url=None)).startswith("hash:board:")
    moved = post_key(
        _post(url="http://127.0.0.1:9999/board/thread/1.html"),
        lambda u: u.replace(":9999", ":8123"),
    )
    assert moved == post_key(_post())
    with store.session() as s:
        upsert_post(s, _post(), CLS, NOW)
        assert is_seen(s, "board", "http://127.0.0.1:8123/board/thread/1.html")
        assert not is_seen(s, "board", "http://127.0.0.1:8123/board/thread/2.html")


def test_posts_without_url_dedupe_by_id_or_content(store: Store) -> None:
    with store.session() as s:
        a = upsert_post(s, _post(url=None, external_id="12345-001"), CLS, NOW)
        b = upsert_post(s, _post(url=None, external_id="12345-001"), CLS, NOW)
        c = upsert_post(s, _post(url=None, title="另一件事"), CLS, NOW)
        d = upsert_post(s, _post(url=None, title="另一件事"), CLS, NOW)
    assert a.post_id == b.post_id and c.post_id == d.post_id and a.post_id != c.post_id


def test_dead_letters_are_kept(store: Store) -> None:
    with store.session() as s:
        add_dead_letter(
            s,
            DeadLetter(
                "normalise", "board", "empty body", {"raw": b"\xff", "n": 1}, url="http://x/1"
            ),
            NOW,
        )
    with store.session() as s:
        row = s.scalars(select(DeadLetterRow)).one()
        assert row.reason == "empty body" and row.payload["n"] == 1 and row.url == "http://x/1"


def test_outbox_backoff_and_requeue_race(store: Store) -> None:
    with store.session() as s:
        r = upsert_post(s, _post(), CLS, NOW)
    with store.session() as s:
        (entry,) = due_index_batch(s, NOW)
        mark_index_failed(s, entry.outbox_id, "ConnectionError: index down", NOW)
    with store.session() as s:
        assert due_index_batch(s, NOW) == []  # backed off
        assert len(due_index_batch(s, NOW + timedelta(minutes=11))) == 1
        ob = s.scalars(select(IndexOutbox)).one()
        assert ob.attempts == 1 and "index down" in ob.last_error
    # The post changes while a batch is being indexed: the newer entry must survive.
    with store.session() as s:
        (entry,) = due_index_batch(s, NOW + timedelta(minutes=11))
    with store.session() as s:
        upsert_post(s, _post(text="更新后的内容"), CLS, NOW + timedelta(minutes=12))
    with store.session() as s:
        mark_indexed(s, [OutboxEntry(entry.outbox_id, entry.enqueued_at, "upsert", entry.post)])
        assert index_backlog(s) == 1
    assert r.post_id == entry.post.id


def test_naive_datetime_is_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive"), store.session() as s:
        upsert_post(s, _post(published_at=datetime(2026, 1, 1)), CLS, NOW)


def test_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match="cannot reach the database"):
        Store("postgresql+psycopg://nobody@127.0.0.1:1/none")


def test_seen_is_per_source(store: Store) -> None:
    """A feed storing the newest posts first must not stop the board's first crawl."""
    url = "http://127.0.0.1:8123/board/thread/1.html"
    with store.session() as s:
        upsert_post(s, _post(source="feed", url=url), CLS, NOW)
    with store.session() as s:
        assert is_seen(s, "feed", url) and not is_seen(s, "board", url)
        upsert_post(s, _post(source="board", url=url), CLS, NOW)
        assert is_seen(s, "board", url)
        assert s.scalar(select(func.count()).select_from(Post)) == 1


def test_other_source_keeps_the_fuller_text(store: Store) -> None:
    url = "http://127.0.0.1:8123/board/thread/7.html"
    full = "湖滨社区电梯坏了三个月，物业一直没人管，老人上下楼非常困难，多次反映没有回复。"
    with store.session() as s:
        r = upsert_post(s, _post(source="feed", url=url, text=full[:12]), CLS, NOW)
    with store.session() as s:  # the board's detail page: longer, it wins
        assert upsert_post(s, _post(source="board", url=url, text=full), CLS, NOW).changed
    with store.session() as s:  # the feed's summary again: no flip-flop
        again = upsert_post(s, _post(source="feed", url=url, text=full[:12]), CLS, NOW)
        assert not again.changed
        post = s.get(Post, r.post_id)
        assert (post.text, post.source) == (full, "board")
    with store.session() as s:  # only engagement moves
        assert upsert_post(
            s, _post(source="feed", url=url, text=full[:12], likes=99), CLS, NOW
        ).changed
        assert s.get(Post, r.post_id).likes == 99 and s.get(Post, r.post_id).text == full


def test_feed_without_engagement_does_not_flip_a_post(store: Store) -> None:
    url = "http://127.0.0.1:8123/board/thread/9.html"
    with store.session() as s:
        r = upsert_post(s, _post(source="feed", url=url), CLS, NOW)
    with store.session() as s:
        board = _post(source="board", url=url, likes=35, replies=4, reply_text="已转交社区处理")
        assert upsert_post(s, board, CLS, NOW).changed
    for _ in range(2):
        with store.session() as s:
            assert not upsert_post(s, _post(source="feed", url=url), CLS, NOW).changed
    with store.session() as s:
        post = s.get(Post, r.post_id)
        assert (post.likes, post.replies, post.reply_text) == (35, 4, "已转交社区处理")


def test_migrations_have_one_head() -> None:
    """Stages may branch while they work; a release merges them into one head."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from store.db import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert len(ScriptDirectory.from_config(cfg).get_heads()) == 1


# ---- batches: one transaction, a few statements, the same result as one by one

# Near-duplicates: one resident's complaint reposted with other words around it, in
# one named place; the sketch links posts only within their place (CrawledPost.scope).
_COMPLAINT = (
    "河西镇化工厂每天夜里偷排废水，河里的鱼大片死亡，气味刺鼻，村民晚上睡不着觉，多次反映无人处理。"
)


def _batch() -> list[CrawledPost]:
    scope = "河西镇"
    return [
        _post(url="http://x/1", title="化工厂偷排", text=_COMPLAINT, scope=scope),
        _post(url="http://x/2", title="小区物业不作为"),
        # a repost in other words: joins the first post's event (sketch, same place)
        _post(
            url="http://x/3",
            title="转：河里死鱼了",
            text="网友转发：" + _COMPLAINT,
            scope=scope,
        ),
        # the same title as the second: its event
        _post(url="http://x/4", title="小区物业不作为", text="又一个小区的电梯坏了。"),
        # the first again, edited in the same batch: an update of the row stored just before
        _post(url="http://x/1", title="化工厂偷排", text=_COMPLAINT + "（已核实）", scope=scope),
        # the same words in another place: a matter of its own
        _post(url="http://x/5", title="另一个镇", text=_COMPLAINT, scope="城关镇"),
    ]


def _stored(store: Store) -> tuple[list[tuple[str, int, int]], list[tuple[int, int]], int, int]:
    """(key, event number, likes) per post, (event number, post count) per event, outbox
    rows and sightings, with events numbered by first appearance (ids may differ)."""
    from store.crawl_models import PostSketch
    from store.models import PostSighting

    with store.session() as s:
        posts = s.execute(select(Post.key, Post.event_id, Post.likes).order_by(Post.id)).all()
        numbers: dict[int, int] = {}
        for p in posts:
            numbers.setdefault(p.event_id, len(numbers))
        events = s.execute(select(Event.id, Event.post_count)).all()
        outbox = s.scalar(select(func.count()).select_from(IndexOutbox)) or 0
        sightings = s.scalar(select(func.count()).select_from(PostSighting)) or 0
        sketches = s.scalar(select(func.count()).select_from(PostSketch)) or 0
    assert sketches == 3  # the posts naming a place below the county
    return (
        [(p.key, numbers[p.event_id], p.likes) for p in posts],
        sorted((numbers[e.id], e.post_count) for e in events),
        outbox,
        sightings,
    )


def test_a_batch_stores_what_one_by_one_stores(db_url: str, tmp_path: Path) -> None:
    from store.posts import upsert_posts
    from yuqing.contracts import Outcome

    other_url = f"sqlite:///{tmp_path / 'one-by-one.db'}"
    batch, single = Store(db_url), Store(other_url)
    try:
        with batch.session() as s:
            results = upsert_posts(s, [(p, CLS) for p in _batch()], NOW)
        with single.session() as s:
            one_by_one = [upsert_post(s, p, CLS, NOW) for p in _batch()]
        assert [r.outcome for r in results] == [r.outcome for r in one_by_one]
        assert [r.outcome for r in results] == [
            Outcome.NEW,
            Outcome.NEW,
            Outcome.NEW,
            Outcome.NEW,
            Outcome.UPDATED,
            Outcome.NEW,
        ]
        posts, events, outbox, sightings = _stored(batch)
        assert (posts, events, outbox, sightings) == _stored(single)
        # the repost joined the complaint's event, the same title the second post's; the
        # same words in another place did not
        assert [n for _, n, _ in posts] == [0, 1, 0, 1, 2]
        assert events == [(0, 2), (1, 2), (2, 1)]
        assert outbox == sightings == 5
        # and a batch repeated changes nothing
        with batch.session() as s:
            again = upsert_posts(s, [(p, CLS) for p in _batch()[1:4]], NOW)
        assert [r.outcome for r in again] == [Outcome.UNCHANGED] * 3
        assert _stored(batch)[:2] == (posts, events)
    finally:
        batch.close()
        single.close()


def test_a_later_batch_finds_stored_near_duplicates(store: Store) -> None:
    from store.posts import upsert_posts

    scope = "河西镇"
    with store.session() as s:
        (first,) = upsert_posts(s, [(_batch()[0], CLS)], NOW)
    repost = _post(url="http://x/7", title="死鱼", text="转发：" + _COMPLAINT, scope=scope)
    with store.session() as s:
        other, again = upsert_posts(s, [(_post(url="http://x/6"), CLS), (repost, CLS)], NOW)
        event = {p.id: p.event_id for p in s.scalars(select(Post))}
    assert event[again.post_id] == event[first.post_id] != event[other.post_id]


def test_a_batch_is_all_or_nothing(store: Store) -> None:
    from store.posts import upsert_posts

    broken = _post(url="http://x/9", title=None)  # NOT NULL: the database refuses it
    with pytest.raises(Exception, match="(?i)null"), store.session() as s:
        upsert_posts(s, [(_post(url="http://x/8"), CLS), (broken, CLS)], NOW)
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Post)) == 0
        assert s.scalar(select(func.count()).select_from(Event)) == 0
        assert index_backlog(s) == 0


@pytest.fixture(scope="module")
def model_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A var dir holding the demo model, trained once for this module."""
    from runtime.app import App
    from yuqing.settings import load_config

    var = tmp_path_factory.mktemp("model-var")
    app = App(load_config(REPO / "config", {"YUQING_VAR_DIR": str(var)}))
    app.model(demo=True)
    app.close()
    return var


def test_a_refused_batch_is_stored_one_by_one_and_the_faulty_post_dead_lettered(
    db_url: str, model_var: Path
) -> None:
    # The crawler's SinkPipeline hands the real Ingestor a batch of three; the store
    # refuses the second post (its extra cannot be written as JSON), so the batch's
    # transaction keeps nothing, and one by one the other two are stored once and the
    # second becomes a dead letter.
    from types import SimpleNamespace

    from scrapy.utils.test import get_crawler

    from crawler.pipelines import SinkPipeline
    from runtime.app import App
    from runtime.ingest import Ingestor
    from yuqing.settings import load_config

    app = App(load_config(REPO / "config", {"YUQING_VAR_DIR": str(model_var),
                                            "YUQING_DATABASE_URL": db_url}))  # fmt: skip
    sink = Ingestor(app)
    crawler = get_crawler(settings_dict={"YUQING_SINK_BATCH": 3})
    crawler.spider = SimpleNamespace(sink=sink)
    pipeline = SinkPipeline(crawler)
    posts = [
        _post(url="http://x/a", title="东湖街道路灯不亮"),
        _post(url="http://x/b", title="小区停水", extra={"unwritable": object()}),
        _post(url="http://x/c", title="工地夜间施工扰民"),
    ]
    try:
        for post in posts:
            pipeline.process_item(post)
        with app.store.session() as s:
            stored = sorted(s.scalars(select(Post.url)))
            letters = list(s.scalars(select(DeadLetterRow)))
            queued = index_backlog(s)
        assert stored == ["http://x/a", "http://x/c"]
        assert [(d.stage, d.url) for d in letters] == [("sink", "http://x/b")]
        assert queued == 2
        assert (sink.accepted, sink.new, sink.rejected) == (2, 2, 1)
    finally:
        sink.close()
