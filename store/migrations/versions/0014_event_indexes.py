"""store: indexes on posts.event_id and alerts.event_id (an event's posts and alerts:
the event page read every post at 1,000,000 posts without it)

Revision ID: 0014_event_indexes
Revises: 0013_schemes
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014_event_indexes"
down_revision: str | Sequence[str] | None = "0013_schemes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_posts_event_id", "posts", ["event_id"])
    op.create_index("ix_alerts_event_id", "alerts", ["event_id"])


def downgrade() -> None:
    op.drop_index("ix_alerts_event_id", table_name="alerts")
    op.drop_index("ix_posts_event_id", table_name="posts")
