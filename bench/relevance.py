"""Relevance of the embedded index: judged analyst queries over the demo corpus.

``bench/data/relevance.yaml`` holds queries with hand-judged relevant posts of
the demo corpus (crawler/demo/corpus.py, ours). The same queries run against
two embedded indexes over the same posts: one fed jieba tokens (what ships),
one fed single CJK characters (unigram matching, the usual segmenter-free
fallback). Reported: MRR@10 and nDCG@10 (gains 2^grade - 1), jieba vs unigram.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from bench.common import ROOT, Row, say

JUDGMENTS = ROOT / "bench" / "data" / "relevance.yaml"
K = 10
_UNIGRAM = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]|[A-Za-z0-9]+")


@dataclass(frozen=True, slots=True)
class Judged:
    q: str
    grades: dict[int, int]  # post id -> 2 (about it) or 1 (bears on it)


def load_judgments(path: Path = JUDGMENTS) -> tuple[dict[str, Any], list[Judged]]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for item in raw["queries"]:
        grades = {int(i): 1 for i in item.get("partial", [])}
        grades.update({int(i): 2 for i in item["high"]})
        out.append(Judged(str(item["q"]), grades))
    return raw["corpus"], out


def reciprocal_rank(ranked: Sequence[int], grades: dict[int, int], k: int = K) -> float:
    for pos, doc in enumerate(ranked[:k], start=1):
        if grades.get(doc, 0) > 0:
            return 1.0 / pos
    return 0.0


def ndcg(ranked: Sequence[int], grades: dict[int, int], k: int = K) -> float:
    def dcg(gs: Sequence[int]) -> float:
        return sum((2**g - 1) / math.log2(pos + 1) for pos, g in enumerate(gs[:k], start=1))

    ideal = dcg(sorted(grades.values(), reverse=True))
    return dcg([grades.get(d, 0) for d in ranked]) / ideal if ideal else 0.0


def unigram_tokenize(text: str) -> list[str]:
    """Every CJK character a token; ASCII words and numbers whole."""
    return _UNIGRAM.findall(text)


def evaluate(
    tokenize: Callable[[str], list[str]], docs: Sequence[Any], judged: Sequence[Judged], tmp: Path
) -> list[tuple[float, float]]:
    from index.base import SearchQuery
    from index.embedded import EmbeddedBackend

    b = EmbeddedBackend(tmp, tokenize)
    try:
        assert b.index(docs) == []
        out = []
        for j in judged:
            hits = b.search(SearchQuery(text=j.q, limit=K, facets=False)).hits
            ranked = [h.id for h in hits]
            out.append((reciprocal_rank(ranked, j.grades), ndcg(ranked, j.grades)))
        return out
    finally:
        b.close()


def demo_docs(corpus: dict[str, Any]) -> list[Any]:
    from crawler.demo.corpus import demo_corpus
    from yuqing.contracts import IndexDoc

    now = datetime.fromisoformat(corpus["now"])
    return [
        IndexDoc(
            id=p.id, title=p.title, text=p.body, source="demo-board", category=p.category,
            severity=p.severity, area=p.area, published_at=p.published_at, url=None,
        )
        for p in demo_corpus(now, seed=int(corpus["seed"]))
    ]  # fmt: skip


def run(quick: bool) -> list[Row]:
    from bench.common import config
    from classifier.text import tokenize as jieba_tokenize

    corpus, judged = load_judgments()
    docs = demo_docs(corpus)
    taxonomy = config().taxonomy

    def jieba_tok(text: str) -> list[str]:
        return jieba_tokenize(text, taxonomy)

    say(f"relevance: {len(judged)} judged queries over {len(docs)} demo posts, jieba vs unigram")
    with tempfile.TemporaryDirectory(prefix="yuqing-bench-relevance-") as tmp:
        ours = evaluate(jieba_tok, docs, judged, Path(tmp) / "jieba.sqlite")
        ref = evaluate(unigram_tokenize, docs, judged, Path(tmp) / "unigram.sqlite")
    n = len(judged)
    mrr, mrr_ref = sum(r for r, _ in ours) / n, sum(r for r, _ in ref) / n
    nd, nd_ref = sum(g for _, g in ours) / n, sum(g for _, g in ref) / n
    better = sum(a[1] > b[1] + 1e-9 for a, b in zip(ours, ref, strict=True))
    worse = sum(a[1] < b[1] - 1e-9 for a, b in zip(ours, ref, strict=True))
    note = (
        f"{n} analyst queries, hand-judged (bench/data/relevance.yaml) over the "
        f"{len(docs)}-post demo corpus; ratio = ours / unigram"
    )
    return [
        Row("relevance MRR@10 (embedded)", f"{mrr:.3f}", f"{mrr_ref:.3f} (CJK unigrams)",
            mrr / mrr_ref if mrr_ref else None, note),
        Row("relevance nDCG@10 (embedded)", f"{nd:.3f}", f"{nd_ref:.3f} (CJK unigrams)",
            nd / nd_ref if nd_ref else None,
            f"graded 2/1; jieba better on {better} queries, worse on {worse}, same on {n - better - worse}"),
    ]  # fmt: skip
