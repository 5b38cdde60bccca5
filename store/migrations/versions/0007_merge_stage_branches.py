"""Merge the stages' migration branches into one head.

Revision ID: 0007_merge
Revises: 0002_crawler_raw, 0003_classifier, 0005_alerts, 0006_console
Create Date: 2026-11-23
"""

from collections.abc import Sequence

revision: str = "0007_merge"
down_revision: str | Sequence[str] | None = (
    "0002_crawler_raw",
    "0003_classifier",
    "0005_alerts",
    "0006_console",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
