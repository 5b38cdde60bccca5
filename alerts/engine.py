"""Turn newly stored posts into alerts: one alert per event that grows, never one per post.

Opening or raising an alert queues its notifications in the same transaction
(alerts/outbox.py); a matching silence (alerts/silences.py) keeps an alert from
opening and is written to the audit log instead. Deadlines count wall-clock time
for tiers I-II and the team's working time for III-IV (alerts/worktime.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.aftermath import maybe_reopen
from alerts.opening import open_alert
from alerts.outbox import notify_alert
from alerts.routing import Router
from alerts.rules import evaluate_event, evaluate_post
from alerts.silences import matching_silence
from alerts.spike import Spike, detect_spike
from alerts.worktime import deadlines
from store.models import Alert, AlertPost, AuditLog, Post
from store.models import Team as TeamRow
from yuqing.settings import AppConfig, Rule


@dataclass(slots=True)
class EvaluationStats:
    posts: int = 0
    opened: int = 0
    grown: int = 0
    silenced: int = 0
    reopened: int = 0
    spikes: int = 0


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
    rules = list(config.alerts.rules)
    touched: set[tuple[str, str]] = set()
    for post in posts:
        stats.posts += 1
        post.evaluated = True
        if post.area and post.category:
            touched.add((post.area, post.category))
        findings = evaluate_post(rules, post) + evaluate_event(session, rules, post, now)
        if not findings:
            continue
        top = max(findings, key=lambda f: f.tier)
        dedup_key = f"event:{post.event_id}" if post.event_id else f"post:{post.id}"
        alert = session.scalars(select(Alert).where(Alert.dedup_key == dedup_key)).first()
        reason = "；".join(f.reason for f in findings)
        silence = matching_silence(
            session, now, rule=top.rule, areas=router.areas(post.area), event_id=post.event_id
        )
        if alert is None and silence is not None:
            session.add(
                AuditLog(
                    at=now,
                    actor="system",
                    action="alert.silenced",
                    target_type="post",
                    target_id=str(post.id),
                    detail={"silence_id": silence.id, "rule": top.rule, "tier": top.tier},
                )
            )
            stats.silenced += 1
            continue
        if alert is None:
            open_alert(
                session,
                config,
                dedup_key=dedup_key,
                rule=top.rule,
                tier=top.tier,
                team_id=router.route(post.area, post.category, post.uncertain),
                title=post.title or post.text[:60],
                reason=reason,
                now=now,
                post_ids=[post.id],
                event_id=post.event_id,
                category=post.category,
                area=post.area,
                detail={"post_id": post.id},
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
            ack_by, respond_by = deadlines(config, alert.team_id, top.tier, now)
            alert.tier = top.tier
            alert.reason = reason
            alert.ack_deadline = min(alert.ack_deadline, ack_by)
            alert.respond_deadline = min(alert.respond_deadline, respond_by)
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
        if not already and maybe_reopen(session, config, alert, raised, now):
            stats.reopened += 1
        elif raised and silence is None and alert.status != "resolved":
            notify_alert(session, config, alert, "raise", now, key=str(alert.tier))
        stats.grown += 1
    for area, category in sorted(touched):
        stats.spikes += _spikes(session, config, router, area, category, now)
    return stats


def _spikes(
    session: Session, config: AppConfig, router: Router, area: str, category: str, now: datetime
) -> int:
    """Open a spike alert for the pair unless one is still active (a spike fires once)."""
    opened = 0
    for rule in config.alerts.rules:
        if not rule.enabled or rule.kind != "spike":
            continue
        active = session.scalar(
            select(Alert.id).where(
                Alert.rule == rule.name,
                Alert.area == area,
                Alert.category == category,
                Alert.status != "resolved",
            )
        )
        if active is not None:
            continue
        spike = detect_spike(session, rule, area, category, now)
        if spike is None:
            continue
        if matching_silence(session, now, rule=rule.name, areas=router.areas(area), event_id=None):
            continue
        _open_spike(session, config, router, rule.tier or 2, spike, rule, now)
        opened += 1
    return opened


def _open_spike(
    session: Session,
    config: AppConfig,
    router: Router,
    tier: int,
    spike: Spike,
    rule: Rule,
    now: datetime,
) -> None:
    open_alert(
        session,
        config,
        dedup_key=f"spike:{rule.name}:{spike.area}:{spike.category}:{now.isoformat()}",
        rule=rule.name,
        tier=tier,
        team_id=router.route(spike.area, spike.category),
        title=f"{spike.area}「{spike.category}」类诉求激增",
        reason=spike.reason(rule),
        now=now,
        post_ids=spike.post_ids,
        post_count=spike.count,
        category=spike.category,
        area=spike.area,
        detail={"count": spike.count, "expected": round(spike.expected, 4), "p": spike.p},
    )
