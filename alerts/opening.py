"""Opening an alert: one place for the row, its posts, its audit entry and its notifications.

The post rules, the spike detector and the source-health check all open alerts;
they differ only in what they say, so the bookkeeping that must never differ
(deadlines from the team's clock, the audit entry, the queued notifications in
the same transaction) lives here. ``mode`` says where the alert goes first: to
its team (``route``), to the duty desk (``triage``) or to the desk's backlog of
matters found late (``backlog``; alerts/triage.py); ``review`` routes it and asks the
desk for a second look, ``review_held`` holds it at the desk alone (复核).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from alerts.outbox import notify_alert
from alerts.status import Status
from alerts.triage import send_to_backlog, send_to_desk, send_to_review
from alerts.worktime import deadlines
from store.models import Alert, AlertPost, AuditLog
from yuqing.settings import AppConfig


def open_alert(
    session: Session,
    config: AppConfig,
    *,
    dedup_key: str,
    rule: str,
    tier: int,
    team_id: str,
    title: str,
    reason: str,
    now: datetime,
    post_ids: Sequence[int] = (),
    post_count: int | None = None,
    event_id: int | None = None,
    category: str | None = None,
    area: str | None = None,
    detail: dict[str, Any] | None = None,
    mode: str = "route",
    certain: Sequence[str] = (),
    signals: Sequence[dict[str, str]] = (),
) -> Alert:
    """Add an alert with its deadlines, posts, audit entry and queued notifications."""
    ack_by, respond_by = deadlines(config, team_id, tier, now)
    alert = Alert(
        dedup_key=dedup_key[:200],
        rule=rule,
        tier=tier,
        status=Status.OPEN,
        team_id=team_id,
        event_id=event_id,
        title=title,
        reason=reason,
        category=category,
        area=area,
        post_count=len(post_ids) if post_count is None else post_count,
        latest_post_id=post_ids[-1] if post_ids else None,
        opened_at=now,
        updated_at=now,
        ack_deadline=ack_by,
        respond_deadline=respond_by,
        routed_at=now if mode in ("route", "review") else None,
        triage="certain" if mode == "route" and certain and tier >= 3 else None,
        signals=list(signals),
    )
    session.add(alert)
    session.flush()
    for pid in post_ids:
        session.add(AlertPost(alert_id=alert.id, post_id=pid, added_at=now))
    session.add(
        AuditLog(
            at=now,
            actor="system",
            action="alert.open",
            target_type="alert",
            target_id=str(alert.id),
            detail={
                "rule": rule,
                "tier": tier,
                "team": team_id,
                "mode": mode,
                **({"certain": list(certain)} if certain else {}),
                **(detail or {}),
            },
        )  # fmt: skip
    )
    if mode == "triage":
        send_to_desk(session, config, alert, now)
    elif mode == "backlog":
        send_to_backlog(session, config, alert, now)
    elif mode == "review_held":
        send_to_review(session, config, alert, now, held=True)
    else:
        notify_alert(session, config, alert, "open", now)
        if mode == "review":
            send_to_review(session, config, alert, now, held=False)
    return alert
