"""Spike rule: posts of one category in one area in the last window against that
pair's own rolling baseline, by a Poisson upper-tail test."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.rules import post_time
from store.models import Post
from yuqing.settings import Rule


def poisson_sf(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam)."""
    if k <= 0:
        return 1.0
    term = math.exp(-lam)
    below = term
    for i in range(1, k):
        term *= lam / i
        below += term
    return max(0.0, 1.0 - below)


@dataclass(frozen=True, slots=True)
class Spike:
    rule: str
    area: str
    category: str
    count: int
    expected: float
    p: float
    post_ids: list[int]

    def reason(self, rule: Rule) -> str:
        mins = rule.window.total_seconds() / 60
        span = f"{mins / 60:g} 小时" if mins >= 60 else f"{mins:g} 分钟"
        return (
            f"帖子激增：{self.area}「{self.category}」{span}内 {self.count} 条，"
            f"基线期望 {self.expected:.2f} 条（泊松尾概率 {self.p:.1e}）"
        )


def detect_spike(
    session: Session, rule: Rule, area: str, category: str, now: datetime
) -> Spike | None:
    at = post_time()
    start = now - rule.window
    ids = list(
        session.scalars(
            select(Post.id).where(
                Post.area == area,
                Post.category == category,
                at > start,
                at <= now,
            )
        )
    )
    k = len(ids)
    if k < rule.min_count:
        return None
    base = (
        session.scalar(
            select(func.count()).where(
                Post.area == area,
                Post.category == category,
                at > start - rule.baseline,
                at <= start,
            )
        )
        or 0
    )
    windows = rule.baseline / rule.window
    # At least one post over the whole baseline: an empty history is not "zero expected".
    lam = max(base, 1) / windows
    p = poisson_sf(k, lam)
    if p >= rule.p_value:
        return None
    return Spike(rule.name, area, category, k, lam, p, sorted(ids))
