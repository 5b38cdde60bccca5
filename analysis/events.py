"""Events that form on real text: posts about one matter, across sources.

A post is described by its content words (jieba's TF-IDF keywords, with the
words every complaint carries left out), weighted and normalised. An event keeps
the sum of its posts' vectors (its centroid, trimmed to its strongest terms).
A new post joins the best-matching recent event whose centroid's cosine with it
reaches a threshold, else opens one. Place, time and category gate the match:

- two posts naming two different places below the county are two matters, and
  so are two posts placed in two different counties;
- an event is a candidate only while its last post is within ``window``;
- a post of another category needs a higher score (the classifier may be wrong,
  so the category is evidence, not a wall).

No place name is required. The same functions serve the store's incremental
linking (store.posts, per batch) and the benchmark (bench/events.py, in memory).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

TOP_TERMS = 24  # a post's strongest content words
CENTROID_TERMS = 48  # an event's
THRESHOLD = 0.45
OTHER_CATEGORY_MARGIN = 0.12
WINDOW = timedelta(days=30)
TITLE_WEIGHT = 2.0

# Words that every complaint and hotline record carries: they say nothing about
# which matter it is (see also store.posts._BOILERPLATE, for the MinHash stage).
_WORDS = """
    市民 来电 反映 来电人 诉求 诉求人 群众 网友 投诉 举报 请求 希望 要求 尽快 及时 处理 解决 相关 部门
    有关 领导 您好 你好 谢谢 感谢 问题 情况 现在 目前 已经 没有 这个 那个 我们 他们 你们 一个 一直 什么
    怎么 为什么 是否 可以 能否 如何 还是 因为 所以 但是 而且 这样 如果 进行 存在 严重 影响 导致 造成
    政府 相关部门 有关部门 市长 书记 局长 领导们 尊敬 请问 咨询 建议 关于 一下 多次 至今 今年 去年 小区
    居民 业主 百姓 老百姓 不能 不是 还有 希望政府 给予 帮助 重视 落实 回复 答复 工作 单位 人员 时间 地方
    工单 工单号 编号 社区 附近 请问 办理 怎么 需要 能不能 哪里
"""
_FILLER = frozenset(_WORDS.split())
_WORDY = re.compile(r"[\u4e00-\u9fffA-Za-z]")
# A place is a gate (Item.scope, Item.area), not evidence: two matters in one village
# share its name and nothing else.
_PLACE = re.compile(r".+(村|社区|街道|镇|乡|县|区|市|省|组)$")
MIN_SHARED = 2  # content words a post must share with an event
_SPACE = re.compile(r"\s+")
_TFIDF: Any = None


def _tfidf() -> Any:
    global _TFIDF
    if _TFIDF is None:
        import jieba
        import jieba.analyse

        jieba.setLogLevel(60)
        _TFIDF = jieba.analyse.TFIDF()  # jieba's own IDF table, shipped with the package
    return _TFIDF


def _weights(text: str, tokens: Sequence[str] | None = None) -> dict[str, float]:
    t = _tfidf()
    words = [
        w
        for w in (t.tokenizer.cut(text) if tokens is None else tokens)
        if len(w.strip()) >= 2 and _WORDY.search(w) and w.lower() not in t.stop_words
    ]
    freq: dict[str, float] = {}
    for w in words:
        if w not in _FILLER and not _PLACE.match(w):
            freq[w] = freq.get(w, 0.0) + 1.0
    return {w: (1 + math.log(f)) * t.idf_freq.get(w, t.median_idf) for w, f in freq.items()}


def vector(
    title: str,
    text: str,
    top: int = TOP_TERMS,
    tokens: tuple[Sequence[str], Sequence[str]] | None = None,
) -> dict[str, float]:
    """The post's content-word vector: TF-IDF of its words (the title's counted twice
    over), the ``top`` strongest kept, L2-normalised. Empty for a post with no words.
    ``tokens``: the (title, text) words the classifier already cut, reused."""
    body = _weights(_SPACE.sub("", text or ""), tokens[1] if tokens else None)
    head = _weights(_SPACE.sub("", title or ""), tokens[0] if tokens else None)
    merged = dict(body)
    for w, v in head.items():
        merged[w] = merged.get(w, 0.0) + TITLE_WEIGHT * v
    return normalised(merged, top)


def normalised(weights: Mapping[str, float], top: int) -> dict[str, float]:
    best = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    norm = math.sqrt(sum(v * v for _, v in best))
    return {w: round(v / norm, 5) for w, v in best} if norm else {}


def cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(v * b.get(w, 0.0) for w, v in a.items())


@dataclass(slots=True)
class Item:
    """What clustering needs of a post."""

    vector: dict[str, float]
    at: datetime
    category: str | None = None
    scope: str | None = None  # the place below the county the text names, if any
    area: str | None = None  # the county-level area the post is placed in, if any


@dataclass(slots=True)
class Cluster:
    """An event as clustering sees it: the sum of its posts' vectors and its gates."""

    key: Any  # the event's id (or a placeholder for one not yet stored)
    centroid: dict[str, float] = field(default_factory=dict)
    last_at: datetime | None = None
    category: str | None = None
    scopes: set[str] = field(default_factory=set)
    areas: set[str] = field(default_factory=set)
    size: int = 0

    def add(self, item: Item) -> None:
        total = {w: v * self.size for w, v in self.centroid.items()}
        for w, v in item.vector.items():
            total[w] = total.get(w, 0.0) + v
        self.size += 1
        self.centroid = normalised(total, CENTROID_TERMS)
        if self.last_at is None or item.at > self.last_at:
            self.last_at = item.at
        if self.category is None:
            self.category = item.category
        if item.scope:
            self.scopes.add(item.scope)
        if item.area:
            self.areas.add(item.area)


