"""Tables of the alerts stage: notification outbox, escalations, silences, scheduler lock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    Unicode,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base


class NotificationOutbox(Base):
    """One notification for one channel. Queued in the same transaction as the change
    it reports, so it is never lost; sent by the delivery job with retries and backoff.
    ``dedup_key`` makes queueing idempotent: a repeated check never notifies twice."""

    __tablename__ = "notification_outbox"
    __table_args__ = (Index("ix_notification_outbox_status_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    team_id: Mapped[str] = mapped_column(String(80))
    channel: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))  # open, raise, escalate, reminder, digest
    tier: Mapped[int]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    batchable: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]  # first: when quiet hours end; then backoff
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]


class AlertEscalation(Base):
    """One step up an alert's escalation chain; (alert, level) is taken once only."""

    __tablename__ = "alert_escalations"
    __table_args__ = (UniqueConstraint("alert_id", "level"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"))
    level: Mapped[int]
    team_id: Mapped[str] = mapped_column(String(80))  # the team notified at this level
    deadline: Mapped[str] = mapped_column(String(20))  # acknowledge or respond
    at: Mapped[datetime]


class AlertSilence(Base):
    """Mute a rule, an area or an event until a time; who and why are kept."""

    __tablename__ = "alert_silences"
    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str | None] = mapped_column(String(80))
    area: Mapped[str | None] = mapped_column(String(80))
    event_id: Mapped[int | None]
    starts_at: Mapped[datetime]
    until: Mapped[datetime] = mapped_column(index=True)
    created_by: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)


class SchedulerLock(Base):
    """A lease: only the holder's scheduler runs jobs; it renews before ``expires_at``."""

    __tablename__ = "scheduler_locks"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class SchedulerJob(Base):
    """APScheduler's SQLAlchemy job store table (created here so migrations own it;
    the columns are the ones apscheduler.jobstores.sqlalchemy defines)."""

    __tablename__ = "scheduler_jobs"
    id: Mapped[str] = mapped_column(Unicode(191), primary_key=True)
    next_run_time: Mapped[float | None] = mapped_column(Float(25), index=True)
    job_state: Mapped[bytes] = mapped_column(LargeBinary)
