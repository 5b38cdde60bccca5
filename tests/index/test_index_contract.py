"""One contract, two backends: every case runs on embedded FTS5 and on Elasticsearch."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from index_corpus import CORPUS, at, doc

from index.base import QueryError, SearchBackend, SearchQuery, SearchResult

SH = ZoneInfo("Asia/Shanghai")


def ids(result: SearchResult) -> set[int]:
    return {h.id for h in result.hits}


def search(b: SearchBackend, text: str = "", **kw: object) -> SearchResult:
    return b.search(SearchQuery(text=text, **kw))  # type: ignore[arg-type]


def test_count_and_ping(loaded: SearchBackend) -> None:
    assert loaded.ping()
    assert loaded.count() == len(CORPUS)


def test_chinese_word(loaded: SearchBackend) -> None:
    r = search(loaded, "污水")
    assert ids(r) == {1, 2, 8}
    assert r.total == 3
    assert r.hits[0].id == 1  # in the title as well: ranks first


def test_unspaced_words_rank_posts_with_all_tokens_first(loaded: SearchBackend) -> None:
    r = search(loaded, "居民臭味")  # 居民 臭味: both in post 1 only, either in 2, 3, 5
    assert r.hits[0].id == 1
    assert ids(r) == {1, 2, 3, 5}
    assert ids(search(loaded, "居民 AND 臭味")) == {1}  # asked for both: both
    assert ids(search(loaded, "+居民 +臭味")) == {1}


def test_phrase(loaded: SearchBackend) -> None:
    assert ids(search(loaded, '"污水直排"')) == {1}
    assert ids(search(loaded, "“夜间 施工”")) == {3}
    assert ids(search(loaded, '"施工 夜间"')) == set()
    # a quoted phrase is required even beside plain words
    assert ids(search(loaded, '"夜间施工" 污水 废气')) == {3}
    assert ids(search(loaded, '"施工 夜间" 污水')) == set()


def test_exclusion(loaded: SearchBackend) -> None:
    assert ids(search(loaded, "污水 -臭味")) == {8}
    assert ids(search(loaded, '河道 -"污水直排"')) == {2}
    assert ids(search(loaded, "污水 垃圾 -臭味")) == {8}  # strict beside ranked words
    # only an exclusion: everything else
    assert ids(search(loaded, "-污水", limit=50)) == {3, 4, 5, 6, 7}


def test_or(loaded: SearchBackend) -> None:
    assert ids(search(loaded, "噪音 OR 废气")) == {3, 5}
    # OR binds tighter than the implicit AND
    assert ids(search(loaded, "夜间 噪音 OR 废气")) == {3, 5}
    assert ids(search(loaded, "+居民 噪音 OR 废气")) == {1, 3, 5}
    assert ids(search(loaded, "工地 AND 噪音 OR 废气")) == {3}
    r = search(loaded, "工地 噪音 OR 废气")  # ranked: both groups first, then either
    assert ids(r) == {3, 5, 6}
    assert r.hits[0].id == 3


def test_filters(loaded: SearchBackend) -> None:
    assert ids(search(loaded, "", category="劳动保障")) == {6}
    assert ids(search(loaded, "", severity_min=3)) == {1, 5, 6}
    assert ids(search(loaded, "", severity=2)) == {2, 4}
    assert ids(search(loaded, "", area="西湖社区")) == {2, 3}
    assert ids(search(loaded, "", source="hotline")) == {3, 5}
    assert ids(search(loaded, "", since=datetime(2026, 11, 9, tzinfo=SH))) == {5, 6, 8}
    assert ids(search(loaded, "", until=at(3))) == {1}
    assert ids(search(loaded, "污水", category="城市管理")) == {8}


def test_filters_typed_in_the_query(loaded: SearchBackend) -> None:
    assert ids(search(loaded, "category:城市管理 area:西湖社区")) == {3}
    assert ids(search(loaded, "tier:>=II")) == {1, 5, 6}
    assert ids(search(loaded, "tier:I")) == {5}
    assert ids(search(loaded, "污水 since:2026-11-03 until:2026-11-03")) == {2}
    # since is read in Asia/Shanghai: 11-01 17:00 UTC is 11-02 01:00 there
    assert search(loaded, "污水直排 since:2026-11-02").hits[0].id == 1
    assert ids(search(loaded, "source:hotline 废气")) == {5}


def test_conflicting_filters_are_a_query_error(loaded: SearchBackend) -> None:
    with pytest.raises(QueryError, match="conflicts"):
        search(loaded, "category:城市管理", category="环境保护")


def test_facets(loaded: SearchBackend) -> None:
    r = search(loaded, "")
    assert r.facets["category"] == {"城市管理": 4, "环境保护": 3, "劳动保障": 1}
    assert r.facets["severity"] == {"1": 3, "2": 2, "3": 2, "4": 1}
    assert r.facets["source"] == {"demo-board": 6, "hotline": 2}
    assert r.facets["area"] == {"东湖街道": 5, "西湖社区": 2, "南湖村": 1}
    r = search(loaded, "污水")
    assert r.facets["category"] == {"环境保护": 2, "城市管理": 1}
    assert search(loaded, "污水", facets=False).facets == {}


def test_histogram_day_in_local_time(loaded: SearchBackend) -> None:
    r = search(loaded, "河道 OR 噪音", histogram="day")
    assert r.histogram == [
        (datetime(2026, 11, 2, tzinfo=SH), 1),
        (datetime(2026, 11, 3, tzinfo=SH), 2),
    ]
    assert all(b.utcoffset() == SH.utcoffset(b) for b, _ in r.histogram)


def test_histogram_week(loaded: SearchBackend) -> None:
    r = search(loaded, "", histogram="week")
    # ISO weeks starting Monday: 11-02, 11-09, 11-16; the undated post is left out
    assert [(b.date().isoformat(), n) for b, n in r.histogram] == [
        ("2026-11-02", 4),
        ("2026-11-09", 2),
        ("2026-11-16", 1),
    ]


def test_highlight_snippet(loaded: SearchBackend) -> None:
    hit = search(loaded, "污水直排").hits[0]
    assert hit.id == 1
    assert "<mark>污水</mark>" in hit.snippet or "<mark>污水直排</mark>" in hit.snippet
    assert " " not in hit.snippet  # built from the original text, not the tokens
    assert "<mark>" in hit.title_html
    assert hit.text == CORPUS[0].text
    assert hit.published_at == CORPUS[0].published_at
    assert hit.score > 0


def test_snippet_escapes_html(loaded: SearchBackend) -> None:
    hit = search(loaded, "电梯").hits[0]
    assert "<script>" not in hit.snippet
    assert "&lt;script&gt;" in hit.snippet
    assert "<mark>电梯</mark>" in hit.snippet


@pytest.mark.parametrize("sort", ["relevance", "newest"])
@pytest.mark.parametrize("text", ["", "居民 OR 工地 OR 污水"])
def test_pagination_stable_and_complete(loaded: SearchBackend, sort: str, text: str) -> None:
    full = search(loaded, text, sort=sort, limit=50)
    seen: list[int] = []
    for offset in range(0, full.total + 3, 3):
        page = search(loaded, text, sort=sort, limit=3, offset=offset)
        assert page.total == full.total
        seen += [h.id for h in page.hits]
    assert seen == [h.id for h in full.hits]
    assert len(seen) == len(set(seen)) == full.total


def test_newest_first(loaded: SearchBackend) -> None:
    r = search(loaded, "", sort="newest", limit=50)
    assert [h.id for h in r.hits] == [8, 6, 5, 4, 3, 2, 1, 7]  # undated last


def test_reindex_same_id_replaces(loaded: SearchBackend) -> None:
    changed = doc(3, "夜间施工灯光刺眼", "工地探照灯整夜开着。", category="城市管理", severity=2)
    assert loaded.index([changed]) == []
    assert loaded.count() == len(CORPUS)
    assert ids(search(loaded, "噪音")) == set()
    r = search(loaded, "探照灯")
    assert ids(r) == {3}
    assert r.hits[0].severity == 2
    assert r.hits[0].source == "demo-board"


def test_delete(loaded: SearchBackend) -> None:
    loaded.delete([1, 2, 999])
    assert loaded.count() == len(CORPUS) - 2
    assert ids(search(loaded, "污水")) == {8}


def test_clear(loaded: SearchBackend) -> None:
    loaded.clear()
    assert loaded.count() == 0
    assert search(loaded, "污水").total == 0
    assert loaded.index(CORPUS[:2]) == []
    assert loaded.count() == 2


def test_bad_documents_fail_alone(backend: SearchBackend) -> None:
    bad = [
        doc(20, "好的", "正常的帖子"),
        doc(21, "坏的", "严重程度不对", severity=9),
        doc(22, "坏的", "没有来源", source=""),
        doc(23, "坏的", "日期不对", published_at="昨天"),
    ]
    failures = backend.index(bad)
    assert sorted(i for i, _ in failures) == [21, 22, 23]
    assert all(reason for _, reason in failures)
    assert backend.count() == 1


HOSTILE = [
    '"unbalanced',
    "NEAR(污水 河道, 2)",
    "污水*",
    "*",
    "^污水",
    "title:污水",
    "title_tok:污水 OR text_tok:河道",
    "污水 AND NOT 河道",
    "(污水 OR",
    ")))",
    "{!lucene}污水",
    "污水~2 河道^3",
    "category:",
    "tier:V",
    "tier:<=II",
    "since:yesterday",
    "污水\x00河道\x1b[31m",
    "\u202e污水\u200b",
    "污水 " * 10_000,
    "污" * 5000,
    ' OR OR - -- "" “”',
    "'; DROP TABLE docs; --",
    "-",
    "sort:random",
    "category:a category:b",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_queries_raise_only_query_error(loaded: SearchBackend, text: str) -> None:
    try:
        r = search(loaded, text)
    except QueryError as exc:
        assert str(exc)
    else:
        assert r.total >= 0
    assert loaded.count() == len(CORPUS)


def test_invalid_query_fields(loaded: SearchBackend) -> None:
    for kw in ({"limit": 0}, {"offset": -1}, {"severity_min": 7}, {"sort": "x"},
               {"histogram": "year"}, {"limit": "10"}):  # fmt: skip
        with pytest.raises(QueryError):
            search(loaded, "污水", **kw)


def test_naive_since_is_local_time(loaded: SearchBackend) -> None:
    naive = datetime(2026, 11, 2, 0, 30)  # = 11-01 16:30 UTC, before post 1
    assert 1 in ids(search(loaded, "污水", since=naive))
    assert 1 not in ids(search(loaded, "污水", since=naive.replace(tzinfo=UTC)))
