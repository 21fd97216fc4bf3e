"""intake: cases, complainants, outbox, inbox

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
        "intake_case",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Uuid(), nullable=False, unique=True),
        sa.Column("case_number", sa.String(32), nullable=False, index=True),
        sa.Column("tracking_code", sa.String(16), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("subject_text", sa.String(300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("province", sa.String(64), nullable=False),
        sa.Column("county", sa.String(64), nullable=True),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "intake_complainant",
        sa.Column("case_id", sa.Uuid(), primary_key=True),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("national_id", sa.String(10), nullable=False),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("citizen_ref", sa.String(64), nullable=False, index=True),
    )


def downgrade() -> None:
    for table in ("intake_complainant", "intake_case", "inbox", "outbox"):
        op.drop_table(table)
