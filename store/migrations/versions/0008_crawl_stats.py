"""crawler: truthful crawl statistics (updated, collided, unparsed, mojibake, repaired)

Revision ID: 0008_crawl_stats
Revises: 0009_triage
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_crawl_stats"
down_revision: str | Sequence[str] | None = "0009_triage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("updated", "collided", "unparsed", "mojibake", "repaired")


def upgrade() -> None:
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        for name in _COLUMNS:
            # server default: rows of earlier crawls read 0, as they counted none
            batch_op.add_column(
                sa.Column(name, sa.Integer(), nullable=False, server_default=sa.text("0"))
            )


def downgrade() -> None:
    with op.batch_alter_table("crawl_runs", schema=None) as batch_op:
        for name in reversed(_COLUMNS):
            batch_op.drop_column(name)
