"""index incidents by type, then id (a filtered list page newest first without sorting every match)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 12:50:00
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # `GET /api/incidents?type=...` is newest first (ORDER BY id DESC LIMIT n). With only the
    # (event_type, date_start) index, SQLite sorted every incident of that type for each page.
    op.create_index("ix_incidents_type_id", "incidents", ["event_type", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_incidents_type_id", table_name="incidents")
