"""The demo model's data looks like a real stream: mostly tier IV, rare I; its history is
backlog and only a handful of posts are live at a first run; the demo site keeps
publishing as the clock passes. (Labels are asserted here, never model outputs.)"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta

import feedparser
import pytest

from crawler.demo.corpus import (
    BACKLOG_AFTER,
    LIVE_FIRST_ID,
    demo_corpus,
    labelled_examples,
    live_posts,
)
from crawler.demo.site import live_site
from yuqing.clock import FrozenClock

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
T_I, II, III, IV = 4, 3, 2, 1  # severity ints of tiers I..IV
# sha256 of ids 1..160's titles and bodies: the posts bench/data/relevance.yaml judged
JUDGED = "b88490cdd0fec1997097324142fb3e633e157eec7ecd69c441f90c47569d2c42"


def test_tier_mix_is_a_real_streams() -> None:
    corpus = demo_corpus(NOW)
    share = {t: n / len(corpus) for t, n in Counter(p.severity for p in corpus).items()}
    assert share[IV] > 0.6 and 0.15 < share[III] < 0.3
    assert share[II] < 0.08 and share[T_I] < 0.05
    assert share[IV] > share[III] > share[II] > share[T_I] > 0
    # every category still has examples of every tier, for the model to learn from
    cells = Counter((p.category, p.severity) for p in corpus)
    assert all(cells[(c, t)] >= 1 for c, _ in cells for t in (T_I, II, III, IV))
    assert len(labelled_examples()) == len(corpus)


def test_the_judged_posts_keep_their_texts() -> None:
    first = sorted(demo_corpus(NOW), key=lambda p: p.id)[:160]
    text = "".join(f"{p.title}\n{p.body}\n" for p in first)
    assert hashlib.sha256(text.encode()).hexdigest() == JUDGED


def test_history_is_backlog_and_the_last_hour_is_a_handful() -> None:
    corpus = demo_corpus(NOW)
    live = [p for p in corpus if NOW - p.published_at < BACKLOG_AFTER]
    assert all(NOW - p.published_at <= timedelta(hours=1) for p in live)
    assert 4 <= len(live) <= 10
    tiers = Counter(p.severity for p in live)
    assert tiers[II] == 1 and tiers[T_I] == 0 and tiers[IV] > tiers[III] >= 1
    assert all(p.reply_at is None or p.reply_at <= NOW for p in corpus)


def test_live_posts_keep_coming_mostly_everyday() -> None:
    posts = live_posts(NOW, NOW + timedelta(hours=24))
    assert [p.id for p in posts] == list(range(LIVE_FIRST_ID, LIVE_FIRST_ID + len(posts)))
    assert all(p.published_at > NOW for p in posts)
    gaps = [b.published_at - a.published_at for a, b in zip(posts, posts[1:], strict=False)]
    assert all(timedelta(minutes=10) <= g <= timedelta(minutes=20) for g in gaps)
    first_hour = Counter(p.severity for p in posts if p.published_at <= NOW + timedelta(hours=1))
    assert first_hour[II] == 1 and first_hour[T_I] == 0
    tiers = Counter(p.severity for p in posts)
    assert tiers[T_I] == 0 and tiers[IV] > len(posts) / 2


def test_live_site_publishes_as_the_clock_passes() -> None:
    clock = FrozenClock(NOW)

    def newest_in_feed(url: str) -> str:
        return str(
            feedparser.parse(urllib.request.urlopen(url + "/feed.xml").read()).entries[0].title
        )

    with live_site(NOW, clock=clock) as site:
        newest = max(demo_corpus(NOW), key=lambda p: (p.published_at, p.id))
        assert newest_in_feed(site.url) == newest.title
        clock.advance(timedelta(minutes=30))
        fresh = live_posts(NOW, NOW + timedelta(minutes=30))
        assert fresh and newest_in_feed(site.url) == fresh[-1].title
        with pytest.raises(urllib.error.HTTPError) as not_yet:  # the next one is not out yet
            urllib.request.urlopen(f"{site.url}/board/thread/{LIVE_FIRST_ID + len(fresh)}.html")
        assert not_yet.value.code == 404
