"""Alert rules from config/alerts.yaml. Each rule yields a tier and a reason, or nothing.

``single_post`` and ``keyword`` look at one post; ``growing_event`` counts the
distinct authors of the post's event within a window; ``spike`` (alerts/spike.py)
compares one category in one area against its own baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from store.models import Post
from yuqing.contracts import TIER_LABELS_ZH, tier_name
from yuqing.settings import Rule


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    tier: int
    reason: str


def post_time() -> ColumnElement[datetime]:
    """When a post happened: published, else when we first fetched it."""
    return func.coalesce(Post.published_at, Post.fetched_at)


def evaluate_post(rules: list[Rule], post: Post) -> list[Finding]:
    out: list[Finding] = []
    body = f"{post.title}\n{post.text}"
    for rule in rules:
        if not rule.enabled:
            continue
        if rule.kind == "single_post" and post.severity >= rule.min_tier:
            label = f"{tier_name(post.severity)} {TIER_LABELS_ZH[post.severity]}"
            why = "；".join(post.reasons[:3]) if post.reasons else ""
            out.append(
                Finding(rule.name, post.severity, f"单帖分级 {label}" + (f"：{why}" if why else ""))
            )
        elif rule.kind == "keyword":
            hits = [k for k in rule.keywords if k in body]
            if hits:
                tier = rule.tier or post.severity
                out.append(
                    Finding(rule.name, max(tier, post.severity), "关注词命中：" + "、".join(hits))
                )
    return out


def evaluate_event(session: Session, rules: list[Rule], post: Post, now: datetime) -> list[Finding]:
    """growing_event: one matter posted by at least ``min_authors`` distinct people."""
    out: list[Finding] = []
    if post.event_id is None:
        return out
    for rule in rules:
        if not rule.enabled or rule.kind != "growing_event":
            continue
        at = post_time()
        authors = session.scalar(
            select(func.count(func.distinct(Post.author))).where(
                Post.event_id == post.event_id,
                Post.author.is_not(None),
                at > now - rule.window,
                at <= now,
            )
        )
        if authors and authors >= rule.min_authors:
            hours = rule.window.total_seconds() / 3600
            tier = max(rule.tier or 2, post.severity)
            out.append(
                Finding(rule.name, tier, f"事件扩散：{hours:g} 小时内 {authors} 位不同作者发帖")
            )
    return out
