"""Post keys in the store: a feed entry's identity (guid or #fragment link) keeps
entries that share a URL apart, and an entry stored under its URL before another
entry shared it is moved to its identity, not stored twice (real SQLite / PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from alerts.source_health import crawl_health_reasons
from store.db import Store
from store.models import Post, PostSighting
from store.posts import IDENTITY_KEY, post_key, upsert_post
from yuqing.contracts import Classification, CrawledPost, Outcome

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
CLS = Classification("城乡建设", 0.9, 2, ["规则: 测试"], "v-test")
DIGEST = "http://127.0.0.1:8123/digest.html"


def entry(n: int, identity: str | None = None, text: str | None = None) -> CrawledPost:
    return CrawledPost(
        source="feed",
        title=f"简报第{n}条",
        text=text or f"东湖街道第{n}网格反映的问题已转办。",
        url=DIGEST,
        external_id=f"{DIGEST}#item-{n}",
        extra={IDENTITY_KEY: identity} if identity else {},
    )


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    yield s
    s.close()


def test_identity_keys_are_per_source_and_bounded() -> None:
    post = entry(1, f"link:{DIGEST}#item-1")
    assert post_key(post) == f"entry:feed:link:{DIGEST}#item-1"
    assert post_key(entry(1)) == "url:" + DIGEST  # no identity: the URL, as for any post
    long = entry(2, "guid:" + "x" * 2000)
    assert len(post_key(long)) <= 512 and post_key(long) != post_key(entry(3, "guid:" + "y" * 2000))
    rewritten = post_key(
        entry(1, f"link:{DIGEST}#item-1"), rewrite=lambda u: u.replace("8123", "80")
    )
    assert rewritten == "entry:feed:link:http://127.0.0.1:80/digest.html#item-1"


def test_entries_sharing_a_url_are_kept_apart_and_an_earlier_one_is_adopted(
    store: Store,
) -> None:
    # yesterday the digest had one entry: stored under its URL
    with store.session() as s:
        first = upsert_post(s, entry(1), CLS, NOW)
    assert first.outcome == Outcome.NEW
    # today a second entry links to the same page: both carry their #fragment identity
    with store.session() as s:
        again = upsert_post(s, entry(1, f"link:{DIGEST}#item-1"), CLS, NOW)
        second = upsert_post(s, entry(2, f"link:{DIGEST}#item-2"), CLS, NOW)
    assert (again.post_id, again.outcome) == (first.post_id, Outcome.UNCHANGED)  # moved, not copied
    assert second.outcome == Outcome.NEW and second.post_id != first.post_id
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Post)) == 2
        keys = set(s.scalars(select(PostSighting.url_key)))
    assert keys == {f"entry:feed:link:{DIGEST}#item-1", f"entry:feed:link:{DIGEST}#item-2"}
    # an edit of the second is an update of it, never of the first
    with store.session() as s:
        edited = upsert_post(s, entry(2, f"link:{DIGEST}#item-2", text="已办结。"), CLS, NOW)
    assert (edited.post_id, edited.outcome) == (second.post_id, Outcome.UPDATED)


def test_a_different_post_under_a_taken_url_is_not_adopted(store: Store) -> None:
    with store.session() as s:
        first = upsert_post(s, entry(1), CLS, NOW)
        other = upsert_post(s, entry(2, f"link:{DIGEST}#item-2"), CLS, NOW)
    assert other.post_id != first.post_id and other.created
    with store.session() as s:
        assert s.get(Post, first.post_id).key == "url:" + DIGEST  # left where it was


def test_health_reasons_name_mojibake_and_items_that_stopped_parsing() -> None:
    assert crawl_health_reasons({"items_accepted": 20, "unparsed": 1}) == []
    [text] = crawl_health_reasons({"items_accepted": 5, "mojibake": 3, "unparsed": 3})
    assert "3 条内容解码后是乱码" in text
    [parse] = crawl_health_reasons({"items_accepted": 0, "unparsed": 4})
    assert "4 条内容无法解析" in parse
