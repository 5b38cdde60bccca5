"""classifier: model registry, activation history, staff corrections

Revision ID: 0003_classifier
Revises: 0001
Create Date: 2026-11-23 08:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = "0003_classifier"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "classifier_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("created_at", store.models.UTCDateTime(), nullable=False),
        sa.Column("data_hash", sa.String(length=64), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classifier_models")),
        sa.UniqueConstraint("version", name=op.f("uq_classifier_models_version")),
    )
    op.create_table(
        "classifier_activations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("previous", sa.String(length=100), nullable=True),
        sa.Column("at", store.models.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classifier_activations")),
    )
    op.create_index("ix_classifier_activations_at", "classifier_activations", ["at"])
    op.create_table(
        "classifier_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("at", store.models.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("old_category", sa.String(length=80), nullable=True),
        sa.Column("new_category", sa.String(length=80), nullable=True),
        sa.Column("old_severity", sa.Integer(), nullable=True),
        sa.Column("new_severity", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"],
            ["posts.id"],
            name=op.f("fk_classifier_corrections_post_id_posts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classifier_corrections")),
    )
    op.create_index("ix_classifier_corrections_post_id", "classifier_corrections", ["post_id"])


def downgrade() -> None:
    op.drop_index("ix_classifier_corrections_post_id", table_name="classifier_corrections")
    op.drop_table("classifier_corrections")
    op.drop_index("ix_classifier_activations_at", table_name="classifier_activations")
    op.drop_table("classifier_activations")
    op.drop_table("classifier_models")
