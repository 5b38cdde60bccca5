"""analysis: monitoring schemes (监测方案) and the posts they matched

Revision ID: 0013_schemes
Revises: 0012_negativity
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_schemes"
down_revision: str | Sequence[str] | None = "0012_negativity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "schemes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
        sa.Column("owner", sa.String(80), nullable=False),
        sa.Column("team_id", sa.String(80), nullable=True),
        sa.Column("must", sa.JSON(), nullable=False),
        sa.Column("any_of", sa.JSON(), nullable=False),
        sa.Column("exclude", sa.JSON(), nullable=False),
        sa.Column("field", sa.String(8), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("areas", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("alert_severity", sa.Integer(), nullable=True),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("watermark", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_table(
        "scheme_hits",
        sa.Column(
            "scheme_id",
            sa.Integer(),
            sa.ForeignKey("schemes.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("post_id", sa.Integer(), sa.ForeignKey("posts.id"), primary_key=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("notified", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
    )
    op.create_index("ix_scheme_hits_scheme_at", "scheme_hits", ["scheme_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_scheme_hits_scheme_at", table_name="scheme_hits")
    op.drop_table("scheme_hits")
    op.drop_table("schemes")
