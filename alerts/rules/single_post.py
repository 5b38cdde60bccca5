"""single_post: a post the classifier graded at ``min_tier`` or above."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from alerts.rules import Finding, RuleKind
from store.models import Post
from yuqing.contracts import TIER_LABELS_ZH, tier_name
from yuqing.settings import SinglePostRule


class SinglePost(RuleKind):
    kind = "single_post"

    def on_post(
        self, session: Session, rule: SinglePostRule, post: Post, now: datetime
    ) -> Finding | None:
        if post.severity < rule.min_tier:
            return None
        label = f"{tier_name(post.severity)} {TIER_LABELS_ZH[post.severity]}"
        why = "；".join(post.reasons[:3]) if post.reasons else ""
        return Finding(rule.name, post.severity, f"单帖分级 {label}" + (f"：{why}" if why else ""))
