"""Relevance of search on real messages: a judged analyst query set, both backends,
against plain BM25 computed in the same run.

``bench/data/relevance-gov.yaml`` holds 46 analyst queries with graded judgments
(2 about it, 1 bears on it; pooled, method in the file's header) over the shared
hot-issue messages (../shared/data, read in place). Each query runs through the
embedded index and the Elasticsearch backend (against osmem-server, the
stand-in the tests use) with ``limit=100``, and through two references over the
same messages (title + body): Okapi BM25 (rank_bm25, k1 1.5, b 0.75) over jieba
``cut_for_search`` tokens and over character bigrams. Reported: nDCG@10 (gains
2^grade - 1), MRR@10 and recall@100 of the judged relevant messages (unjudged
messages count as not relevant).

``bench/data/relevance.yaml`` (queries over the synthetic demo corpus, ours) is
kept as a smoke check: jieba vs CJK unigrams in the embedded index.
"""

from __future__ import annotations

import json
import logging
import math
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from bench.common import HOT_ISSUES, ROOT, TZ, Row, say

JUDGMENTS = ROOT / "bench" / "data" / "relevance.yaml"
GOV_JUDGMENTS = ROOT / "bench" / "data" / "relevance-gov.yaml"
SYNONYMS = ROOT / "config" / "synonyms.yaml"
K = 10
DEPTH = 100
_UNIGRAM = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]|[A-Za-z0-9]+")
_RUNS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+|[a-z0-9]+")
_WORDY = re.compile(r"\w")


@dataclass(frozen=True, slots=True)
class Judged:
    q: str
    grades: dict[int, int]  # post id -> 2 (about it) or 1 (bears on it)


def load_judgments(path: Path = JUDGMENTS) -> tuple[dict[str, Any], list[Judged]]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for item in raw["queries"]:
        grades = {int(i): 1 for i in item.get("partial") or []}
        grades.update({int(i): 2 for i in item["high"]})
        out.append(Judged(str(item["q"]), grades))
    return raw.get("corpus") or {}, out


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


