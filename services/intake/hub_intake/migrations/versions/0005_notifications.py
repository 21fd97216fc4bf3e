"""intake: the durable queue of SMS and e-mail messages to citizens (what to say, never whom to)

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"

TABLE = "intake_notification"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.Uuid(), nullable=False, index=True),
        sa.Column("template", sa.String(32), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("case_id", "template", "event_id", "channel", name="uq_intake_notification_fact"),
    )
    op.create_index("ix_intake_notification_due", TABLE, ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_intake_notification_due", table_name=TABLE)
    op.drop_table(TABLE)
