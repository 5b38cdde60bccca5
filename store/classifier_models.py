"""The classifier's tables: the model registry, its activation history, staff corrections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base


class ClassifierModelRow(Base):
    """One trained model version (its files live in ``model_dir/<version>/``)."""

    __tablename__ = "classifier_models"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime]
    data_hash: Mapped[str] = mapped_column(String(64))
    metrics: Mapped[dict[str, Any]]
    params: Mapped[dict[str, Any]]
    path: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(Text, default="")


class ClassifierActivation(Base):
    """Every change of the active version, newest last: what rollback walks back."""

    __tablename__ = "classifier_activations"
    __table_args__ = (Index("ix_classifier_activations_at", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(100))
    previous: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(20))


class ClassifierCorrection(Base):
    """A staff member's correction of a post's category or tier; used by retraining."""

    __tablename__ = "classifier_corrections"
    __table_args__ = (Index("ix_classifier_corrections_post_id", "post_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id"))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(80))
    old_category: Mapped[str | None] = mapped_column(String(80))
    new_category: Mapped[str | None] = mapped_column(String(80))
    old_severity: Mapped[int | None]
    new_severity: Mapped[int | None]
    note: Mapped[str] = mapped_column(Text, default="")