def score(item: Item, cluster: Cluster, window: timedelta = WINDOW) -> float:
    """The match of ``item`` with ``cluster``, minus its gates' demands; 0 when a gate
    shuts (another named place, or an event quiet for longer than ``window``)."""
    if not item.vector or not cluster.centroid:
        return 0.0
    if cluster.last_at is not None and abs(item.at - cluster.last_at) > window:
        return 0.0
    if item.scope and cluster.scopes and item.scope not in cluster.scopes:
        return 0.0
    if item.area and cluster.areas and item.area not in cluster.areas:
        return 0.0
    if sum(w in cluster.centroid for w in item.vector) < min(MIN_SHARED, len(item.vector)):
        return 0.0
    s = cosine(item.vector, cluster.centroid)
    if item.category and cluster.category and item.category != cluster.category:
        s -= OTHER_CATEGORY_MARGIN
    return s


def best_match(
    item: Item,
    clusters: Iterable[Cluster],
    threshold: float = THRESHOLD,
    window: timedelta = WINDOW,
) -> Cluster | None:
    best: tuple[float, Cluster] | None = None
    for c in clusters:
        s = score(item, c, window)
        if s >= threshold and (best is None or s > best[0]):
            best = (s, c)
    return best[1] if best else None


def cluster_all(
    items: Iterable[Item], threshold: float = THRESHOLD, window: timedelta = WINDOW
) -> list[int]:
    """Incremental clustering of ``items`` in the order given (as they would arrive):
    each item's cluster number. For the benchmark; the store does the same per batch
    with candidates found through its term table."""
    clusters: list[Cluster] = []
    index: dict[str, set[int]] = {}
    out: list[int] = []
    for item in items:
        cands = {i for w in item.vector for i in index.get(w, ())}
        hit = best_match(item, (clusters[i] for i in sorted(cands)), threshold, window)
        if hit is None:
            hit = Cluster(len(clusters))
            clusters.append(hit)
        for w in hit.centroid:
            index.get(w, set()).discard(hit.key)
        hit.add(item)
        for w in hit.centroid:
            index.setdefault(w, set()).add(hit.key)
        out.append(hit.key)
    return out
