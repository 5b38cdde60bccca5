"""spike: posts of one category in one area in the last window against that pair's
own rolling baseline, by a Poisson upper-tail test."""

from __future__ import annotations

from datetime import datetime

from scipy.special import gammainc  # type: ignore[import-untyped]
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.rules import PairFinding, RuleKind, post_time
from store.models import Post
from yuqing.settings import SpikeRule


def poisson_sf(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam).

    That tail is the regularised lower incomplete gamma function P(k, lam). SciPy computes it
    without forming exp(-lam) (which underflows to 0 for lam > 745, when a summed series says
    p = 1 and the rule never fires) and without 1 - (sum below k), which loses every digit
    once the tail is under 1e-16."""
    if k <= 0:
        return 1.0
    return float(gammainc(k, lam))


class Spike(RuleKind):
    kind = "spike"
    looks_at = "pair"

    def on_pair(
        self, session: Session, rule: SpikeRule, area: str, category: str, now: datetime
    ) -> PairFinding | None:
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
        mins = rule.window.total_seconds() / 60
        span = f"{mins / 60:g} 小时" if mins >= 60 else f"{mins:g} 分钟"
        return PairFinding(
            rule=rule.name,
            tier=rule.tier or 2,
            area=area,
            category=category,
            title=f"{area}「{category}」类诉求激增",
            reason=(
                f"帖子激增：{area}「{category}」{span}内 {k} 条，"
                f"基线期望 {lam:.2f} 条（泊松尾概率 {p:.1e}）"
            ),
            post_ids=sorted(ids),
            detail={"count": k, "expected": round(lam, 4), "p": p},
        )
