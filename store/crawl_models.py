"""The crawler's tables: one row per crawl run with its statistics.

A source's incremental state (feed validators, an unfinished crawl, health)
lives in ``sources.state`` (JSON), so it survives restarts without a table of
its own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base


class CrawlRun(Base):
    """What one crawl of one source did (``yuqing crawl`` prints it at the end)."""

    __tablename__ = "crawl_runs"
    __table_args__ = (Index("ix_crawl_runs_source_started", "source", "started_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    ok: Mapped[bool] = mapped_column(Boolean, default=True)
    pages: Mapped[int] = mapped_column(default=0)  # responses parsed
    items: Mapped[int] = mapped_column(default=0)  # posts the sink accepted
    new: Mapped[int] = mapped_column(default=0)  # ... stored new
    updated: Mapped[int] = mapped_column(default=0)  # ... already stored, changed
    duplicate: Mapped[int] = mapped_column(default=0)  # ... already stored unchanged
    # posts whose key another post of the same crawl had (each kept under its own)
    collided: Mapped[int] = mapped_column(default=0)
    not_modified: Mapped[int] = mapped_column(default=0)  # 304 answers to conditional requests
    dead_letters: Mapped[int] = mapped_column(default=0)
    unparsed: Mapped[int] = mapped_column(default=0)  # dead letters of pages/items not understood
    mojibake: Mapped[int] = mapped_column(default=0)  # dead letters of mis-decoded text
    repaired: Mapped[int] = mapped_column(default=0)  # posts whose mis-decoded text was undone
    errors: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)  # why the crawl itself failed


class PostSketch(Base):
    """A post's MinHash signature (near-duplicate linking, see store.posts)."""

    __tablename__ = "post_sketches"
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), index=True)
    # near-duplicates link only within one named place (an area the text names
    # below the county): templated complaints about two villages are two matters
    scope: Mapped[str] = mapped_column(String(80))
    shingles: Mapped[int] = mapped_column(default=0)  # size of the shingle set
    signature: Mapped[list[int]] = mapped_column(JSON, default=list)


class SketchBand(Base):
    """LSH bands of the signatures: posts sharing a band are near-duplicate candidates."""

    __tablename__ = "sketch_bands"
    band: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), primary_key=True)


class PostRaw(Base):
    """A post's unmasked text and author, Fernet-encrypted (yuqing.privacy): readable
    only with the deployment's key, by the roles the console allows."""

    __tablename__ = "post_raw"
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"), primary_key=True)
    ciphertext: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
