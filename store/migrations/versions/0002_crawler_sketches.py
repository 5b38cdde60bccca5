"""crawler: post_sketches and sketch_bands (near-duplicate linking)

Revision ID: 0002_crawler_sketches
Revises: 0002_crawler
Create Date: 2026-11-23 08:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_crawler_sketches"
down_revision: str | None = "0002_crawler"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "post_sketches",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("shingles", sa.Integer(), nullable=False),
        sa.Column("signature", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_post_sketches_event_id_events")
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_post_sketches_post_id_posts")
        ),
        sa.PrimaryKeyConstraint("post_id", name=op.f("pk_post_sketches")),
    )
    with op.batch_alter_table("post_sketches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_post_sketches_event_id"), ["event_id"], unique=False)
    op.create_table(
        "sketch_bands",
        sa.Column("band", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_sketch_bands_post_id_posts")
        ),
        sa.PrimaryKeyConstraint("band", "value", "post_id", name=op.f("pk_sketch_bands")),
    )


def downgrade() -> None:
    op.drop_table("sketch_bands")
    with op.batch_alter_table("post_sketches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_post_sketches_event_id"))
    op.drop_table("post_sketches")
