"""keyword: a post naming one of the rule's words (a watch list: 跳楼, 讨薪, 堵路 …)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from alerts.rules import Finding, RuleKind
from store.models import Post
from yuqing.settings import KeywordRule


class Keyword(RuleKind):
    kind = "keyword"

    def on_post(
        self, session: Session, rule: KeywordRule, post: Post, now: datetime
    ) -> Finding | None:
        body = f"{post.title}\n{post.text}"
        hits = [k for k in rule.keywords if k in body]
        if not hits:
            return None
        tier = max(rule.tier or post.severity, post.severity)
        return Finding(rule.name, tier, "关注词命中：" + "、".join(hits))
