"""the mission's records beyond incidents: sites and their population figures, return-monitoring
visits, joint patrols and co-location, detention visits, dispute cases and their steps, and links
from these records to incidents (issue 18)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 04:08:59.382212
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kalkan.register.db import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mission_detention_visits",
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("facility", sa.String(length=200), nullable=False),
        sa.Column("facility_kind", sa.String(length=30), nullable=False),
        sa.Column("latitude", sa.Double(), nullable=False),
        sa.Column("longitude", sa.Double(), nullable=False),
        sa.Column("detainees", sa.JSON(), nullable=False),
        sa.Column("interviewed", sa.Integer(), nullable=True),
        sa.Column("allegations", sa.Integer(), nullable=False),
        sa.Column("access_refused", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("personal_sealed", sa.Text(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id"),
    )
    with op.batch_alter_table("mission_detention_visits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mission_detention_visits_reporter_id"), ["reporter_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_mission_detention_visits_visited_on"), ["visited_on"], unique=False
        )

    op.create_table(
        "mission_disputes",
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("latitude", sa.Double(), nullable=False),
        sa.Column("longitude", sa.Double(), nullable=False),
        sa.Column("place_name", sa.String(length=200), nullable=True),
        sa.Column("admin1", sa.String(length=200), nullable=True),
        sa.Column("admin2", sa.String(length=200), nullable=True),
        sa.Column("parties", sa.JSON(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("mediator", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("personal_sealed", sa.Text(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id"),
    )
    with op.batch_alter_table("mission_disputes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mission_disputes_reporter_id"), ["reporter_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_mission_disputes_status"), ["status"], unique=False)

    op.create_table(
        "mission_patrols",
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("latitude", sa.Double(), nullable=False),
        sa.Column("longitude", sa.Double(), nullable=False),
        sa.Column("radius_km", sa.Double(), nullable=False),
        sa.Column("place_name", sa.String(length=200), nullable=True),
        sa.Column("mission_unit", sa.String(length=200), nullable=False),
        sa.Column("partner_unit", sa.String(length=200), nullable=False),
        sa.Column("mission_staff", sa.Integer(), nullable=True),
        sa.Column("partner_staff", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id"),
    )
    with op.batch_alter_table("mission_patrols", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mission_patrols_reporter_id"), ["reporter_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_mission_patrols_started_at"), ["started_at"], unique=False)

    op.create_table(
        "mission_sites",
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("latitude", sa.Double(), nullable=True),
        sa.Column("longitude", sa.Double(), nullable=True),
        sa.Column("country_iso3", sa.String(length=3), nullable=True),
        sa.Column("admin1", sa.String(length=200), nullable=True),
        sa.Column("admin2", sa.String(length=200), nullable=True),
        sa.Column("from_units", sa.String(length=1000), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id"),
    )
    with op.batch_alter_table("mission_sites", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mission_sites_reporter_id"), ["reporter_id"], unique=False)

    op.create_table(
        "mission_dispute_steps",
        sa.Column("dispute_id", sa.Integer(), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=False),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("mediator", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["dispute_id"],
            ["mission_disputes.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id"),
    )
    with op.batch_alter_table("mission_dispute_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mission_dispute_steps_dispute_id"), ["dispute_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_mission_dispute_steps_reporter_id"), ["reporter_id"], unique=False
        )

    op.create_table(
        "mission_record_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_kind", sa.String(length=30), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("record_kind", "record_id", "incident_id", name="uq_mission_record_links"),
    )
    with op.batch_alter_table("mission_record_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mission_record_links_incident_id"), ["incident_id"], unique=False
        )
        batch_op.create_index("ix_mission_record_links_record", ["record_kind", "record_id"], unique=False)

    op.create_table(
        "mission_return_visits",
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("latitude", sa.Double(), nullable=False),
        sa.Column("longitude", sa.Double(), nullable=False),
        sa.Column("place_name", sa.String(length=200), nullable=True),
        sa.Column("households_back", sa.Integer(), nullable=True),
        sa.Column("homes_destroyed", sa.Integer(), nullable=True),
        sa.Column("homes_occupied", sa.Integer(), nullable=True),
        sa.Column("concerns", sa.Text(), nullable=False),
        sa.Column("personal_sealed", sa.Text(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["mission_sites.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id"),
    )
    with op.batch_alter_table("mission_return_visits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mission_return_visits_reporter_id"), ["reporter_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_mission_return_visits_site_id"), ["site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_mission_return_visits_visited_on"), ["visited_on"], unique=False)

    op.create_table(
        "mission_site_figures",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("group", sa.String(length=200), nullable=False),
        sa.Column("persons", sa.Integer(), nullable=False),
        sa.Column("households", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("source_url", sa.String(length=500), nullable=True),
        sa.Column("source_id", sa.String(length=100), nullable=True),
        sa.Column("known_on", sa.Date(), nullable=True),
        sa.Column("estimate", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=36), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["mission_sites.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id"),
    )
    with op.batch_alter_table("mission_site_figures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mission_site_figures_reporter_id"), ["reporter_id"], unique=False
        )
        batch_op.create_index("ix_mission_site_figures_site_date", ["site_id", "as_of"], unique=False)
        batch_op.create_index(batch_op.f("ix_mission_site_figures_site_id"), ["site_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("mission_site_figures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mission_site_figures_site_id"))
        batch_op.drop_index("ix_mission_site_figures_site_date")
        batch_op.drop_index(batch_op.f("ix_mission_site_figures_reporter_id"))

    op.drop_table("mission_site_figures")
    with op.batch_alter_table("mission_return_visits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mission_return_visits_visited_on"))
        batch_op.drop_index(batch_op.f("ix_mission_return_visits_site_id"))
        batch_op.drop_index(batch_op.f("ix_mission_return_visits_reporter_id"))

    op.drop_table("mission_return_visits")
    with op.batch_alter_table("mission_record_links", schema=None) as batch_op:
        batch_op.drop_index("ix_mission_record_links_record")
        batch_op.drop_index(batch_op.f("ix_mission_record_links_incident_id"))

    op.drop_table("mission_record_links")
    with op.batch_alter_table("mission_dispute_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mission_dispute_steps_reporter_id"))
        batch_op.drop_index(batch_op.f("ix_mission_dispute_steps_dispute_id"))

    op.drop_table("mission_dispute_steps")
    with op.batch_alter_table("mission_sites", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mission_sites_reporter_id"))

    op.drop_table("mission_sites")
    with op.batch_alter_table("mission_patrols", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mission_patrols_started_at"))
        batch_op.drop_index(batch_op.f("ix_mission_patrols_reporter_id"))

    op.drop_table("mission_patrols")
    with op.batch_alter_table("mission_disputes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mission_disputes_status"))
        batch_op.drop_index(batch_op.f("ix_mission_disputes_reporter_id"))

    op.drop_table("mission_disputes")
    with op.batch_alter_table("mission_detention_visits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mission_detention_visits_visited_on"))
        batch_op.drop_index(batch_op.f("ix_mission_detention_visits_reporter_id"))

    op.drop_table("mission_detention_visits")
