"""keyed audit chain, server-side web sessions, token expiry

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 01:45:00

The chain itself is re-chained under the audit key when the register is next opened
(:func:`kalkan.register.audit.seal_chain`): a migration has no key. Until then ``audit_head.scheme``
says ``sha256`` (the old, unkeyed chain).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kalkan.register.db import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_head") as batch:
        batch.add_column(sa.Column("scheme", sa.String(length=20), server_default="sha256", nullable=False))
        batch.add_column(sa.Column("key_id", sa.String(length=16), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("token_expires_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("seal", sa.String(length=64), nullable=True))
    for table in ("shares", "attachments"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("seal", sa.String(length=64), nullable=True))
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("seal", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("id_hash"),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_web_sessions_user_id", table_name="web_sessions")
    op.drop_table("web_sessions")
    for table in ("shares", "attachments"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("seal")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("seal")
        batch.drop_column("token_expires_at")
    with op.batch_alter_table("audit_head") as batch:
        batch.drop_column("key_id")
        batch.drop_column("scheme")
