"""Silences: mute a rule, an area (and the places inside it) or an event until a time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from store.alerting_models import AlertSilence
from store.models import AuditLog


class SilenceError(ValueError):
    """A silence that matches nothing or has already ended."""


def add_silence(
    session: Session,
    *,
    now: datetime,
    until: datetime,
    created_by: str,
    reason: str,
    rule: str | None = None,
    area: str | None = None,
    event_id: int | None = None,
) -> AlertSilence:
    if rule is None and area is None and event_id is None:
        raise SilenceError(
            "请指定要静默的规则、属地或事件 / a silence needs a rule, an area or an event"
        )
    if until <= now:
        raise SilenceError("静默的结束时间须在将来 / a silence must end in the future")
    if not reason.strip():
        raise SilenceError("请填写静默的理由 / a silence needs a reason")
    row = AlertSilence(
        rule=rule,
        area=area,
        event_id=event_id,
        starts_at=now,
        until=until,
        created_by=created_by,
        reason=reason.strip(),
    )
    session.add(row)
    session.flush()
    session.add(
        AuditLog(
            at=now,
            actor=created_by,
            action="silence.add",
            target_type="silence",
            target_id=str(row.id),
            detail=silence_as_dict(row),
        )
    )
    return row


def silence_as_dict(s: AlertSilence) -> dict[str, Any]:
    return {
        "id": s.id,
        "rule": s.rule,
        "area": s.area,
        "event_id": s.event_id,
        "starts_at": s.starts_at.isoformat(),
        "until": s.until.isoformat(),
        "created_by": s.created_by,
        "reason": s.reason,
    }


def matching_silence(
    session: Session,
    now: datetime,
    *,
    rule: str,
    areas: list[str],
    event_id: int | None,
) -> AlertSilence | None:
    """The first active silence whose every given field matches (``areas``: the
    post's area and the areas containing it)."""
    rows = session.scalars(
        select(AlertSilence)
        .where(AlertSilence.starts_at <= now, AlertSilence.until > now)
        .where(or_(AlertSilence.rule.is_(None), AlertSilence.rule == rule))
        .order_by(AlertSilence.id)
    )
    for s in rows:
        if s.area is not None and s.area not in areas:
            continue
        if s.event_id is not None and s.event_id != event_id:
            continue
        return s
    return None


def active_silences(session: Session, now: datetime) -> list[AlertSilence]:
    return list(
        session.scalars(
            select(AlertSilence).where(AlertSilence.until > now).order_by(AlertSilence.id)
        )
    )
