"""classifier: the learned tier I-II probability and the desk's second-look mark on posts

Revision ID: 0010_review
Revises: 0008_crawl_stats
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_review"
down_revision: str | Sequence[str] | None = "0008_crawl_stats"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("severe_p", sa.Float(), nullable=True))
        # posts stored before read as "no second look asked"
        batch_op.add_column(
            sa.Column("review", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("review")
        batch_op.drop_column("severe_p")
