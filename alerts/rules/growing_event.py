"""growing_event: one matter posted by at least ``min_authors`` distinct people
within the rule's window."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.rules import Finding, RuleKind, post_time
from store.models import Post
from yuqing.settings import GrowingEventRule


class GrowingEvent(RuleKind):
    kind = "growing_event"

    def on_post(
        self, session: Session, rule: GrowingEventRule, post: Post, now: datetime
    ) -> Finding | None:
        if post.event_id is None:
            return None
        at = post_time()
        authors = session.scalar(
            select(func.count(func.distinct(Post.author))).where(
                Post.event_id == post.event_id,
                Post.author.is_not(None),
                at > now - rule.window,
                at <= now,
            )
        )
        if not authors or authors < rule.min_authors:
            return None
        hours = rule.window.total_seconds() / 3600
        tier = max(rule.tier or 2, post.severity)
        return Finding(rule.name, tier, f"事件扩散：{hours:g} 小时内 {authors} 位不同作者发帖")
