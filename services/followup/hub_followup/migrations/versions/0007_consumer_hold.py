"""followup: the cases each consumer group holds back behind a dead-lettered event

Revision ID: 0007
"""

from alembic import op

from hub_shared.migrations import create_consumer_hold_table

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    create_consumer_hold_table()


def downgrade() -> None:
    op.drop_table("consumer_hold")
