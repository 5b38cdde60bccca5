"""analysis: events formed on text (profile, merged_into, event_terms) and staff's pins

Revision ID: 0011_events
Revises: 0010_review
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_events"
down_revision: str | Sequence[str] | None = "0010_review"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("profile", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("merged_into", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_events_merged_into_events"), "events", ["merged_into"], ["id"]
        )
    op.create_table(
        "event_terms",
        sa.Column("term", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_event_terms_event_id_events")
        ),
        sa.PrimaryKeyConstraint("term", "event_id", name=op.f("pk_event_terms")),
    )
    with op.batch_alter_table("event_terms", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_terms_event_id"), ["event_id"], unique=False)
    op.create_table(
        "event_pins",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_event_pins_event_id_events")
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_event_pins_post_id_posts")
        ),
        sa.PrimaryKeyConstraint("post_id", name=op.f("pk_event_pins")),
    )
    with op.batch_alter_table("event_pins", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_event_pins_event_id"), ["event_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("event_pins", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_pins_event_id"))
    op.drop_table("event_pins")
    with op.batch_alter_table("event_terms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_event_terms_event_id"))
    op.drop_table("event_terms")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_events_merged_into_events"), type_="foreignkey")
        batch_op.drop_column("merged_into")
        batch_op.drop_column("profile")
