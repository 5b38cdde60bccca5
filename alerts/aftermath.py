"""After a reply: did the matter calm down? And a flare-up that reopens a resolved alert.

The posts behind an alert (``alert_posts``) in the window before the first reply
are compared with those in the same length of time after it: their number and
their highest tier. A resolved alert whose event keeps growing (``reopen_posts``
new posts since it was resolved, or one post above the alert's tier) reopens
with fresh deadlines and notifies its team again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alerts.outbox import notify_alert
from alerts.status import Status
from alerts.worktime import deadlines
from store.models import Alert, AlertPost, AuditLog, Post, Response
from yuqing.contracts import tier_name
from yuqing.settings import AppConfig


def aftermath(session: Session, config: AppConfig, alert: Alert, now: datetime) -> dict[str, Any]:
    """{"status": "pending" | "watching" | "calmed" | "flaring", before/after counts and tiers}."""
    window = config.alerts.aftermath.window
    out: dict[str, Any] = {"window_days": window.total_seconds() / 86400}
    if alert.responded_at is None:
        return {**out, "status": "pending"}
    t = alert.responded_at
    at = func.coalesce(Post.published_at, Post.fetched_at)
    # When a post entered the alert counts: a repost of an old matter is new noise now.
    when = func.coalesce(AlertPost.added_at, at)

    def span(lo: datetime, hi: datetime, closed: bool = False) -> tuple[int, int | None]:
        top = when <= hi if closed else when < hi
        row = session.execute(
            select(func.count(), func.max(Post.severity))
            .select_from(AlertPost)
            .join(Post, Post.id == AlertPost.post_id)
            .where(AlertPost.alert_id == alert.id, when >= lo, top)
        ).one()
        return int(row[0]), row[1]

    before, before_tier = span(t - window, t)
    after, after_tier = span(t, min(now, t + window), closed=True)
    complete = now >= t + window
    if after > before or (after_tier or 0) > (before_tier or 0):
        status = "flaring"
    elif complete:
        status = "calmed"
    else:
        status = "watching"
    return {
        **out,
        "status": status,
        "responded_at": t.isoformat(),
        "before": before,
        "after": after,
        "before_max_tier": tier_name(before_tier) if before_tier else None,
        "after_max_tier": tier_name(after_tier) if after_tier else None,
    }


def maybe_reopen(
    session: Session, config: AppConfig, alert: Alert, raised: bool, now: datetime
) -> bool:
    """Reopen a resolved alert whose matter flared up again (``raised``: the new post
    was above the alert's tier); True when it did."""
    if alert.status != Status.RESOLVED or alert.resolved_at is None:
        return False
    policy = config.alerts.aftermath
    since = (
        session.scalar(
            select(func.count())
            .select_from(AlertPost)
            .where(AlertPost.alert_id == alert.id, AlertPost.added_at > alert.resolved_at)
        )
        or 0
    )
    higher = policy.reopen_on_higher_tier and raised
    if since < policy.reopen_posts and not higher:
        return False
    why = f"办结后新增 {since} 条相关帖子" if since >= policy.reopen_posts else "出现更高级别帖子"
    tier = alert.tier
    ack_by, respond_by = deadlines(config, alert.team_id, tier, now)
    before = alert.status
    alert.status = Status.OPEN
    alert.resolved_at = None
    alert.ack_deadline, alert.respond_deadline = ack_by, respond_by
    alert.updated_at = now
    text = f"舆情反弹，自动重开：{why}"
    session.add(
        Response(
            alert_id=alert.id, action="reopen", actor="system", text=text, channel=None, at=now
        )
    )
    session.add(
        AuditLog(
            at=now,
            actor="system",
            action="alert.reopen",
            target_type="alert",
            target_id=str(alert.id),
            detail={"from": before, "to": "open", "why": why, "new_posts": since, "tier": tier},
        )
    )
    notify_alert(session, config, alert, "reopen", now, key=now.isoformat(), note=text)
    return True
