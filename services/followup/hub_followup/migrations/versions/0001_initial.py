"""followup: timers, outbox, inbox

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
        "followup_timer",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("tracking_code", sa.String(16), nullable=False),
        sa.Column("unit_id", sa.String(200), nullable=False),
        sa.Column("step", sa.String(32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("case_id", "step", name="uq_timer_case_step"),
    )


def downgrade() -> None:
    for table in ("followup_timer", "inbox", "outbox"):
        op.drop_table(table)
