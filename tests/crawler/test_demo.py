"""The demo corpus covers the taxonomy and the gazetteer; the demo site serves it."""

from __future__ import annotations

import urllib.request
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest

from crawler.demo.corpus import DemoPost, demo_corpus, labelled_examples
from crawler.demo.site import PAGE_SIZE, DemoSite, page_encoding
from yuqing.settings import AppConfig, load_config

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def config() -> AppConfig:
    return load_config(Path(__file__).resolve().parents[2] / "config")


@pytest.fixture(scope="module")
def corpus() -> list[DemoPost]:
    return demo_corpus(NOW)


def test_corpus_covers_every_category_and_tier(corpus: list[DemoPost], config: AppConfig) -> None:
    assert 500 <= len(corpus) <= 650  # 160 posts judged for relevance, diluted by everyday ones
    cells = Counter((p.category, p.severity) for p in corpus)
    for category in config.taxonomy.category_names():
        for severity in (1, 2, 3, 4):
            assert cells[(category, severity)] >= 3, (category, severity)
    assert set(p.category for p in corpus) == set(config.taxonomy.category_names())
    assert {p.area for p in corpus} <= set(config.areas.all())
    assert len({p.area for p in corpus}) >= 10


def test_corpus_has_what_the_pipeline_needs(corpus: list[DemoPost]) -> None:
    text = [p.title + p.body for p in corpus]
    assert sum("物业" in t for t in text) >= 5
    assert any("坍塌" in t and "死亡" in t for t in text)
    assert any("讨薪" in t and "堵路" in t and "农民工" in t for t in text)
    assert any("集体中毒" in t and "食堂" in t for t in text)
    assert (
        sum(any(s in t for s in ("1381234", "139 1234", "110101", "@example.com")) for t in text)
        >= 3
    )
    assert sum(p.title.startswith(("转：", "【转发】", "扩散！")) for p in corpus) >= 4
    replied = [p for p in corpus if p.reply]
    assert len(replied) >= 20
    assert all(p.reply_at and p.published_at < p.reply_at <= NOW for p in replied)
    assert len({p.author for p in corpus}) >= 10


def test_corpus_is_deterministic_and_recent(corpus: list[DemoPost]) -> None:
    assert demo_corpus(NOW) == corpus
    assert demo_corpus(NOW, seed=8) != corpus
    assert sorted(p.id for p in corpus) == list(range(1, len(corpus) + 1))
    for p in corpus:
        assert p.published_at.tzinfo is not None
        assert NOW - timedelta(days=10, hours=1) <= p.published_at <= NOW
    assert sorted(corpus, key=lambda p: p.published_at) == corpus
    with pytest.raises(ValueError):
        demo_corpus(datetime(2026, 11, 20))


def test_labelled_examples(corpus: list[DemoPost]) -> None:
    examples = labelled_examples()
    assert len(examples) == len(corpus)
    assert all(e.text and e.category and e.severity in (1, 2, 3, 4) for e in examples)
    assert examples[0].text.split("\n", 1)[0]  # title first
    # wording varies: far fewer repeated texts than examples
    assert len({e.text for e in examples}) == len(examples)


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def test_site_serves_board_feed_and_robots(corpus: list[DemoPost]) -> None:
    with DemoSite(corpus[:25]) as site:
        assert get(site.url + "/robots.txt")[2].startswith(b"User-agent: *")
        status, _, page1 = get(site.url + "/board/")
        assert status == 200
        html = page1.decode()
        assert html.count('class="subject"') == PAGE_SIZE
        assert f"/board/thread/{corpus[24].id}.html" in html  # newest first
        assert 'class="next" href="/board/?page=2"' in html
        last = get(site.url + "/board/?page=3")[2].decode()
        assert last.count('class="subject"') == 5 and 'class="next"' not in last

        gbk = next(p for p in corpus[:25] if page_encoding(p.id)[1] == "gbk")
        _, ctype, body = get(f"{site.url}/board/thread/{gbk.id}.html")
        assert "charset=gbk" in ctype
        assert gbk.title in body.decode("gbk")
        liar = next(p for p in corpus[:25] if page_encoding(p.id) == ("gbk", None, "utf-8"))
        _, ctype, body = get(f"{site.url}/board/thread/{liar.id}.html")
        assert "charset" not in ctype and b'charset="utf-8"' in body
        assert liar.title in body.decode("gbk")

        feed = feedparser.parse(get(site.url + "/feed.xml")[2])
        assert len(feed.entries) == 25
        assert feed.entries[0].title == corpus[24].title
        assert (
            feed.entries[0].published_parsed[:5]
            == corpus[24].published_at.astimezone(UTC).timetuple()[:5]
        )

        new = DemoPost(
            id=999, title="新帖", body="内容", author="网友", published_at=NOW + timedelta(hours=1),
            category="城乡建设", severity=1, area="文昌社区",
        )  # fmt: skip
        site.add(new)
        assert "/board/thread/999.html" in get(site.url + "/board/")[2].decode()
        site.break_thread(999, 500)
        assert get(f"{site.url}/board/thread/999.html")[0] == 500
        assert get(site.url + "/board/thread/12345.html")[0] == 404
    with pytest.raises(RuntimeError):
        _ = site.url