def recall(ranked: Sequence[int], grades: dict[int, int], k: int = DEPTH) -> float:
    relevant = {d for d, g in grades.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


@dataclass(frozen=True, slots=True)
class Scores:
    ndcg: float
    mrr: float
    recall: float
    per_query: list[float]  # nDCG@10 of each query

    @classmethod
    def of(cls, runs: Sequence[Sequence[int]], judged: Sequence[Judged]) -> Scores:
        n = len(judged)
        nd = [ndcg(r, j.grades) for r, j in zip(runs, judged, strict=True)]
        mrr = sum(reciprocal_rank(r, j.grades) for r, j in zip(runs, judged, strict=True)) / n
        rc = sum(recall(r, j.grades) for r, j in zip(runs, judged, strict=True)) / n
        return cls(sum(nd) / n, mrr, rc, nd)


def unigram_tokenize(text: str) -> list[str]:
    """Every CJK character a token; ASCII words and numbers whole."""
    return _UNIGRAM.findall(text)


def jieba_search_tokens(text: str) -> list[str]:
    """The BM25 reference's tokens: jieba's search mode, words only."""
    import jieba

    return [t for t in jieba.cut_for_search(text.lower()) if _WORDY.search(t)]


def char_bigrams(text: str) -> list[str]:
    """The other reference: overlapping bigrams of each CJK run, ASCII words whole."""
    out: list[str] = []
    for run in _RUNS.findall(text.lower()):
        if run.isascii() or len(run) == 1:
            out.append(run)
        else:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


def bm25_runs(
    texts: Sequence[str],
    ids: Sequence[int],
    queries: Sequence[str],
    tok: Callable[[str], list[str]],
) -> list[list[int]]:
    """Top ``DEPTH`` ids per query by Okapi BM25 over ``tok``'s tokens (zero scores dropped)."""
    import numpy as np
    from rank_bm25 import BM25Okapi

    bm = BM25Okapi([tok(t) for t in texts])
    out = []
    for q in queries:
        scores = bm.get_scores(tok(q))
        order = np.argsort(-scores, kind="stable")[:DEPTH]
        out.append([ids[i] for i in order if scores[i] > 0])
    return out


def evaluate(
    tokenize: Callable[[str], list[str]], docs: Sequence[Any], judged: Sequence[Judged], tmp: Path
) -> list[tuple[float, float]]:
    """Demo smoke check: (RR@10, nDCG@10) per query from the embedded index."""
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


def gov_docs() -> list[Any]:
    """The hot-issue messages as index documents, id = the message's msg_no."""
    from yuqing.contracts import IndexDoc

    out = []
    with HOT_ISSUES.open(encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            pub = None
            if r.get("time"):
                try:
                    pub = datetime.fromisoformat(r["time"]).replace(tzinfo=TZ)
                except ValueError:
                    pub = None
            out.append(
                IndexDoc(
                    id=int(r["msg_no"]), title=r.get("title") or "", text=r.get("body") or "",
                    source="gov-board", category=None, severity=1, area=None,
                    published_at=pub, url=None,
                )
            )  # fmt: skip
    return out


def _backend_runs(
    backend: Any, judged: Sequence[Judged], *, expand: bool = True
) -> list[list[int]]:
    from index.base import SearchQuery

    return [
        [
            h.id
            for h in backend.search(
                SearchQuery(text=j.q, limit=DEPTH, facets=False, expand=expand)
            ).hits
        ]  # fmt: skip
        for j in judged
    ]


def _osmem_backend(tokenize: Any, synonyms: Any) -> tuple[Any, Any] | None:
    """The Elasticsearch backend on a fresh osmem-server, or None if it is not installed."""
    try:
        from osmem_server import OsmemServer
    except ImportError:
        return None
    from elastic_transport import Urllib3HttpNode
    from elasticsearch import Elasticsearch

    from index.elasticsearch import ElasticsearchBackend

    class PlainJsonNode(Urllib3HttpNode):  # osmem-server answers 406 to the vendor type
        def perform_request(self, method: str, target: str, body: Any = None, headers: Any = None, **kw: Any) -> Any:  # fmt: skip
            if headers is not None:
                headers = headers.copy()
                for key in list(headers.keys()):
                    if key.lower() in ("accept", "content-type") and "vnd.elasticsearch" in headers[key]:  # fmt: skip
                        headers[key] = "application/x-ndjson" if "ndjson" in headers[key] else "application/json"  # fmt: skip
            return super().perform_request(method, target, body=body, headers=headers, **kw)

    server = OsmemServer.start(japanese=False, addr="127.0.0.1:0")
    client = Elasticsearch(server.url, node_class=PlainJsonNode, request_timeout=120)
    backend = ElasticsearchBackend(client, "bench-relevance", tokenize, synonyms=synonyms)
    return backend, server


def _gov_rows(quick: bool) -> list[Row]:
    from bench.common import config
    from classifier.text import tokenizer_for
    from index.embedded import EmbeddedBackend
    from index.synonyms import Synonyms

    logging.getLogger("elastic_transport").setLevel(logging.WARNING)
    _, judged = load_judgments(GOV_JUDGMENTS)
    docs = gov_docs()
    tokenize = tokenizer_for(config().taxonomy)
    synonyms = Synonyms.load(SYNONYMS)
    queries = [j.q for j in judged]
    say(f"relevance: {len(judged)} judged analyst queries over {len(docs)} hot-issue messages")
    texts = [f"{d.title}\n{d.text}" for d in docs]
    ids = [d.id for d in docs]
    ref_j = Scores.of(bm25_runs(texts, ids, queries, jieba_search_tokens), judged)
    ref_b = Scores.of(bm25_runs(texts, ids, queries, char_bigrams), judged)
    with tempfile.TemporaryDirectory(prefix="yuqing-bench-relevance-") as tmp:
        emb = EmbeddedBackend(Path(tmp) / "gov.sqlite", tokenize, synonyms=synonyms)
        try:
            assert emb.index(docs) == []
            ours = Scores.of(_backend_runs(emb, judged), judged)
            plain = Scores.of(_backend_runs(emb, judged, expand=False), judged)
        finally:
            emb.close()
    es_scores: Scores | None = None
    es_note = "osmem-server not installed: not run"
    if not quick:
        opened = _osmem_backend(tokenize, synonyms)
        if opened is not None:
            es, server = opened
            try:
                for i in range(0, len(docs), 500):
                    assert es.index(docs[i : i + 500]) == []
                es.es.indices.refresh(index=es.alias)
                es_scores = Scores.of(_backend_runs(es, judged), judged)
                es_note = "Elasticsearch backend against osmem-server (the stand-in), same queries"
            finally:
                es.close()
                server.close()
    else:
        es_note = "--quick: not run"

    refs = {
        "ndcg": f"{ref_j.ndcg:.3f} (BM25 jieba) / {ref_b.ndcg:.3f} (BM25 bigrams)",
        "mrr": f"{ref_j.mrr:.3f} (BM25 jieba) / {ref_b.mrr:.3f} (BM25 bigrams)",
        "recall": f"{ref_j.recall:.3f} (BM25 jieba) / {ref_b.recall:.3f} (BM25 bigrams)",
    }
    best = {
        "ndcg": max(ref_j.ndcg, ref_b.ndcg),
        "mrr": max(ref_j.mrr, ref_b.mrr),
        "recall": max(ref_j.recall, ref_b.recall),
    }
    better = sum(a > max(b, c) + 1e-9 for a, b, c in zip(ours.per_query, ref_j.per_query, ref_b.per_query, strict=True))  # fmt: skip
    worse = sum(a < max(b, c) - 1e-9 for a, b, c in zip(ours.per_query, ref_j.per_query, ref_b.per_query, strict=True))  # fmt: skip
    note = (
        f"{len(judged)} analyst queries, graded 0/1/2 by reading pooled candidates "
        f"(bench/data/relevance-gov.yaml) over {len(docs)} hot-issue messages; ratio = ours / "
        "the better reference; both references computed in this run (rank_bm25, title + body)"
    )
    rows = []
    for key, label in (("ndcg", "nDCG@10"), ("mrr", "MRR@10"), ("recall", "recall@100")):
        val = getattr(ours, key)
        extra = {
            "ndcg": f"; above the better reference on {better} queries, below on {worse}; "
            f"synonyms off: {plain.ndcg:.3f}",
            "mrr": f"; synonyms off: {plain.mrr:.3f}",
            "recall": f"; synonyms off: {plain.recall:.3f}; recall of the pooled judged set",
        }[key]
        rows.append(
            Row(f"relevance {label}, real messages (embedded)", f"{val:.3f}", refs[key],
                val / best[key] if best[key] else None, note + extra)
        )  # fmt: skip
    for key, label in (("ndcg", "nDCG@10"), ("mrr", "MRR@10"), ("recall", "recall@100")):
        if es_scores is None:
            rows.append(Row(f"relevance {label}, real messages (Elasticsearch)", "–", refs[key], None, es_note))  # fmt: skip
            continue
        val = getattr(es_scores, key)
        rows.append(
            Row(f"relevance {label}, real messages (Elasticsearch)", f"{val:.3f}", refs[key],
                val / best[key] if best[key] else None, es_note + "; ratio = ours / the better reference")
        )  # fmt: skip
    return rows


def _demo_rows() -> list[Row]:
    from bench.common import config
    from classifier.text import tokenize as jieba_tokenize

    corpus, judged = load_judgments()
    docs = demo_docs(corpus)
    taxonomy = config().taxonomy

    def jieba_tok(text: str) -> list[str]:
        return jieba_tokenize(text, taxonomy)

    say(f"relevance smoke: {len(judged)} queries over {len(docs)} demo posts, jieba vs unigram")
    with tempfile.TemporaryDirectory(prefix="yuqing-bench-relevance-") as tmp:
        ours = evaluate(jieba_tok, docs, judged, Path(tmp) / "jieba.sqlite")
        ref = evaluate(unigram_tokenize, docs, judged, Path(tmp) / "unigram.sqlite")
    n = len(judged)
    nd, nd_ref = sum(g for _, g in ours) / n, sum(g for _, g in ref) / n
    return [
        Row("relevance nDCG@10, demo corpus (smoke check)", f"{nd:.3f}", f"{nd_ref:.3f} (CJK unigrams)",
            nd / nd_ref if nd_ref else None,
            f"{n} queries we wrote over our own {len(docs)}-post synthetic corpus "
            "(bench/data/relevance.yaml): a smoke check, not a relevance figure"),
    ]  # fmt: skip


def run(quick: bool) -> list[Row]:
    rows: list[Row] = []
    if HOT_ISSUES.is_file():
        rows += _gov_rows(quick)
    else:
        say("relevance: ../shared/data absent: the real-message rows are skipped")
    rows += _demo_rows()
    return rows
