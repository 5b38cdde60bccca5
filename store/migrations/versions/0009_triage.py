"""alerts: duty-desk triage (研判), routing time and the matter's signals

Revision ID: 0009_triage
Revises: 0007_merge
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = "0009_triage"
down_revision: str | Sequence[str] | None = "0007_merge"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("triage", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("desk_team_id", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("triage_deadline", store.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("triaged_at", store.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("triaged_by", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("routed_at", store.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("signals", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        for name in (
            "signals",
            "routed_at",
            "triaged_by",
            "triaged_at",
            "triage_deadline",
            "desk_team_id",
            "triage",
        ):
            batch_op.drop_column(name)
