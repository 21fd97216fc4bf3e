"""routing: the cases each consumer group holds back behind a dead-lettered event

Revision ID: 0005
"""

from alembic import op

from hub_shared.migrations import create_consumer_hold_table

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    create_consumer_hold_table()


def downgrade() -> None:
    op.drop_table("consumer_hold")
