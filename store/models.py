"""SQLAlchemy 2 models. Every change here needs an Alembic migration (tests check)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in Python, naive UTC in the column: SQLite keeps no zone."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[str]: JSON()}


class SourceRow(Base):
    __tablename__ = "sources"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_crawl_at: Mapped[datetime | None]
    last_ok_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    crawls: Mapped[int] = mapped_column(default=0)
    items_total: Mapped[int] = mapped_column(default=0)


class Event(Base):
    """A cluster of posts about one matter."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(40))
    area: Mapped[str | None] = mapped_column(String(80))
    severity: Mapped[int] = mapped_column(default=1)
    post_count: Mapped[int] = mapped_column(default=0)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    # analysis.events: the sum of its posts' content-word vectors (trimmed), and the
    # event staff merged this one into (its posts moved there; new posts follow)
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("events.id"))


class EventTerm(Base):
    """An event's strongest content words: new posts find candidate events by them."""

    __tablename__ = "event_terms"
    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), primary_key=True, index=True)


class EventPin(Base):
    """A post staff put in an event by hand (merge or split): re-clustering keeps it."""

    __tablename__ = "event_pins"
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    actor: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime]


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (
        Index("ix_posts_source_url", "source", "url"),
        Index("ix_posts_published_at", "published_at"),
        Index("ix_posts_evaluated", "evaluated"),
        Index("ix_posts_event_id", "event_id"),  # an event's posts (event page, linking)
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(512), unique=True)
    source: Mapped[str] = mapped_column(String(80))
    external_id: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)  # masked; raw text is never stored in clear
    author: Mapped[str | None] = mapped_column(String(200))
    published_at: Mapped[datetime | None]
    fetched_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    area: Mapped[str | None] = mapped_column(String(80))
    likes: Mapped[int] = mapped_column(default=0)
    replies: Mapped[int] = mapped_column(default=0)
    reply_text: Mapped[str | None] = mapped_column(Text)
    reply_at: Mapped[datetime | None]
    category: Mapped[str | None] = mapped_column(String(40))
    category_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    uncertain: Mapped[bool] = mapped_column(Boolean, default=False)
    severity: Mapped[int] = mapped_column(default=1)
    # the learned model's tier I-II probability; review: the desk takes a second look
    severe_p: Mapped[float | None] = mapped_column(Float)
    review: Mapped[bool] = mapped_column(Boolean, default=False)
    # 负面倾向: the negativity model's estimate, 0..1 (None: no model when it was stored)
    negativity: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[list[str]] = mapped_column(default=list)
    model_version: Mapped[str] = mapped_column(String(80), default="")
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    evaluated: Mapped[bool] = mapped_column(Boolean, default=False)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)

    event: Mapped[Event | None] = relationship()


class PostSighting(Base):
    """Which sources carried a post: incremental crawling asks per source, and one
    matter reported on the board and in the feed stays one post."""

    __tablename__ = "post_sightings"
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), primary_key=True)
    source: Mapped[str] = mapped_column(String(80), primary_key=True)
    url_key: Mapped[str] = mapped_column(String(512), index=True)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]


class Team(Base):
    """Mirror of config/teams.yaml, synced at start so alerts can reference teams."""

    __tablename__ = "teams"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[str | None] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_status_team", "status", "team_id"),
        Index("ix_alerts_event_id", "event_id"),  # an event's alerts (event page, engine)
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    rule: Mapped[str] = mapped_column(String(80))
    tier: Mapped[int]  # severity 1..4, 4 = tier I
    status: Mapped[str] = mapped_column(String(20), default="open")
    team_id: Mapped[str] = mapped_column(ForeignKey("teams.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    title: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(40))
    area: Mapped[str | None] = mapped_column(String(80))
    post_count: Mapped[int] = mapped_column(default=1)
    latest_post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"))
    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    ack_deadline: Mapped[datetime]
    respond_deadline: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    responded_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    escalation_level: Mapped[int] = mapped_column(default=0)
    # 研判 (alerts/triage.py): the duty desk deciding, by when, and how it ended:
    # pending, confirmed, retiered, reassigned, dismissed, archived, failed_open, certain.
    triage: Mapped[str | None] = mapped_column(String(20))
    desk_team_id: Mapped[str | None] = mapped_column(String(80))
    triage_deadline: Mapped[datetime | None]
    triaged_at: Mapped[datetime | None]
    triaged_by: Mapped[str | None] = mapped_column(String(80))
    # When the owning team received it; its deadlines count from here.
    routed_at: Mapped[datetime | None]
    # The matter's signals behind the tier (alerts/matter.py), each a readable reason.
    signals: Mapped[list[dict[str, str]] | None] = mapped_column(JSON, default=list)

    team: Mapped[Team] = relationship()
    posts: Mapped[list[AlertPost]] = relationship(back_populates="alert", cascade="all")


class AlertPost(Base):
    __tablename__ = "alert_posts"
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), primary_key=True)
    added_at: Mapped[datetime]
    alert: Mapped[Alert] = relationship(back_populates="posts")


class Response(Base):
    """What people did with an alert: acknowledge, reply, resolve, reopen, note, reassign."""

    __tablename__ = "responses"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(80))
    text: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str | None] = mapped_column(String(40))
    at: Mapped[datetime]


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    team_id: Mapped[str | None] = mapped_column(String(80))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]


class AuditLog(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(80))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class DeadLetterRow(Base):
    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    stage: Mapped[str] = mapped_column(String(40))
    source: Mapped[str | None] = mapped_column(String(80))
    url: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)


class IndexOutbox(Base):
    """Posts waiting to reach the search index; an unreachable index only delays them."""

    __tablename__ = "index_outbox"
    __table_args__ = (UniqueConstraint("post_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    op: Mapped[str] = mapped_column(String(10), default="upsert")
    enqueued_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)


def utcnow() -> datetime:
    return datetime.now(UTC)
