"""Deadlines and escalation, kept in the database and checked periodically.

When an alert's acknowledge deadline (while open) or respond deadline (until a
reply) passes, it escalates one level up its team's chain (grid -> community ->
street/township -> county): an ``alert_escalations`` row (one per level, ever),
``escalation_level`` += 1, an ``alert.escalate`` audit row, a notification to the
team at that level and a reminder to the owning team. While nobody acts it climbs
again one acknowledge window later, up to the top of the chain. Escalation times
are computed from the deadlines, not from when the check ran, so a scheduler that
was down catches up with the same steps it would have taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from alerts.outbox import notify_alert
from alerts.status import Status
from alerts.worktime import add_window
from store.alerting_models import AlertEscalation
from store.models import Alert, AuditLog
from yuqing.settings import AppConfig


@dataclass(slots=True)
class EscalationStats:
    checked: int = 0
    escalated: int = 0  # escalation steps taken
    reminded: int = 0  # "deadline near" notifications queued
    failed_open: int = 0  # triage windows that ended undecided: routed as if confirmed


def chain(config: AppConfig, team_id: str) -> list[str]:
    """The teams above ``team_id``, nearest first."""
    teams = config.teams.by_id()
    out: list[str] = []
    cur = teams[team_id].parent if team_id in teams else None
    while cur is not None:
        out.append(cur)
        cur = teams[cur].parent
    return out


def missed_deadline(alert: Alert, now: datetime) -> tuple[str, datetime] | None:
    if alert.status == Status.OPEN and alert.ack_deadline <= now:
        return "acknowledge", alert.ack_deadline
    if alert.status in (Status.OPEN, Status.ACKNOWLEDGED) and alert.respond_deadline <= now:
        return "respond", alert.respond_deadline
    return None


def remind_due(session: Session, config: AppConfig, now: datetime) -> int:
    """Remind the owning team once ``notify.remind_at`` of a deadline's window has
    passed without action (once per deadline: a changed deadline reminds again)."""
    share = config.alerts.notify.remind_at
    if share <= 0:
        return 0
    sent = 0
    active = session.scalars(
        select(Alert).where(Alert.status.in_((Status.OPEN, Status.ACKNOWLEDGED))).order_by(Alert.id)
    ).all()
    for alert in active:
        pending = [("respond", alert.respond_deadline)]
        if alert.status == Status.OPEN:
            pending.insert(0, ("acknowledge", alert.ack_deadline))
        for which, deadline in pending:
            start = (
                alert.opened_at
                if which == "acknowledge"
                else (alert.acknowledged_at or alert.opened_at)
            )
            if deadline <= now or start >= deadline or now < start + (deadline - start) * share:
                continue
            label = "确认" if which == "acknowledge" else "回复"
            note = f"{label}时限将至：{deadline.astimezone(timezone_of(config)):%m-%d %H:%M}"
            key = f"{which}:{deadline.isoformat()}"
            sent += notify_alert(session, config, alert, "due", now, key=key, note=note)
            break  # one reminder at a time: the nearer deadline
    return sent


def timezone_of(config: AppConfig) -> ZoneInfo:
    return ZoneInfo(config.settings.timezone)


def check_deadlines(session: Session, config: AppConfig, now: datetime) -> EscalationStats:
    from alerts.triage import expire

    stats = EscalationStats()
    stats.failed_open = expire(session, config, now)
    stats.reminded = remind_due(session, config, now)
    due = session.scalars(
        select(Alert)
        .where(
            or_(
                and_(Alert.status == Status.OPEN, Alert.ack_deadline <= now),
                and_(
                    Alert.status.in_((Status.OPEN, Status.ACKNOWLEDGED)),
                    Alert.respond_deadline <= now,
                ),
            )
        )
        .order_by(Alert.id)
    ).all()
    for alert in due:
        stats.checked += 1
        missed = missed_deadline(alert, now)
        if missed is None:
            continue
        which, deadline = missed
        up = chain(config, alert.team_id)
        teams = config.teams.by_id()
        last = session.scalars(
            select(AlertEscalation)
            .where(AlertEscalation.alert_id == alert.id)
            .order_by(AlertEscalation.level.desc())
            .limit(1)
        ).first()
        level = last.level if last else 0
        prev_at = last.at if last else None
        window = config.alerts.tiers[alert.tier].acknowledge
        while level < len(up):
            step_at = deadline
            if prev_at is not None:
                step_at = max(
                    deadline, add_window(config, alert.team_id, alert.tier, prev_at, window)
                )
            if step_at > now:
                break
            level += 1
            target = up[level - 1]
            session.add(
                AlertEscalation(
                    alert_id=alert.id, level=level, team_id=target, deadline=which, at=step_at
                )
            )
            alert.escalation_level = max(alert.escalation_level, level)
            alert.updated_at = now
            session.add(
                AuditLog(
                    at=now,
                    actor="system",
                    action="alert.escalate",
                    target_type="alert",
                    target_id=str(alert.id),
                    detail={
                        "level": level,
                        "team": target,
                        "deadline": which,
                        "due": deadline.isoformat(),
                        "step_at": step_at.isoformat(),
                    },
                )
            )
            note = (
                f"{'确认' if which == 'acknowledge' else '回复'}超时，"
                f"已上报第 {level} 级：{teams[target].name}（{target}）"
            )
            notify_alert(
                session, config, alert, "escalate", now, team_id=target, key=str(level), note=note
            )
            notify_alert(session, config, alert, "reminder", now, key=str(level), note=note)
            session.flush()
            stats.escalated += 1
            prev_at = step_at
    return stats


def escalations(session: Session, alert_id: int) -> list[AlertEscalation]:
    return list(
        session.scalars(
            select(AlertEscalation)
            .where(AlertEscalation.alert_id == alert_id)
            .order_by(AlertEscalation.level)
        )
    )
