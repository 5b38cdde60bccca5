"""crawler: post_raw (encrypted unmasked text); sketch_bands looked up by value

Revision ID: 0002_crawler_raw
Revises: 0002_crawler_sketches
Create Date: 2026-11-23 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import store.models

revision: str = "0002_crawler_raw"
down_revision: str | None = "0002_crawler_sketches"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "post_raw",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("updated_at", store.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["posts.id"], name=op.f("fk_post_raw_post_id_posts")),
        sa.PrimaryKeyConstraint("post_id", name=op.f("pk_post_raw")),
    )
    with op.batch_alter_table("sketch_bands", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sketch_bands_value"), ["value"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sketch_bands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sketch_bands_value"))
    op.drop_table("post_raw")
