"""The search query language and the embedded FTS5 backend on hostile queries: a
result or a clear QueryError, never another exception (no sqlite3.OperationalError:
FTS5 syntax in a query is always escaped)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from index.base import QueryError, SearchQuery, SearchResult
from index.embedded import EmbeddedBackend
from index.query import compile_query, parse_text
from yuqing.contracts import IndexDoc

TZ = ZoneInfo("Asia/Shanghai")


def tokenize(text: str) -> list[str]:
    import jieba

    return list(jieba.cut(text))


_PIECES = [
    "东湖", "污水", "直排", "噪音", "OR", "|", "||", "AND", "NOT", "NEAR(", ")", "(", "*", "^",
    '"', "“", "”", "「", "」", "-", "－", ":", "：", "{", "}", "title:", "text_tok:", "tags:",
    "category:", "cat:环境保护", "tier:", "tier:>=II", "tier:>I", "tier:<III", "tier:²",
    "tier:V", "级别:红", "area:东湖街道", "source:", "since:2026-11-01", "until:2026-02-30",
    "since:9999-12-31", "until:9999-12-31", "since:0001-01-01", "until:0001-01-01",
    "from:2026-11-01T25:00", "to:2026-11-30T10:00+14:00", "sort:newest", "sort:oldest",
    "排序:最新", "unknown:field", "zzc", "zzv4", "zzm202611", "\x00", "\u200b", "\u202e",
    " ", "  ", "\n", "ＡＢＣ", "e-mail", "a\"b", "'", ";", "--", "/*", "%", "_",
]  # fmt: skip
queries = (
    st.lists(st.sampled_from(_PIECES) | st.text(max_size=6), max_size=14).map(" ".join)
    | st.lists(st.sampled_from(_PIECES), max_size=20).map("".join)
    | st.text(max_size=40)
)


@given(queries)
@example("(" * 500 + "东湖" + ")" * 500)
@example('"' * 999)
@example("东湖 " * 400)
@example("x" * 1001)
@example("until:9999-12-31")
@example("since:0001-01-01")
@example("tier:²")
def test_parse_and_compile_give_a_query_or_a_query_error(text: str) -> None:
    try:
        parse_text(text, tokenize)
        compile_query(SearchQuery(text=text), tokenize, TZ)
    except QueryError as exc:
        assert str(exc)  # a message for the person who typed it


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBackend]:
    b = EmbeddedBackend(tmp_path_factory.mktemp("fts") / "index.sqlite", tokenize, timezone=TZ)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    docs = [
        IndexDoc(
            id=i,
            title=title,
            text=text,
            source="demo-board",
            category="环境保护" if i % 2 else "城乡建设",
            severity=1 + i % 4,
            area="东湖街道" if i % 3 else "河西村",
            published_at=start + timedelta(days=i),
            url=f"http://example.com/t/{i}",
        )
        for i, (title, text) in enumerate(
            [
                ("东湖污水直排", '东湖街道有工厂夜间直排污水 NEAR( "AND" OR *'),
                ("噪音扰民", "工地夜间施工噪音 title: tags:zzc"),
                ("路灯不亮", 'text_tok : "x" {title_tok} ^ -'),
                ("拖欠工资", "农民工工资被拖欠"),
            ]
        )
    ]
    assert b.index(docs) == []
    yield b
    b.close()


@settings(
    max_examples=max(60, settings.default.max_examples),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    queries,
    st.one_of(st.none(), st.sampled_from(["环境保护", 'x"y', "zz", "东湖街道"])),
    st.one_of(st.none(), st.integers(-2, 6)),
    st.one_of(st.none(), st.datetimes(timezones=st.none() | st.just(UTC))),
    st.one_of(st.none(), st.datetimes(timezones=st.none() | st.just(UTC))),
    st.sampled_from(["relevance", "newest", "oldest"]),
    st.integers(-1, 600),
    st.sampled_from([None, "day", "week", "year"]),
)
@example('"东湖" NEAR(污水 直排) AND * ^', None, None, None, None, "relevance", 20, None)
@example('category:"a" b" 污水', 'a" b', None, None, None, "relevance", 20, "day")
@example("until:9999-12-31 东湖", None, None, None, None, "relevance", 20, "week")
@example("东湖", None, None, datetime.min, None, "relevance", 20, None)
@example("东湖", None, None, datetime.min, datetime.min.replace(tzinfo=UTC), "newest", 20, None)
def test_the_embedded_index_answers_or_refuses_cleanly(
    backend: EmbeddedBackend,
    text: str,
    area: str | None,
    severity_min: int | None,
    since: datetime | None,
    until: datetime | None,
    sort: str,
    limit: int,
    histogram: str | None,
) -> None:
    q = SearchQuery(
        text=text,
        area=area,
        severity_min=severity_min,
        since=since,
        until=until,
        sort=sort,  # type: ignore[arg-type]
        limit=limit,
        histogram=histogram,  # type: ignore[arg-type]
    )
    try:
        result = backend.search(q)
    except QueryError as exc:
        assert "fts5" not in str(exc)  # user syntax never reaches FTS5 unescaped
        return
    assert isinstance(result, SearchResult)
    assert result.total >= len(result.hits)
    for hit in result.hits:
        assert "<script" not in hit.snippet and "<script" not in hit.title_html


def test_fts_syntax_in_text_finds_it_literally(backend: EmbeddedBackend) -> None:
    assert {h.id for h in backend.search(SearchQuery(text='"NEAR"')).hits} == {0}
    assert backend.search(SearchQuery(text="tags:zzc")).total >= 0
    # words rank (partial matches come back): the post holding both literally comes first
    assert backend.search(SearchQuery(text="{title_tok} text_tok")).hits[0].id == 2
