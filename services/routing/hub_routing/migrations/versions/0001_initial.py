"""routing: referrals, outbox, inbox

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
        "routing_referral",
        sa.Column("case_id", sa.Uuid(), primary_key=True),
        sa.Column("tracking_code", sa.String(16), nullable=False),
        sa.Column("unit_id", sa.String(200), nullable=False),
        sa.Column("rule", sa.String(100), nullable=False),
        sa.Column("working_days", sa.Integer(), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("routed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in ("routing_referral", "inbox", "outbox"):
        op.drop_table(table)
