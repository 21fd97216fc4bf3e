"""reporting: case status and history read models, outbox, inbox

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

from hub_shared.migrations import create_messaging_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_messaging_tables()
    op.create_table(
        "reporting_case_status",
        sa.Column("tracking_code", sa.String(16), primary_key=True),
        sa.Column("case_id", sa.Uuid(), nullable=False, unique=True),
        sa.Column("case_number", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("unit_id", sa.String(200), nullable=True),
        sa.Column("unit_name", sa.Text(), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "reporting_case_history",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("case_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("event_type", sa.String(128), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note_fa", sa.Text(), nullable=False),
        sa.Column("note_en", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    for table in ("reporting_case_history", "reporting_case_status", "inbox", "outbox"):
        op.drop_table(table)
