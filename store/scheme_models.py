"""Monitoring schemes (监测方案): an analyst's saved watch, and the posts it matched.

A scheme's words and filters are its own columns; ``scheme_hits`` holds each match
once (the scheme's volume chart and its subscription read them), filled as posts
arrive by ``analysis.schemes.run``, which keeps each scheme's watermark (the last
post id it has looked at).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base


class Scheme(Base):
    __tablename__ = "schemes"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    owner: Mapped[str] = mapped_column(String(80))  # the analyst who saved it
    team_id: Mapped[str | None] = mapped_column(String(80))  # shared with this team
    must: Mapped[list[str]] = mapped_column(JSON, default=list)  # every one of these
    any_of: Mapped[list[str]] = mapped_column(JSON, default=list)  # at least one of these
    exclude: Mapped[list[str]] = mapped_column(JSON, default=list)  # none of these
    field: Mapped[str] = mapped_column(String(8), default="all")  # title, text or all
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: any
    areas: Mapped[list[str]] = mapped_column(JSON, default=list)  # and the places inside
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    # optional alert rule: a matching post raises an alert at this severity (1..4)
    alert_severity: Mapped[int | None] = mapped_column()
    # subscription: channels (alerts.yaml) told of new matches
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    watermark: Mapped[int] = mapped_column(BigInteger, default=0)  # last post id looked at
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)


class SchemeHit(Base):
    __tablename__ = "scheme_hits"
    __table_args__ = (Index("ix_scheme_hits_scheme_at", "scheme_id", "at"),)
    scheme_id: Mapped[int] = mapped_column(
        ForeignKey("schemes.id", ondelete="CASCADE"), primary_key=True
    )
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), primary_key=True)
    at: Mapped[datetime]  # when the post happened (published, else fetched)
    notified: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
