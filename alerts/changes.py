"""Changing an alert's tier or team takes effect at once: deadlines and pending
notifications are recomputed in the same transaction, with a history entry.

Whoever changes it — a correction in the console, the duty desk's triage, the
matter growing — goes through :func:`change_alert`, so an alert corrected from
tier III to II gets II's deadlines and an immediate notification, never III's
15 working hours and a notice waiting for the morning.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.outbox import notify_alert
from alerts.status import ACTIVE_STATUSES
from alerts.worktime import deadlines
from store.alerting_models import NotificationOutbox
from store.models import Alert, AuditLog, Response
from yuqing.contracts import tier_name
from yuqing.settings import AppConfig

# Notifications that speak for the alert's old tier or team; superseded by a change.
STALE_KINDS = ("open", "raise", "due", "retier", "reassign", "triage")


def record(
    session: Session,
    alert: Alert,
    action: str,
    actor: str,
    now: datetime,
    text: str | None,
    detail: dict[str, Any],
    channel: str | None = None,
) -> None:
    """One step of an alert's history: the Response row people read and the audit row."""
    session.add(
        Response(alert_id=alert.id, action=action, actor=actor, text=text, channel=channel, at=now)
    )
    session.add(
        AuditLog(
            at=now,
            actor=actor,
            action=f"alert.{action}",
            target_type="alert",
            target_id=str(alert.id),
            detail=detail,
        )
    )


def cancel_pending(session: Session, alert_id: int, why: str, kinds: tuple[str, ...]) -> int:
    """Mark the alert's unsent notifications of ``kinds`` cancelled (kept, never sent)."""
    rows = session.scalars(
        select(NotificationOutbox).where(
            NotificationOutbox.alert_id == alert_id,
            NotificationOutbox.status == "pending",
            NotificationOutbox.kind.in_(kinds),
        )
    ).all()
    for row in rows:
        row.status = "cancelled"
        row.last_error = why
    return len(rows)


def retime(config: AppConfig, alert: Alert, old_tier: int, now: datetime) -> None:
    """New deadlines for a routed alert after its tier or team changed.

    A raise tightens: the new tier's windows from now, where earlier than today's
    deadlines. Otherwise the windows count from when the team got the alert (a move
    does not restart the matter's clock) on the owning team's calendar, and a
    lowering never makes a deadline earlier than it was.
    """
    if alert.tier > old_tier:
        ack_by, respond_by = deadlines(config, alert.team_id, alert.tier, now)
        alert.ack_deadline = min(alert.ack_deadline, ack_by)
        alert.respond_deadline = min(alert.respond_deadline, respond_by)
        return
    start = alert.routed_at or alert.opened_at
    ack_by, respond_by = deadlines(config, alert.team_id, alert.tier, start)
    if alert.tier < old_tier:
        ack_by = max(ack_by, alert.ack_deadline)
        respond_by = max(respond_by, alert.respond_deadline)
    alert.ack_deadline, alert.respond_deadline = ack_by, respond_by


def change_alert(
    session: Session,
    config: AppConfig,
    alert: Alert,
    *,
    actor: str,
    now: datetime,
    tier: int | None = None,
    team_id: str | None = None,
    reason: str = "",
    action: str = "retier",
) -> dict[str, Any]:
    """Set a routed alert's tier and/or team, recompute its deadlines and notifications,
    and write the history (a Response row) and the audit log. Returns what changed."""
    old_tier, old_team = alert.tier, alert.team_id
    changed: dict[str, Any] = {}
    if tier is not None and tier != alert.tier:
        changed["tier"] = [tier_name(old_tier), tier_name(tier)]
        alert.tier = tier
    if team_id is not None and team_id != alert.team_id:
        changed["team"] = [old_team, team_id]
        alert.team_id = team_id
    if not changed:
        return changed
    alert.updated_at = now
    if alert.status in ACTIVE_STATUSES:
        before = (alert.ack_deadline, alert.respond_deadline)
        retime(config, alert, old_tier, now)
        if (alert.ack_deadline, alert.respond_deadline) != before:
            changed["deadlines"] = [
                [before[0].isoformat(), before[1].isoformat()],
                [alert.ack_deadline.isoformat(), alert.respond_deadline.isoformat()],
            ]
        why = f"superseded by {action} at {now.isoformat()}"
        cancelled = cancel_pending(session, alert.id, why, STALE_KINDS)
        if cancelled:
            changed["cancelled_notifications"] = cancelled
        kind = "raise" if alert.tier > old_tier else ("reassign" if "team" in changed else "retier")
        note = "；".join(_describe(changed)) + (f"。{reason}" if reason else "")
        notify_alert(session, config, alert, kind, now, key=now.isoformat(), note=note)
        if "team" in changed and alert.tier > 1:
            # the old team hears that it is no longer theirs (tier IV waits for no one)
            notify_alert(
                session, config, alert, "reassign", now, team_id=old_team,
                key=f"from:{now.isoformat()}", note=note,
            )  # fmt: skip
    text = "；".join(_describe(changed)) + (f"。{reason}" if reason else "")
    record(
        session, alert, action, actor, now, text, changed | ({"reason": reason} if reason else {})
    )
    session.flush()
    return changed


def _describe(changed: dict[str, Any]) -> list[str]:
    out = []
    if "tier" in changed:
        a, b = changed["tier"]
        out.append(f"等级 {a} → {b}")
    if "team" in changed:
        a, b = changed["team"]
        out.append(f"责任单位 {a} → {b}")
    if "deadlines" in changed:
        out.append("时限已按新等级重算")
    return out
