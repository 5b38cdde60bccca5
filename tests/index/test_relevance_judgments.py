"""The relevance bench's hand-written judgments are well-formed and its metrics are right."""

from __future__ import annotations

import math

from bench.relevance import demo_docs, load_judgments, ndcg, reciprocal_rank, unigram_tokenize


def test_judgments_cover_enough_queries_over_real_demo_posts() -> None:
    corpus, judged = load_judgments()
    ids = {d.id for d in demo_docs(corpus)}
    assert len(judged) >= 30
    assert len({j.q for j in judged}) == len(judged)  # no query twice
    for j in judged:
        assert 2 in j.grades.values(), j.q
        assert set(j.grades) <= ids, j.q


def test_metrics() -> None:
    grades = {1: 2, 2: 1}
    assert reciprocal_rank([9, 2, 1], grades) == 0.5
    assert reciprocal_rank([9] * 10 + [1], grades) == 0.0  # only the top 10 count
    assert ndcg([1, 2], grades) == 1.0
    swapped = (1 / math.log2(2) + 3 / math.log2(3)) / (3 / math.log2(2) + 1 / math.log2(3))
    assert math.isclose(ndcg([2, 1], grades), swapped)
    assert ndcg([], grades) == 0.0


def test_unigrams() -> None:
    assert unigram_tokenize("农民工讨薪 abc 12号") == [
        "农",
        "民",
        "工",
        "讨",
        "薪",
        "abc",
        "12",
        "号",
    ]


def test_real_message_judgments_are_well_formed() -> None:
    """The judged set over the shared messages (ids only, no text): enough queries,
    each with something about it, and no message graded twice."""
    import yaml

    from bench.relevance import GOV_JUDGMENTS

    raw = yaml.safe_load(GOV_JUDGMENTS.read_text(encoding="utf-8"))
    queries = raw["queries"]
    assert len(queries) >= 40
    assert len({q["q"] for q in queries}) == len(queries)
    for q in queries:
        assert q["need"] and q["high"], q["q"]
        high, partial, none = (set(q.get(k) or []) for k in ("high", "partial", "none"))
        assert not (high & partial or high & none or partial & none), q["q"]
        assert all(isinstance(i, int) for i in high | partial | none)
    _, judged = load_judgments(GOV_JUDGMENTS)
    assert all(2 in j.grades.values() for j in judged)


def test_recall_and_bm25_reference_tokens() -> None:
    from bench.relevance import char_bigrams, recall

    assert recall([1, 9, 2], {1: 2, 2: 1, 3: 1}) == 2 / 3
    assert recall([9] * 100 + [1], {1: 2}) == 0.0  # only the top 100 count
    assert char_bigrams("占道经营 ab12，摆") == ["占道", "道经", "经营", "ab12", "摆"]
