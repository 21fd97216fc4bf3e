"""followup: the inbox filters by case number, channel and topic

Revision ID: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    with op.batch_alter_table("followup_case") as table:
        table.add_column(sa.Column("case_number", sa.String(32), nullable=True))
        table.add_column(sa.Column("channel", sa.String(32), nullable=True))
        table.add_column(sa.Column("topic_id", sa.String(64), nullable=True))
        table.create_index("ix_followup_case_case_number", ["case_number"])


def downgrade() -> None:
    with op.batch_alter_table("followup_case") as table:
        table.drop_index("ix_followup_case_case_number")
        table.drop_column("topic_id")
        table.drop_column("channel")
        table.drop_column("case_number")
