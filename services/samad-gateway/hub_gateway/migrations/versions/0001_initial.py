"""gateway: external cases, outbox, inbox

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
        "gateway_external_case",
        sa.Column("case_id", sa.Uuid(), primary_key=True),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.Column("tracking_code", sa.String(16), nullable=False),
        sa.Column("last_status", sa.String(32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in ("gateway_external_case", "inbox", "outbox"):
        op.drop_table(table)
