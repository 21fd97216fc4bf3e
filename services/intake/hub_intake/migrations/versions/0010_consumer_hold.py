"""intake: the cases each consumer group holds back behind a dead-lettered event

Revision ID: 0010
"""

from alembic import op

from hub_shared.migrations import create_consumer_hold_table

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    create_consumer_hold_table()


def downgrade() -> None:
    op.drop_table("consumer_hold")
