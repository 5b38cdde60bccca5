"""Turn newly stored posts into alerts: one alert per event that grows, never one per post."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.routing import Router
from alerts.rules import evaluate_post
from store.models import Alert, AlertPost, AuditLog, Post
from store.models import Team as TeamRow
from yuqing.settings import AppConfig


@dataclass(slots=True)
class EvaluationStats:
    posts: int = 0
    opened: int = 0
    grown: int = 0


def sync_teams(session: Session, config: AppConfig) -> None:
    """Mirror config/teams.yaml into the store so alerts can reference teams."""
    existing = {t.id: t for t in session.scalars(select(TeamRow))}
    for t in config.teams.teams:
        row = existing.pop(t.id, None)
        if row is None:
            session.add(
                TeamRow(id=t.id, name=t.name, level=t.level, parent_id=t.parent, active=True)
            )
        else:
            row.name, row.level, row.parent_id, row.active = t.name, t.level, t.parent, True
    for row in existing.values():  # removed from config: keep for history, mark inactive
        row.active = False


def evaluate_new_posts(
    session: Session, config: AppConfig, router: Router, now: datetime, limit: int = 1000
) -> EvaluationStats:
    stats = EvaluationStats()
    posts = session.scalars(
        select(Post).where(Post.evaluated.is_(False)).order_by(Post.id).limit(limit)
    ).all()
    policy = config.alerts.tiers
    for post in posts:
        stats.posts += 1
        post.evaluated = True
        findings = evaluate_post(list(config.alerts.rules), post)
        if not findings:
            continue
        top = max(findings, key=lambda f: f.tier)
        dedup_key = f"event:{post.event_id}" if post.event_id else f"post:{post.id}"
        alert = session.scalars(select(Alert).where(Alert.dedup_key == dedup_key)).first()
        reason = "；".join(f.reason for f in findings)
        if alert is None:
            team = router.route(post.area, post.category, post.uncertain)
            tp = policy[top.tier]
            alert = Alert(
                dedup_key=dedup_key,
                rule=top.rule,
                tier=top.tier,
                status="open",
                team_id=team,
                event_id=post.event_id,
                title=post.title or post.text[:60],
                reason=reason,
                category=post.category,
                area=post.area,
                post_count=1,
                latest_post_id=post.id,
                opened_at=now,
                updated_at=now,
                ack_deadline=now + tp.acknowledge,
                respond_deadline=now + tp.respond,
            )
            session.add(alert)
            session.flush()
            session.add(AlertPost(alert_id=alert.id, post_id=post.id, added_at=now))
            session.add(
                AuditLog(
                    at=now,
                    actor="system",
                    action="alert.open",
                    target_type="alert",
                    target_id=str(alert.id),
                    detail={"post_id": post.id, "tier": top.tier, "team": team, "rule": top.rule},
                )
            )
            stats.opened += 1
            continue
        already = session.get(AlertPost, (alert.id, post.id)) is not None
        raised = top.tier > alert.tier
        if already and not raised:
            continue  # an edit or new likes on a post the alert already holds
        if not already:
            session.add(AlertPost(alert_id=alert.id, post_id=post.id, added_at=now))
            alert.post_count += 1
            alert.latest_post_id = post.id
        alert.updated_at = now
        if raised:
            # A raised tier tightens the deadlines; it never loosens them.
            tp = policy[top.tier]
            alert.tier = top.tier
            alert.reason = reason
            alert.ack_deadline = min(alert.ack_deadline, now + tp.acknowledge)
            alert.respond_deadline = min(alert.respond_deadline, now + tp.respond)
        session.add(
            AuditLog(
                at=now,
                actor="system",
                action="alert.raise" if raised else "alert.grow",
                target_type="alert",
                target_id=str(alert.id),
                detail={"post_id": post.id, "tier": alert.tier},
            )
        )
        stats.grown += 1
    return stats
