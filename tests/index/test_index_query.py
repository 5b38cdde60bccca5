"""The query language parser, on its own."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from index_testkit import tokenize

from index.base import QueryError, SearchQuery
from index.query import MAX_TERMS, Term, compile_query, parse_text

SH = ZoneInfo("Asia/Shanghai")


def compile_(text: str = "", **kw: object):  # noqa: ANN201
    return compile_query(SearchQuery(text=text, **kw), tokenize, SH)  # type: ignore[arg-type]


def test_words_are_segmented() -> None:
    p = parse_text("东湖街道 污水", tokenize)
    assert p.groups == [[Term(("东湖", "街道"))], [Term(("污水",))]]


def test_phrases_in_ascii_and_chinese_quotes() -> None:
    p = parse_text('"污水 直排" “夜间施工”', tokenize)
    assert p.groups == [
        [Term(("污水", "直排"), phrase=True)],
        [Term(("夜间", "施工"), phrase=True)],
    ]


def test_one_token_phrase_is_a_word() -> None:
    assert parse_text('"污水"', tokenize).groups == [[Term(("污水",))]]


def test_exclusions() -> None:
    p = parse_text('污水 -臭味 -"夜间 施工" －噪音', tokenize)
    assert p.groups == [[Term(("污水",))]]
    assert p.excluded == [Term(("臭味",)), Term(("夜间", "施工"), phrase=True), Term(("噪音",))]


def test_or_binds_tighter_than_and() -> None:
    p = parse_text("工地 噪音 OR 废气 | 灯光", tokenize)
    assert p.groups == [[Term(("工地",))], [Term(("噪音",)), Term(("废气",)), Term(("灯光",))]]


def test_dangling_or_and_lowercase_or() -> None:
    assert parse_text("OR 污水 OR", tokenize).groups == [[Term(("污水",))]]
    assert parse_text("a or b", tokenize).groups == [
        [Term(("a",))],
        [Term(("or",))],
        [Term(("b",))],
    ]


def test_field_filters() -> None:
    p = parse_text(
        "污水 category:环境保护 tier:>=II area:东湖街道 since:2026-11-01 source:demo-board",
        tokenize,
    )
    assert p.groups == [[Term(("污水",))]]
    assert p.filters == {
        "category": "环境保护",
        "tier": ">=II",
        "area": "东湖街道",
        "since": "2026-11-01",
        "source": "demo-board",
    }


def test_chinese_field_names_and_fullwidth_colon() -> None:
    p = parse_text("分类：城市管理 地区:西湖社区 来源：hotline", tokenize)
    assert p.filters == {"category": "城市管理", "area": "西湖社区", "source": "hotline"}


def test_quoted_filter_value() -> None:
    assert parse_text('area:"东湖 街道"', tokenize).filters == {"area": "东湖 街道"}


def test_unknown_fields_are_literal_text() -> None:
    p = parse_text("title:污水 公告：停水 http://example.org/x", tokenize)
    assert not p.filters
    assert [t for g in p.groups for t in g] == [
        Term(("title", "污水")),
        Term(("公告", "停水")),
        Term(("http", "example", "org", "x")),
    ]


def test_symbols_are_dropped_but_not_alone() -> None:
    p = parse_text("NEAR(污水, 2) 河道^3 *", tokenize)
    tokens = {tok for g in p.groups for t in g for tok in t.tokens}
    assert tokens == {"near", "污水", "2", "河道", "3"}
    with pytest.raises(QueryError, match="nothing to search for"):
        parse_text("*** ^^ ((", tokenize)


def test_unbalanced_quote_runs_to_the_end() -> None:
    assert parse_text('污水 "直排 河道', tokenize).groups[-1] == [
        Term(("直排", "河道"), phrase=True)
    ]


def test_too_many_terms() -> None:
    with pytest.raises(QueryError, match=f"more than {MAX_TERMS}"):
        parse_text(" ".join(f"w{i}" for i in range(MAX_TERMS + 1)), tokenize)


def test_too_long() -> None:
    with pytest.raises(QueryError, match="too long"):
        parse_text("污" * 5000, tokenize)


def test_control_characters_are_spaces() -> None:
    assert parse_text("污水\x00河道\u200b", tokenize).groups == [
        [Term(("污水",))],
        [Term(("河道",))],
    ]


@pytest.mark.parametrize(
    ("text", "exact", "minimum"),
    [
        ("tier:I", 4, None),
        ("tier:II", 3, None),
        ("tier:>=II", None, 3),
        ("tier:≥III", None, 2),
        ("tier:>III", None, 3),
        ("tier:red", 4, None),
        ("等级:较大", 2, None),
        ("severity:>=3", None, 3),
    ],
)
def test_tiers(text: str, exact: int | None, minimum: int | None) -> None:
    cq = compile_(text)
    assert (cq.severity, cq.severity_min) == (exact, minimum)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tier:V", "unknown tier"),
        ("tier:<=II", "use tier:II or tier:>=II"),
        ("tier:>I", "nothing is more serious"),
        ("since:昨天", "not a date"),
        ("since:2026-13-01", "not a date"),
        ("category:", "needs a value"),
        ("category:a category:b", "given twice"),
        ("-category:a", "not supported"),
        ("sort:random", "sort:newest"),
    ],
)
def test_filter_errors(text: str, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        compile_(text)


def test_dates_are_local_days() -> None:
    cq = compile_("since:2026-11-01 until:2026/11/30")
    assert cq.since == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert cq.until == datetime(2026, 11, 30, 16, tzinfo=UTC)  # through the 30th


def test_merging_with_fields() -> None:
    cq = compile_(
        "tier:>=III since:2026-11-05",
        severity_min=3,
        since=datetime(2026, 11, 1, tzinfo=UTC),
        category="环境保护",
    )
    assert cq.severity_min == 3  # the stricter of the two
    assert cq.since == datetime(2026, 11, 4, 16, tzinfo=UTC)
    assert cq.category == "环境保护"
    assert compile_("category:环境保护", category="环境保护").category == "环境保护"
    with pytest.raises(QueryError, match="conflicts"):
        compile_("area:东湖街道", area="西湖社区")


def test_sort_in_text() -> None:
    assert compile_("污水 sort:newest").sort == "newest"
    assert compile_("污水 排序:最新").sort == "newest"


def test_highlight_terms() -> None:
    assert compile_('污水 OR 废水 "夜间 施工" -噪音').highlight_terms() == {
        "污水",
        "废水",
        "夜间",
        "施工",
    }


def test_non_string_text() -> None:
    with pytest.raises(QueryError):
        compile_query(SearchQuery(text=None), tokenize, SH)  # type: ignore[arg-type]


def test_long_compounds_also_match_their_parts() -> None:
    from index.query import Term, parse_text, split_compounds

    assert split_compounds(("拖欠工资", "农民工", "abcd", "食物中毒")) == (
        "拖欠", "工资", "农民工", "abcd", "食物", "中毒",
    )  # fmt: skip
    parsed = parse_text("拖欠工资", lambda s: [s])
    assert parsed.groups == [[Term(("拖欠工资",)), Term(("拖欠", "工资"))]]
    # phrases and exclusions stay as typed
    assert parse_text('"拖欠工资"', lambda s: [s]).groups == [[Term(("拖欠工资",))]]
    assert parse_text("-拖欠工资", lambda s: [s]).excluded == [Term(("拖欠工资",))]


def test_required_words_and_and() -> None:
    p = parse_text("+污水 河道 AND 臭味 噪音", tokenize)
    assert p.required == [True, True, True, False]
    p = parse_text('"污水 直排" 河道', tokenize)
    assert p.required == [True, False]  # a quoted phrase is required


def test_plan_units_parts_and_min_match() -> None:
    from index.query import build_plan

    def plan(text: str, **kw: object):  # noqa: ANN202
        p = parse_text(text, tokenize)
        return build_plan(p.groups, p.required, tokenize, **kw)  # type: ignore[arg-type]

    one = plan("路灯不亮")  # jieba cuts 路 灯不亮: the dictionary parts 路灯, 不亮 join in
    toks = {c.tokens for g in one.groups for c in g.clauses}
    assert ("路灯",) in toks and ("不亮",) in toks
    assert plan("污水 河道").min_match == 1
    assert plan("污水 河道 臭味").min_match == 2  # all but one of three
    assert plan("污水 河道 臭味", recall=True).min_match == 1
    wide = plan("幼儿园", recall=True)
    assert {("幼儿",), ("儿园",)} <= {c.tokens for g in wide.groups for c in g.clauses}


def test_plan_synonyms_per_unit() -> None:
    from index.query import build_plan
    from index.synonyms import Synonyms

    syn = Synonyms.from_mapping({"sets": [["医保", "医疗保险"], ["缴费", "缴纳"]]})
    p = parse_text("医保缴费", tokenize)
    plan = build_plan(p.groups, p.required, tokenize, syn)
    assert plan.expansions == {"医保缴费": ["医疗保险", "缴纳"]}
    unit = {c.label or c.tokens[0]: c.unit for c in plan.groups[0].clauses if len(c.tokens) == 1}
    assert unit["医疗保险"] == unit["医保"] != unit["缴纳"] == unit["缴费"]


def test_synonym_table_errors_and_missing_file(tmp_path) -> None:  # noqa: ANN001
    from index.synonyms import Synonyms

    assert len(Synonyms.load(tmp_path / "none.yaml")) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("sets:\n  - [只有一个]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="sets.0"):
        Synonyms.load(bad)
    t = Synonyms.from_mapping({"sets": [["A", "b"]], "oneway": {"住宅小区": ["小区"]}})
    assert t.expand("a") == ("b",) and t.expand("小区") == ()
    assert t.expand("住宅小区") == ("小区",)


def test_the_shipped_synonym_table_loads() -> None:
    from pathlib import Path

    from index.synonyms import Synonyms

    t = Synonyms.load(Path(__file__).parents[2] / "config" / "synonyms.yaml")
    assert "摆摊" in t.expand("占道经营")
    assert "欠薪" in t.expand("拖欠工资")
